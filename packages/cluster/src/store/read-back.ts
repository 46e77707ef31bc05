/** The old bytes of the pages a small transaction overwrites, read synchronously before it is written. */
import { readSync } from "node:fs";
import { ClusterError } from "../errors.js";
import type { CommitPage } from "./commit-pages.js";

/**
 * Reads the current bytes of every page of `pages` (ascending) numbered up to
 * `upTo` from `fd` and hands each to `old`, one pread per run of consecutive pages.
 * The bytes passed to `old` are only valid during the call.
 */
export function readBackSync(fd: number, file: string, pages: readonly CommitPage[], upTo: number, pageSize: number, old: (pgno: number, data: Uint8Array) => void): void {
  let scratch: Uint8Array | undefined;
  for (let i = 0; i < pages.length; ) {
    const first = pages[i]!.pgno;
    if (first > upTo) break;
    let count = 1;
    while (i + count < pages.length && pages[i + count]!.pgno === first + count && first + count <= upTo) count++;
    const length = count * pageSize;
    if (scratch === undefined || scratch.length < length) scratch = new Uint8Array(Math.max(length, pageSize * 4));
    const position = (first - 1) * pageSize;
    for (let done = 0; done < length; ) {
      let n: number;
      try {
        n = readSync(fd, scratch, done, length - done, position + done);
      } catch (err) {
        throw new ClusterError("io", `cannot read ${file} at offset ${position + done}: ${(err as Error).message}`, { cause: err, file, offset: position + done });
      }
      if (n === 0)
        throw new ClusterError("io", `${file} ends at offset ${position + done}, before page ${first + Math.floor(done / pageSize)} it holds`, { file, offset: position + done });
      done += n;
    }
    for (let k = 0; k < count; k++) old(first + k, scratch.subarray(k * pageSize, (k + 1) * pageSize));
    i += count;
  }
}
