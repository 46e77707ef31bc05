// Test double support: per-page checksums of one database kept in memory, so a
// transaction's pre- and post-apply database checksums cost only its own pages.
import { closeSync, openSync, readSync } from "node:fs";
import { DatabaseChecksum, EMPTY_DATABASE_CHECKSUM, lockPgno, pageChecksum } from "@sqlrep/ltx";

/** The page checksums of a database and their XOR (the LTX database checksum). */
export class PageSums {
  private sums: bigint[] = [];
  private total = new DatabaseChecksum();
  /** What the last update changed: [pgno, old checksum] pairs, then the old size. */
  private undo: { pages: [number, bigint | undefined][]; count: number; pageSize: number; total: bigint } | undefined;
  pageSize = 0;
  /** Pages in the database (its commit size). */
  pages = 0;

  /** Checksums every page of the file at `path` (a missing or empty file is empty). */
  static fromFile(path: string): PageSums {
    const out = new PageSums();
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch {
      return out;
    }
    try {
      const header = new Uint8Array(100);
      if (readSync(fd, header, 0, 100, 0) < 100) return out;
      const raw = (header[16]! << 8) | header[17]!;
      const pageSize = raw === 1 ? 65536 : raw;
      const inHeader = new DataView(header.buffer).getUint32(28);
      const page = new Uint8Array(pageSize);
      const pages: { pgno: number; data: Uint8Array }[] = [];
      for (let pgno = 1; ; pgno++) {
        if (readSync(fd, page, 0, pageSize, (pgno - 1) * pageSize) < pageSize) break;
        if (inHeader && pgno > inHeader) break;
        pages.push({ pgno, data: page.slice() });
      }
      out.update(pageSize, pages.length, pages);
      return out;
    } finally {
      closeSync(fd);
    }
  }

  /** The database checksum now. */
  get checksum(): bigint {
    return this.pages === 0 ? EMPTY_DATABASE_CHECKSUM : this.total.value;
  }

  /** The checksum of page `pgno` now (undefined when it is not in the database). */
  page(pgno: number): bigint | undefined {
    return pgno <= this.pages ? this.sums[pgno] : undefined;
  }

  /**
   * Applies a transaction (pages sorted, lock page absent) and returns the database
   * checksum after it. Pages of a grown database that the transaction does not carry
   * count as zero-filled, as SQLite leaves them.
   */
  update(pageSize: number, commit: number, pages: Iterable<{ pgno: number; data: Uint8Array }>): bigint {
    const undo: NonNullable<PageSums["undo"]> = { pages: [], count: this.pages, pageSize: this.pageSize, total: this.total.value };
    this.undo = undo;
    const track = (pgno: number) => undo.pages.push([pgno, this.sums[pgno]]);
    for (let pgno = commit + 1; pgno <= this.pages; pgno++) track(pgno);
    for (const { pgno } of pages) track(pgno);
    if (commit > this.pages) for (let pgno = this.pages + 1; pgno <= commit; pgno++) track(pgno);
    if (this.pageSize !== pageSize && this.pages > 0) {
      for (let pgno = 1; pgno <= this.pages; pgno++) track(pgno);
      this.truncate(0);
    }
    this.pageSize = pageSize;
    const lock = lockPgno(pageSize);
    this.truncate(Math.min(this.pages, commit));
    for (const { pgno, data } of pages) {
      if (pgno > commit || pgno === lock) continue;
      if (pgno > this.pages) this.extend(pgno, lock);
      this.total.replace(this.sums[pgno]!, (this.sums[pgno] = pageChecksum(pgno, data)));
    }
    this.extend(commit, lock);
    return this.checksum;
  }

  /** Undoes the last `update` (its transaction was not committed after all). */
  revert(): void {
    const undo = this.undo;
    if (!undo) return;
    this.undo = undefined;
    for (let i = undo.pages.length - 1; i >= 0; i--) {
      const [pgno, sum] = undo.pages[i]!;
      if (sum === undefined) delete this.sums[pgno];
      else this.sums[pgno] = sum;
    }
    this.sums.length = Math.max(Math.min(this.sums.length, undo.count + 1), 0);
    this.pages = undo.count;
    this.pageSize = undo.pageSize;
    this.total = new DatabaseChecksum(undo.total);
  }

  /** Adds zero-filled pages up to `upTo` (a file extended past its written pages). */
  private extend(upTo: number, lock: number): void {
    if (upTo <= this.pages) return;
    const zero = new Uint8Array(this.pageSize);
    for (let pgno = this.pages + 1; pgno <= upTo; pgno++) {
      const sum = pgno === lock ? 0n : pageChecksum(pgno, zero);
      this.sums[pgno] = sum;
      this.total.add(sum);
    }
    this.pages = upTo;
  }

  private truncate(commit: number): void {
    for (let pgno = commit + 1; pgno <= this.pages; pgno++) this.total.remove(this.sums[pgno] ?? 0n);
    this.sums.length = Math.min(this.sums.length, commit + 1);
    this.pages = commit;
  }
}
