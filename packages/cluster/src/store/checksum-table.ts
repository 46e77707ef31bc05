/**
 * The checksum of every page of a database, kept in memory and in a file beside it, so
 * that a commit costs only the checksums of the pages it changes and a boot reads 8
 * bytes a page (2 MiB for a 1 GiB database) instead of hashing the whole database.
 */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from "node:fs";
import { CHECKSUM_FLAG, EMPTY_DATABASE_CHECKSUM, lockPgno } from "@sqlrep/ltx";
import { ClusterError } from "../errors.js";
import { fsyncFd } from "./fsync.js";

/** One page's new checksum, for {@link ChecksumTable.preview} and {@link ChecksumTable.apply}. */
export interface PageSum {
  readonly pgno: number;
  /** The page checksum (flag set), as `pageChecksum` computes it. */
  readonly sum: bigint;
}

const HI = 0x1_0000_0000n;

/**
 * Page checksums 1…commit as pairs of 32-bit words (the XOR of all of them is the
 * database checksum, kept as two words too: bigint XOR over 262,144 pages would cost
 * more than reading them). The file holds the same entries big-endian, 8 bytes a page,
 * written positionally at each change and fsynced by `sync()`; it is only trusted at a
 * boot once its XOR equals the position (see `Database.open`).
 */
export class ChecksumTable {
  readonly pageSize: number;
  private readonly lock: number;
  private words: Uint32Array;
  private pages = 0;
  private xorHi = 0;
  private xorLo = 0;
  private readonly scratch = new Uint8Array(8);
  private readonly scratchView = new DataView(this.scratch.buffer);

  private constructor(
    readonly path: string,
    private readonly fd: number,
    pageSize: number,
  ) {
    this.pageSize = pageSize;
    this.lock = lockPgno(pageSize);
    this.words = new Uint32Array(32);
  }

  /** Opens (creating) the table file and loads every entry in it. */
  static open(path: string, pageSize: number): ChecksumTable {
    let fd: number;
    try {
      fd = openSync(path, "a+");
      closeSync(fd);
      fd = openSync(path, "r+");
    } catch (err) {
      throw new ClusterError("io", `cannot open the checksum table ${path}: ${(err as Error).message}`, { cause: err, file: path });
    }
    const table = new ChecksumTable(path, fd, pageSize);
    try {
      const size = fstatSync(fd).size;
      const pages = Math.floor(size / 8);
      const bytes = new Uint8Array(pages * 8);
      for (let done = 0; done < bytes.length; ) {
        const n = readSync(fd, bytes, done, bytes.length - done, done);
        if (n === 0) break;
        done += n;
      }
      table.ensure(pages);
      const view = new DataView(bytes.buffer);
      const words = table.words;
      let hi = 0;
      let lo = 0;
      for (let i = 0; i < pages; i++) {
        const h = view.getUint32(i * 8);
        const l = view.getUint32(i * 8 + 4);
        words[i * 2] = h;
        words[i * 2 + 1] = l;
        hi ^= h;
        lo ^= l;
      }
      table.pages = pages;
      table.xorHi = hi >>> 0;
      table.xorLo = lo >>> 0;
    } catch (err) {
      closeSync(fd);
      throw new ClusterError("io", `cannot read the checksum table ${path}: ${(err as Error).message}`, { cause: err, file: path });
    }
    return table;
  }

  /** Database size in pages as the table knows it. */
  get commit(): number {
    return this.pages;
  }

  /** The database checksum (flag set; the empty database's when there are no pages). */
  get checksum(): bigint {
    if (this.pages === 0) return EMPTY_DATABASE_CHECKSUM;
    return CHECKSUM_FLAG | ((BigInt(this.xorHi) * HI + BigInt(this.xorLo)) & ~CHECKSUM_FLAG);
  }

  /** The checksum of page `pgno` (0n for the lock page and past the end). */
  get(pgno: number): bigint {
    if (pgno < 1 || pgno > this.pages) return 0n;
    return BigInt(this.words[(pgno - 1) * 2]!) * HI + BigInt(this.words[(pgno - 1) * 2 + 1]!);
  }

  /** The database checksum after pages `sums` (ascending) and size `commit`, without changing anything. */
  preview(sums: readonly PageSum[], commit: number): bigint {
    let xor = BigInt(this.xorHi) * HI + BigInt(this.xorLo);
    for (const { pgno, sum } of sums) {
      if (pgno === this.lock || pgno > commit) continue;
      xor ^= this.get(pgno) ^ sum;
    }
    for (let pgno = commit + 1; pgno <= this.pages; pgno++) xor ^= this.get(pgno);
    if (commit === 0) return EMPTY_DATABASE_CHECKSUM;
    return CHECKSUM_FLAG | (xor & ~CHECKSUM_FLAG);
  }

  /**
   * Sets the pages' checksums and the size (pages past `commit` leave the table), in
   * memory and in the file; returns the new database checksum. Pages between the old
   * size and `commit` that `sums` does not name must be set before the state is used
   * (callers require every new page).
   */
  apply(sums: readonly PageSum[], commit: number): bigint {
    if (commit < this.pages) this.shrink(commit);
    else if (commit > this.pages) {
      this.ensure(commit);
      this.pages = commit;
    }
    let runStart = 0;
    let runEnd = 0;
    for (const { pgno, sum } of sums) {
      if (pgno === this.lock || pgno > commit) continue;
      this.set(pgno, sum);
      if (pgno !== runEnd + 1 || runStart === 0) {
        if (runStart !== 0) this.writeRun(runStart, runEnd);
        runStart = pgno;
      }
      runEnd = pgno;
    }
    if (runStart !== 0) this.writeRun(runStart, runEnd);
    return this.checksum;
  }

