/**
 * Hashing a whole database: the slow path of a boot whose checksum table does not add
 * up, and the background verification that compares the file with the table, page by
 * page, from a consistent view.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { formatChecksum, formatTxid, lockPgno, pageChecksum } from "@sqlrep/ltx";
import { ClusterError } from "../errors.js";
import type { PageView } from "./page-view.js";

/** Pages read per call. */
const CHUNK_PAGES = 256;

/** The checksum of every page 1…commit of a file (0n for the lock page; pages past the end of the file hash as zeros). */
export function hashFile(path: string, pageSize: number, commit: number): BigUint64Array {
  const sums = new BigUint64Array(commit);
  const lock = lockPgno(pageSize);
  const buf = new Uint8Array(CHUNK_PAGES * pageSize);
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    throw new ClusterError("io", `cannot open ${path}: ${(err as Error).message}`, { cause: err, file: path });
  }
  try {
    for (let first = 1; first <= commit; first += CHUNK_PAGES) {
      const count = Math.min(CHUNK_PAGES, commit - first + 1);
      const length = count * pageSize;
      let done = 0;
      while (done < length) {
        const n = readSync(fd, buf, done, length - done, (first - 1) * pageSize + done);
        if (n === 0) break;
        done += n;
      }
      buf.fill(0, done, length);
      for (let i = 0; i < count; i++) {
        const pgno = first + i;
        sums[pgno - 1] = pgno === lock ? 0n : pageChecksum(pgno, buf.subarray(i * pageSize, (i + 1) * pageSize));
      }
    }
  } finally {
    closeSync(fd);
  }
  return sums;
}

/** What a verification found. */
export interface VerifyResult {
  readonly txid: number;
  readonly pages: number;
  /** The checksum the pages add up to. */
  readonly actual: bigint;
  /** The position's checksum. */
  readonly expected: bigint;
  /** Up to 10 pages whose checksum differs from the table's. */
  readonly badPages: readonly number[];
}

/**
 * Reads every page of `view`, compares each with `expected(pgno)` (the table's entry at
 * the view's position) and the total with the view's checksum. Yields to the event loop
 * between chunks so commits go on; `signal` stops it.
 */
export async function verifyView(view: PageView, expected: (pgno: number) => bigint, signal?: AbortSignal): Promise<VerifyResult> {
  const { pageSize, commit } = view;
  const lock = lockPgno(pageSize);
  const buf = new Uint8Array(CHUNK_PAGES * pageSize);
  let xor = 0n;
  const badPages: number[] = [];
  for (let first = 1; first <= commit; first += CHUNK_PAGES) {
    if (signal?.aborted) throw new ClusterError("aborted", `verification of TXID ${formatTxid(view.txid)} aborted`, { cause: signal.reason });
    const count = Math.min(CHUNK_PAGES, commit - first + 1);
    view.read(first, count, buf);
    for (let i = 0; i < count; i++) {
      const pgno = first + i;
      if (pgno === lock) continue;
      const sum = pageChecksum(pgno, buf.subarray(i * pageSize, (i + 1) * pageSize));
      xor ^= sum;
      if (badPages.length < 10 && sum !== expected(pgno)) badPages.push(pgno);
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const flag = 1n << 63n;
  const actual = commit === 0 ? flag : flag | (xor & ~flag);
  return { txid: view.txid, pages: commit, actual, expected: commit === 0 ? flag : view.checksum, badPages };
}

/** The refusal for a database whose file does not add up to its position. */
export function verifyFailure(db: string, file: string, result: VerifyResult): ClusterError {
  const pages = result.badPages.length === 0 ? "" : `; pages that differ from their recorded checksums: ${result.badPages.join(", ")}${result.badPages.length === 10 ? ", …" : ""}`;
  return new ClusterError(
    "verify-failed",
    `database ${db} is refused: its file ${file} adds up to checksum ${formatChecksum(result.actual)} but its position TXID ${formatTxid(result.txid)} says ${formatChecksum(result.expected)}${pages}. A replica takes a snapshot from the primary; on a primary, restore the database (litefs import) or let another node take over`,
    { db, file },
  );
}
