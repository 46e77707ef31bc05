/**
 * The staging journal: changes staged since the last seal, appended to one local file
 * (pages with their checksums, then a commit record per change), so that staging a
 * commit costs one write and sealing reads only the newest copy of each page.
 */
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { Crc64, pageChecksum } from "@sqlrep/ltx";
import type { LogPage, WalMark } from "./log-types.js";

const MAGIC = new TextEncoder().encode("SQLRJNL1");
const HEADER_SIZE = 32;
const PAGE_HEAD = 13; // 'P', pgno u32, checksum u64
const COMMIT_SIZE = 61; // 'C', commit u32, post u64, timestamp u64, walOffset u64, walSize u64, salt1 u32, salt2 u32, transactions u32, pages u32, crc u64
const WRITE_CHUNK = 1 << 20;

/** One staged change, as the journal remembers it. */
export interface StagedChange {
  readonly commit: number;
  readonly postApply: bigint;
  readonly timestamp: number;
  /** Where the change came from in the feeder's WAL (offset 0: not from a WAL). */
  readonly walOffset: number;
  readonly walSize: number;
  readonly salt1: number;
  readonly salt2: number;
  readonly transactions: number;
  /** Page number → offset of its data in the journal (this change's copy). */
  readonly pages: ReadonlyMap<number, number>;
}

/**
 * An append-only file of staged changes on top of a known state (`preApply`, the
 * database checksum before the first change). Records carry checksums: reopened after a
 * crash, the journal keeps every change whose commit record and pages verify, and is
 * cut after the last one.
 */
export class StagingJournal {
  private readonly changes: StagedChange[] = [];
  private fd: number | undefined;
  private size = 0;
  private scratch = new Uint8Array(WRITE_CHUNK);

  private constructor(
    readonly path: string,
    private pageSizeValue: number,
    private preApplyValue: bigint,
  ) {}

  /** A new, empty journal at `path` (replacing any file there) on top of `preApply`. */
  static create(path: string, pageSize: number, preApply: bigint): StagingJournal {
    const journal = new StagingJournal(path, pageSize, preApply);
    journal.fd = openSync(path, "w+");
    journal.writeHeader();
    return journal;
  }

  /**
   * Empties the journal for changes on top of `preApply` (after a seal). The file is
   * kept and cut, not deleted and created again: on a busy disk creating a file costs
   * milliseconds that staging should not pay.
   */
  reset(pageSize: number, preApply: bigint): void {
    this.pageSizeValue = pageSize;
    this.preApplyValue = preApply;
    this.changes.length = 0;
    this.writeHeader();
    ftruncateSync(this.fd!, HEADER_SIZE);
  }

  /** Page size of the staged changes. */
  get pageSize(): number {
    return this.pageSizeValue;
  }

  /** The database checksum before the first change. */
  get preApply(): bigint {
    return this.preApplyValue;
  }

  private writeHeader(): void {
    const header = new Uint8Array(HEADER_SIZE);
    header.set(MAGIC, 0);
    const view = new DataView(header.buffer);
    view.setUint32(8, this.pageSizeValue);
    view.setBigUint64(16, this.preApplyValue);
    view.setBigUint64(24, crcOf(header.subarray(0, 24)));
    writeAll(this.fd!, header, 0);
    this.size = HEADER_SIZE;
  }

  /** The journal at `path` as a crash left it (its valid changes), or undefined when there is none or its header is damaged. */
  static open(path: string): StagingJournal | undefined {
    let fd: number;
    try {
      fd = openSync(path, "r+");
    } catch {
      return undefined;
    }
    const header = new Uint8Array(HEADER_SIZE);
    const view = new DataView(header.buffer);
    if (readSync(fd, header, 0, HEADER_SIZE, 0) !== HEADER_SIZE || !MAGIC.every((b, i) => header[i] === b) || view.getBigUint64(24) !== crcOf(header.subarray(0, 24))) {
      closeSync(fd);
      return undefined;
    }
    const journal = new StagingJournal(path, view.getUint32(8), view.getBigUint64(16));
    journal.fd = fd;
    journal.size = journal.replay(fstatSync(fd).size);
    ftruncateSync(fd, journal.size);
    return journal;
  }

  /** Changes staged, oldest first. */
  get staged(): readonly StagedChange[] {
    return this.changes;
  }

  /** Bytes of the file. */
  get bytes(): number {
    return this.size;
  }

