/** The pages of a transaction in one buffer, the form a mount's `apply` hook takes. */
import type { CommitPage } from "./commit-pages.js";

/** Pages in one buffer, as a mount's `apply` takes them. */
export function toApplyTransaction(pages: readonly CommitPage[], commit: number, pageSize: number) {
  const pgnos = new Uint32Array(pages.length);
  const data = new Uint8Array(pages.length * pageSize);
  pages.forEach((p, i) => {
    pgnos[i] = p.pgno;
    data.set(p.data, i * pageSize);
  });
  return { pageSize, commit, pgnos, data };
}