  /** Replaces every entry (after a snapshot or a full verification): `sums[i]` is page i + 1's checksum (0n for the lock page). */
  replaceAll(sums: BigUint64Array, commit: number): bigint {
    this.words = new Uint32Array(Math.max(32, commit * 2));
    this.pages = commit;
    this.xorHi = 0;
    this.xorLo = 0;
    const bytes = new Uint8Array(commit * 8);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < commit; i++) {
      const sum = i + 1 === this.lock ? 0n : sums[i]!;
      const h = Number(sum >> 32n) >>> 0;
      const l = Number(sum & 0xffff_ffffn) >>> 0;
      this.words[i * 2] = h;
      this.words[i * 2 + 1] = l;
      this.xorHi ^= h;
      this.xorLo ^= l;
      view.setUint32(i * 8, h);
      view.setUint32(i * 8 + 4, l);
    }
    this.xorHi >>>= 0;
    this.xorLo >>>= 0;
    this.write(bytes, 0);
    this.truncateFile(commit);
    return this.checksum;
  }

  /** The entries as they are now, for reading later while the table moves on (one copy of the array). */
  frozen(): (pgno: number) => bigint {
    const words = this.words.slice(0, this.pages * 2);
    const pages = this.pages;
    return (pgno) => (pgno < 1 || pgno > pages ? 0n : BigInt(words[(pgno - 1) * 2]!) * HI + BigInt(words[(pgno - 1) * 2 + 1]!));
  }

  /** A copy of the entries 1…commit (a snapshot compares each page it reads against them). */
  copy(): BigUint64Array {
    const out = new BigUint64Array(this.pages);
    for (let i = 0; i < this.pages; i++) out[i] = BigInt(this.words[i * 2]!) * HI + BigInt(this.words[i * 2 + 1]!);
    return out;
  }

  /** {@link sync} on the thread pool. */
  async syncAsync(): Promise<void> {
    try {
      await fsyncFd(this.fd);
    } catch (err) {
      throw new ClusterError("io", `cannot fsync the checksum table ${this.path}: ${(err as Error).message}`, { cause: err, file: this.path });
    }
  }

  /** The file's entries on stable storage. */
  sync(): void {
    try {
      fsyncSync(this.fd);
    } catch (err) {
      throw new ClusterError("io", `cannot fsync the checksum table ${this.path}: ${(err as Error).message}`, { cause: err, file: this.path });
    }
  }

  /** Closes the file. */
  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }

  private set(pgno: number, sum: bigint): void {
    const i = (pgno - 1) * 2;
    const h = Number(sum >> 32n) >>> 0;
    const l = Number(sum & 0xffff_ffffn) >>> 0;
    this.xorHi = (this.xorHi ^ this.words[i]! ^ h) >>> 0;
    this.xorLo = (this.xorLo ^ this.words[i + 1]! ^ l) >>> 0;
    this.words[i] = h;
    this.words[i + 1] = l;
  }

  /** Writes the entries of pages first…last (set in memory) to the file in one write. */
  private writeRun(first: number, last: number): void {
    const count = last - first + 1;
    const bytes = count === 1 ? this.scratch : new Uint8Array(count * 8);
    const view = count === 1 ? this.scratchView : new DataView(bytes.buffer);
    for (let k = 0; k < count; k++) {
      view.setUint32(k * 8, this.words[(first - 1 + k) * 2]!);
      view.setUint32(k * 8 + 4, this.words[(first - 1 + k) * 2 + 1]!);
    }
    this.write(bytes, (first - 1) * 8);
  }

  private shrink(commit: number): void {
    for (let pgno = commit + 1; pgno <= this.pages; pgno++) {
      const i = (pgno - 1) * 2;
      this.xorHi = (this.xorHi ^ this.words[i]!) >>> 0;
      this.xorLo = (this.xorLo ^ this.words[i + 1]!) >>> 0;
      this.words[i] = 0;
      this.words[i + 1] = 0;
    }
    this.pages = commit;
    this.truncateFile(commit);
  }

  private ensure(pages: number): void {
    if (pages * 2 <= this.words.length) return;
    const grown = new Uint32Array(Math.max(pages * 2, Math.ceil(this.words.length * 1.5)));
    grown.set(this.words.subarray(0, this.pages * 2));
    this.words = grown;
  }

  private write(bytes: Uint8Array, position: number): void {
    try {
      for (let done = 0; done < bytes.length; ) done += writeSync(this.fd, bytes, done, bytes.length - done, position + done);
    } catch (err) {
      throw new ClusterError("io", `cannot write the checksum table ${this.path} at offset ${position}: ${(err as Error).message}`, {
        cause: err,
        file: this.path,
        offset: position,
      });
    }
  }

  private truncateFile(pages: number): void {
    try {
      ftruncateSync(this.fd, pages * 8);
    } catch (err) {
      throw new ClusterError("io", `cannot truncate the checksum table ${this.path}: ${(err as Error).message}`, { cause: err, file: this.path });
    }
  }
}
