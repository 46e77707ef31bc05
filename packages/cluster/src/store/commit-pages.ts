/**
 * The pages of one transaction as the engine takes them: from a mount (page numbers and
 * one buffer) or from an embedding app (a list of pages), checked once and turned into
 * views of the caller's bytes, with their checksums.
 */
import { lockPgno, pageChecksum } from "@sqlrep/ltx";
import { ClusterError } from "../errors.js";
import type { PageSum } from "./checksum-table.js";

/** A page to commit: its number (1-based) and its bytes (one page). */
export interface CommitPage {
  readonly pgno: number;
  readonly data: Uint8Array;
}

/** Pages as a mount hands them over: ascending numbers and their bytes in one buffer (`pgnos.length × pageSize`). */
export interface PageBuffer {
  readonly pgnos: Uint32Array | readonly number[];
  readonly data: Uint8Array;
}

/** What `commit` accepts. */
export type CommitPages = PageBuffer | Iterable<CommitPage>;

/** Checked pages with their checksums. */
export interface CheckedPages {
  readonly pageSize: number;
  readonly pages: CommitPage[];
  readonly sums: PageSum[];
}

/**
 * Checks pages against the page size and the new size: numbers strictly ascending, each
 * in 1…commit, never the lock page (it is skipped: SQLite never writes it), each
 * `pageSize` bytes, and every page past `oldCommit` present (a grown database's new
 * pages must be known; `oldCommit` 0 makes the transaction a snapshot).
 */
export function checkPages(name: string, input: CommitPages, pageSize: number | undefined, commit: number, oldCommit: number): CheckedPages {
  const bad = (why: string) => new ClusterError("invalid-argument", `commit to ${name}: ${why}`, { db: name });
  if (!Number.isSafeInteger(commit) || commit < 0) throw bad(`invalid database size ${commit} pages`);
  const pages: CommitPage[] = [];
  if ("pgnos" in input && "data" in input && !(Symbol.iterator in input)) {
    const n = input.pgnos.length;
    const size = pageSize ?? (n > 0 ? input.data.length / n : 0);
    if (n > 0 && (!Number.isInteger(size) || input.data.length !== n * size))
      throw bad(`${input.data.length} bytes of data for ${n} pages${pageSize === undefined ? "" : ` of ${pageSize} bytes`}`);
    for (let i = 0; i < n; i++) pages.push({ pgno: input.pgnos[i]!, data: input.data.subarray(i * size, (i + 1) * size) });
  } else {
    for (const page of input as Iterable<CommitPage>) pages.push(page);
  }
  const size = pageSize ?? pages[0]?.data.length;
  if (size === undefined) {
    if (commit === 0) return { pageSize: pageSize ?? 4096, pages: [], sums: [] };
    throw bad("no pages and no page size");
  }
  if (size < 512 || size > 65536 || (size & (size - 1)) !== 0) throw bad(`page size ${size} is not a power of two in 512…65536`);
  const lock = lockPgno(size);
  const kept: CommitPage[] = [];
  const sums: PageSum[] = [];
  let prev = 0;
  for (const page of pages) {
    if (!Number.isSafeInteger(page.pgno) || page.pgno <= prev) throw bad(`page ${page.pgno} after page ${prev}: page numbers must ascend`);
    if (page.pgno > commit) throw bad(`page ${page.pgno} is past the database size (${commit} pages)`);
    if (page.data.length !== size) throw bad(`page ${page.pgno} has ${page.data.length} bytes, the page size is ${size}`);
    prev = page.pgno;
    if (page.pgno === lock) continue;
    kept.push(page);
    sums.push({ pgno: page.pgno, sum: pageChecksum(page.pgno, page.data) });
  }
  // Every page the transaction adds must be in it: its checksum cannot be known otherwise.
  let next = oldCommit + 1;
  if (next === lock) next++;
  for (const page of kept) {
    if (page.pgno < next) continue;
    if (page.pgno !== next) break;
    next++;
    if (next === lock) next++;
  }
  if (next <= commit) {
    throw bad(
      oldCommit === 0
        ? `the first transaction must carry every page 1…${commit} (page ${next} is missing)`
        : `the database grows from ${oldCommit} to ${commit} pages but page ${next} is missing`,
    );
  }
  return { pageSize: size, pages: kept, sums };
}
