/**
 * A transaction's pages written into the database file in place with the page writer:
 * the old bytes of the pages it overwrites go to the database first (open views keep
 * them, each is checked against its checksum), then the pages, then the new size.
 */
import type { PageFile } from "@sqlrep/page-file";
import type { CommitPage } from "./commit-pages.js";
import { readBackSync } from "./read-back.js";

/** Transactions up to this size have the old bytes of their pages read on the main thread. */
const SYNC_READ_BACK_MAX = 256 * 1024;

/** What the database does around a write: keep an overwritten page's old bytes, keep the pages a shrink cuts off. */
export interface InPlaceHooks {
  replacing(pgno: number, data: Uint8Array): void;
  cut(): void;
}

/** Writes `pages` and the size `commit` (was `oldCommit`) into `file` through `writer`. */
export async function writeInPlace(
  writer: PageFile,
  file: string,
  pages: readonly CommitPage[],
  commit: number,
  oldCommit: number,
  pageSize: number,
  how: "direct" | "apply" | "redo",
  hooks: InPlaceHooks,
): Promise<void> {
  // The old bytes of every page overwritten: open views keep them, and each is checked
  // against its checksum (a corrupt file is noticed at the first write over it).
  // (Not while redoing after a crash: a page may already hold the redone transaction's bytes.)
  if (how !== "redo" && pages.length * pageSize <= SYNC_READ_BACK_MAX) {
    // A few pages: their old bytes are read here, synchronously (page cache,
    // microseconds), not by the writer on the thread pool, where each commit's and
    // apply's read waited behind whatever else the pool had (fsyncs, the stream).
    await writer.flush(); // settles the writer's earlier write, so the reads see it
    readBackSync(writer.fd, file, pages, oldCommit, pageSize, hooks.replacing);
    writer.replace(undefined);
  } else {
    writer.replace(how === "redo" ? undefined : { upTo: oldCommit, old: hooks.replacing });
  }
  for (const page of pages) await writer.write(page.pgno, page.data);
  await writer.flush();
  if (commit !== oldCommit) {
    hooks.cut();
    await writer.truncate(commit);
  }
}
