/** Per-page checksums of one database state, so the next state's LTX database checksum costs only the pages that changed. */
import { DatabaseChecksum, EMPTY_DATABASE_CHECKSUM, lockPgno } from "@sqlrep/ltx";

/**
 * The page checksum of every page of one database state (pages 1…commit), kept so that
 * the database checksum of the next state costs only the pages that change: replacing
 * a page XORs out its old checksum and XORs in the new one, and a shrink removes the
 * dropped pages' checksums without reading them. 8 bytes per page (a `BigUint64Array`
 * grown by half again when full): 2 MiB for a 1 GiB database of 4 KiB pages.
 */
export class PageChecksums {
  readonly pageSize: number;
  private readonly lock: number;
  private sums: BigUint64Array;
  private pages = 0;
  private sum = new DatabaseChecksum();

  constructor(pageSize: number, capacity = 0) {
    this.pageSize = pageSize;
    this.lock = lockPgno(pageSize);
    this.sums = new BigUint64Array(Math.max(16, capacity));
  }

  /** Database size in pages. */
  get commit(): number {
    return this.pages;
  }

  /** The database checksum of the state (flagged, as stored in LTX files). */
  get checksum(): bigint {
    return this.pages === 0 ? EMPTY_DATABASE_CHECKSUM : this.sum.value;
  }

  /** Bytes held by the array. */
  get memoryBytes(): number {
    return this.sums.byteLength;
  }

  /** The page checksum of `pgno` (0 for the lock page and pages past the end). */
  get(pgno: number): bigint {
    return pgno >= 1 && pgno <= this.pages ? this.sums[pgno - 1]! : 0n;
  }

  /** Sets the checksum of `pgno` (extending the database up to it), keeping the database checksum. */
  set(pgno: number, pageSum: bigint): void {
    if (pgno === this.lock) return;
    if (pgno > this.pages) this.grow(pgno);
    this.sum.replace(this.sums[pgno - 1]!, pageSum);
    this.sums[pgno - 1] = pageSum;
  }

  /** Cuts the database to `commit` pages, or marks it that long (new pages must then be `set`). */
  resize(commit: number): void {
    if (commit < this.pages) {
      for (let pgno = commit + 1; pgno <= this.pages; pgno++) this.sum.remove(this.sums[pgno - 1]!);
      this.sums.fill(0n, commit, this.pages);
      this.pages = commit;
    } else if (commit > this.pages) {
      this.grow(commit);
    }
  }

  /** Starts a change on top of this state; nothing here changes until `commit()`. */
  change(): PageChecksumChange {
    return new PageChecksumChange(this);
  }

  /** A copy (used to try candidate states without touching this one). */
  clone(): PageChecksums {
    const copy = new PageChecksums(this.pageSize, this.pages);
    copy.sums.set(this.sums.subarray(0, this.pages));
    copy.pages = this.pages;
    copy.sum = new DatabaseChecksum(this.sum.value);
    return copy;
  }

  private grow(commit: number): void {
    if (commit > this.sums.length) {
      const grown = new BigUint64Array(Math.max(commit, Math.ceil(this.sums.length * 1.5)));
      grown.set(this.sums.subarray(0, this.pages));
      this.sums = grown;
    }
    // Zero entries contribute nothing to the XOR, so growing alone leaves the sum as is.
    this.pages = commit;
  }
}

/**
 * Page checksums of the next state, staged: the database checksum is kept up to date
 * as pages are set, and the base array is only touched by `commit()` (after the file
 * carrying this state was uploaded).
 */
export class PageChecksumChange {
  private readonly base: PageChecksums;
  private readonly staged = new Map<number, bigint>();
  private readonly sum: DatabaseChecksum;
  private readonly lock: number;
  private newCommit: number | undefined;

  constructor(base: PageChecksums) {
    this.base = base;
    this.sum = new DatabaseChecksum(base.checksum);
    this.lock = lockPgno(base.pageSize);
  }

  /** The checksum of `pgno` in the new state so far. */
  get(pgno: number): bigint {
    return this.staged.get(pgno) ?? this.base.get(pgno);
  }

  /** Pages changed so far. */
  get size(): number {
    return this.staged.size;
  }

  /** The page `pgno` now has checksum `pageSum`. */
  set(pgno: number, pageSum: bigint): void {
    if (pgno === this.lock) return;
    this.sum.replace(this.get(pgno), pageSum);
    this.staged.set(pgno, pageSum);
  }

  /**
   * Ends the change at `commit` pages: pages beyond it leave the checksum. Every page
   * in (old commit, commit] must have been `set`. Returns the post-apply checksum.
   */
  finish(commit: number): bigint {
    const removeFrom = commit + 1;
    for (let pgno = removeFrom; pgno <= Math.max(this.base.commit, this.maxStaged()); pgno++) {
      if (pgno !== this.lock) this.sum.remove(this.get(pgno));
    }
    for (const pgno of this.staged.keys()) if (pgno > commit) this.staged.delete(pgno);
    this.newCommit = commit;
    return this.value;
  }

  /** The database checksum of the new state (after `finish`). */
  get value(): bigint {
    return this.newCommit === 0 ? EMPTY_DATABASE_CHECKSUM : this.sum.value;
  }

  /** Writes the new state into the base array. */
  commit(): void {
    if (this.newCommit === undefined) throw new Error("PageChecksumChange.commit() before finish()");
    this.base.resize(Math.min(this.base.commit, this.newCommit));
    for (const [pgno, pageSum] of this.staged) this.base.set(pgno, pageSum);
    this.base.resize(this.newCommit);
  }

  private maxStaged(): number {
    let max = 0;
    for (const pgno of this.staged.keys()) if (pgno > max) max = pgno;
    return max;
  }
}