  /**
   * Appends one change: its pages (checksums reused when given), then its commit record
   * (`postApply` may be asked once every page was read). A throw while reading the pages
   * leaves nothing of the change.
   */
  append(change: Omit<StagedChange, "pages" | "postApply"> & { postApply: bigint | (() => bigint) }, pages: Iterable<LogPage & { checksum?: bigint }>): StagedChange {
    const fd = this.fd!;
    const pageSize = this.pageSize;
    const offsets = new Map<number, number>();
    let at = this.size;
    let chunk = this.scratch;
    let used = 0;
    let resolved: Omit<StagedChange, "pages"> | undefined;
    const flush = () => {
      writeAll(fd, chunk.subarray(0, used), at - used);
      used = 0;
    };
    const reserve = (n: number) => {
      if (used + n > chunk.length) {
        flush();
        if (n > chunk.length) chunk = new Uint8Array(n);
      }
    };
    try {
      for (const page of pages) {
        reserve(PAGE_HEAD + pageSize);
        const view = new DataView(chunk.buffer, used, PAGE_HEAD);
        chunk[used] = 0x50;
        view.setUint32(1, page.pgno);
        view.setBigUint64(5, page.checksum ?? pageChecksum(page.pgno, page.data));
        chunk.set(page.data, used + PAGE_HEAD);
        offsets.set(page.pgno, at + PAGE_HEAD);
        used += PAGE_HEAD + pageSize;
        at += PAGE_HEAD + pageSize;
      }
      reserve(COMMIT_SIZE);
      resolved = { ...change, postApply: typeof change.postApply === "bigint" ? change.postApply : change.postApply() };
      encodeCommit(chunk.subarray(used, used + COMMIT_SIZE), resolved, offsets.size);
      used += COMMIT_SIZE;
      at += COMMIT_SIZE;
      flush();
    } catch (err) {
      // Nothing of a change that failed half-way stays: the file is cut back.
      ftruncateSync(fd, this.size);
      throw err;
    }
    this.size = at;
    const staged: StagedChange = { ...resolved!, pages: offsets };
    this.changes.push(staged);
    return staged;
  }

  /** The data of a page copy at `offset` (from a change's `pages`). */
  readPage(offset: number): Uint8Array {
    const data = new Uint8Array(this.pageSize);
    let done = 0;
    while (done < data.length) {
      const n = readSync(this.fd!, data, done, data.length - done, offset + done);
      if (n === 0) throw new Error(`staging journal ${this.path} ends inside the page at offset ${offset}`);
      done += n;
    }
    return data;
  }

  /** Closes and deletes the file (every change was sealed). */
  remove(): void {
    this.close();
    rmSync(this.path, { force: true });
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Reads the records up to `end`, keeping every complete change whose checksums verify; returns where the valid part ends. */
  private replay(end: number): number {
    const pageSize = this.pageSize;
    const head = new Uint8Array(Math.max(PAGE_HEAD, COMMIT_SIZE));
    const data = new Uint8Array(pageSize);
    let at = HEADER_SIZE;
    let valid = HEADER_SIZE;
    let offsets = new Map<number, number>();
    while (at < end) {
      if (readSync(this.fd!, head, 0, 1, at) !== 1) break;
      if (head[0] === 0x50) {
        if (at + PAGE_HEAD + pageSize > end) break;
        readSync(this.fd!, head, 0, PAGE_HEAD, at);
        readSync(this.fd!, data, 0, pageSize, at + PAGE_HEAD);
        const view = new DataView(head.buffer, 0, PAGE_HEAD);
        const pgno = view.getUint32(1);
        if (pageChecksum(pgno, data) !== view.getBigUint64(5)) break;
        offsets.set(pgno, at + PAGE_HEAD);
        at += PAGE_HEAD + pageSize;
      } else if (head[0] === 0x43) {
        if (at + COMMIT_SIZE > end || readSync(this.fd!, head, 0, COMMIT_SIZE, at) !== COMMIT_SIZE) break;
        const change = decodeCommit(head.subarray(0, COMMIT_SIZE), offsets);
        if (change === undefined) break;
        this.changes.push(change);
        offsets = new Map();
        at += COMMIT_SIZE;
        valid = at;
      } else {
        break;
      }
    }
    return valid;
  }
}

function encodeCommit(out: Uint8Array, c: Omit<StagedChange, "pages">, pages: number): void {
  const view = new DataView(out.buffer, out.byteOffset, COMMIT_SIZE);
  out[0] = 0x43;
  view.setUint32(1, c.commit);
  view.setBigUint64(5, c.postApply);
  view.setBigInt64(13, BigInt(c.timestamp));
  view.setBigUint64(21, BigInt(c.walOffset));
  view.setBigUint64(29, BigInt(c.walSize));
  view.setUint32(37, c.salt1);
  view.setUint32(41, c.salt2);
  view.setUint32(45, c.transactions);
  view.setUint32(49, pages);
  view.setBigUint64(53, crcOf(out.subarray(0, 53)));
}

function decodeCommit(bytes: Uint8Array, pages: Map<number, number>): StagedChange | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, COMMIT_SIZE);
  if (view.getBigUint64(53) !== crcOf(bytes.subarray(0, 53)) || view.getUint32(49) !== pages.size) return undefined;
  return {
    commit: view.getUint32(1),
    postApply: view.getBigUint64(5),
    timestamp: Number(view.getBigInt64(13)),
    walOffset: Number(view.getBigUint64(21)),
    walSize: Number(view.getBigUint64(29)),
    salt1: view.getUint32(37),
    salt2: view.getUint32(41),
    transactions: view.getUint32(45),
    pages,
  };
}

function crcOf(bytes: Uint8Array): bigint {
  const crc = new Crc64();
  crc.update(bytes);
  return crc.digest();
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
}

/** The WAL mark after a change (undefined when it did not come from a WAL). */
export function walMarkOf(c: Pick<StagedChange, "walOffset" | "walSize" | "salt1" | "salt2">): WalMark | undefined {
  return c.walOffset > 0 ? { offset: c.walOffset + c.walSize, salt1: c.salt1, salt2: c.salt2 } : undefined;
}
