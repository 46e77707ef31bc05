/**
 * The database a follow keeps up to date: changes are staged in memory, then written in
 * place as one SQLite transaction (SQLite's EXCLUSIVE lock, a rollback journal, a new change counter).
 */
import { open, rm, type FileHandle } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { DatabaseChecksum, lockPgno, pageChecksum, type PageStore } from "@sqlrep/ltx";
import { syncDirectory } from "@sqlrep/page-file";
import { encodeJournal } from "@sqlrep/wal";
import type BetterSqlite3 from "better-sqlite3";
import { FollowError } from "./errors.js";

/** The journal's sector size: its header is padded to it (SQLite reads the size back from the header). */
const JOURNAL_SECTOR_SIZE = 4096;

/**
 * The rollback journal written before a batch: `pages` as they were, for a database of
 * `dbPages` pages, in SQLite's format (`@sqlrep/wal`), which a crash leaves for SQLite to play back.
 */
export function followJournal(pages: readonly { pgno: number; data: Uint8Array }[], dbPages: number, pageSize: number): Uint8Array {
  return encodeJournal({ pageSize, initialPages: dbPages, sectorSize: JOURNAL_SECTOR_SIZE, segments: [{ records: pages }] });
}

/** Header offsets of SQLite's page 1 that the followed copy sets itself. */
const WRITE_VERSION = 18;
const READ_VERSION = 19;
const CHANGE_COUNTER = 24;
const PAGE_COUNT = 28;
const VERSION_VALID_FOR = 92;

/**
 * Page 1 as the followed copy stores it: the replica's page 1 with the rollback-journal
 * file format (bytes 18–19 = 1, so readers never open it in WAL mode and miss in-place
 * writes), and the change counter readers compare to drop their caches.
 */
export function physicalPage1(logical: Uint8Array, counter: number, pages: number): Uint8Array {
  const page = logical.slice();
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
  page[WRITE_VERSION] = 1;
  page[READ_VERSION] = 1;
  view.setUint32(CHANGE_COUNTER, counter >>> 0);
  view.setUint32(PAGE_COUNT, pages);
  view.setUint32(VERSION_VALID_FOR, counter >>> 0);
  return page;
}

/** A batch being prepared: the followed file as it would be, read-through, nothing written. */
export class StagedPages implements PageStore {
  readonly pages = new Map<number, Uint8Array>();
  private bytes: number;

  constructor(
    private readonly file: FollowedFile,
    size: number,
  ) {
    this.bytes = size;
  }

  /** The staged size in bytes. */
  get sizeBytes(): number {
    return this.bytes;
  }

  async size(): Promise<number> {
    return this.bytes;
  }

  async readPage(pgno: number, pageSize: number): Promise<Uint8Array> {
    return this.pages.get(pgno) ?? (await this.file.readLogicalPage(pgno, pageSize));
  }

  async writePage(pgno: number, data: Uint8Array): Promise<void> {
    this.pages.set(pgno, data.slice());
    this.bytes = Math.max(this.bytes, pgno * data.length);
  }

  async truncate(size: number): Promise<void> {
    const pageSize = this.file.pageSize;
    for (const pgno of this.pages.keys()) if (pgno * pageSize > size) this.pages.delete(pgno);
    this.bytes = size;
  }

  async delete(): Promise<void> {
    throw new FollowError("deleted", `the replica's database was deleted (an LTX file with commit 0): ${this.file.path}`, { file: this.file.path });
  }
}

/** What one applied batch changed. */
export interface BatchResult {
  pages: number;
  journaledPages: number;
  /** Time spent waiting for readers to let go (SQLite's EXCLUSIVE lock). */
  lockWaitMs: number;
  /** Time the lock was held: journal, pages, syncs (new readers wait this long at most). */
  lockHeldMs: number;
}

/**
 * The followed copy, open for the whole follow: a better-sqlite3 connection that takes
 * SQLite's locks, and a file handle for the pages. The handle stays open until the
 * connection is closed: closing any descriptor of the file drops the process's POSIX locks.
 */
export class FollowedFile {
  private logicalPage1: Uint8Array;

  private constructor(
    readonly path: string,
    private readonly db: BetterSqlite3.Database,
    private readonly fd: FileHandle,
    readonly pageSize: number,
    logicalPage1: Uint8Array,
  ) {
    this.logicalPage1 = logicalPage1;
  }

  /**
   * Opens the copy. `header` is the replica's 100-byte database header for this state
   * (the file's own carries this copy's changes to it); the rest of page 1 is the file's.
   */
  static async open(path: string, header: Uint8Array): Promise<FollowedFile> {
    // Loaded here, not at import: an app that never follows does not pay for the native module.
    const Database = createRequire(import.meta.url)("better-sqlite3") as typeof BetterSqlite3;
    const db = new Database(path, { fileMustExist: true });
    let fd: FileHandle | undefined;
    try {
      db.pragma("busy_timeout = 100");
      // A journal left by a crash mid-batch is played back here, when SQLite first reads.
      db.prepare("SELECT count(*) FROM sqlite_schema").get();
      fd = await open(path, "r+");
      const raw = (header[16]! << 8) | header[17]!;
      const pageSize = raw === 1 ? 65536 : raw;
      const page1 = new Uint8Array(pageSize);
      await fd.read(page1, 0, pageSize, 0);
      page1.set(header.subarray(0, 100), 0);
      return new FollowedFile(path, db, fd, pageSize, page1);
    } catch (err) {
      db.close();
      await fd?.close();
      throw err;
    }
  }

  /** The replica's 100-byte database header for the state the copy is in. */
  header(): Uint8Array {
    return this.logicalPage1.slice(0, 100);
  }

  /** The file's size in bytes now. */
  async size(): Promise<number> {
    return (await this.fd.stat()).size;
  }

  /** Page `pgno` as the replica has it (page 1 without this copy's header changes). */
  async readLogicalPage(pgno: number, pageSize: number): Promise<Uint8Array> {
    if (pgno === 1) return this.logicalPage1.slice();
    return this.readPhysical(pgno, pageSize);
  }

  private async readPhysical(pgno: number, pageSize: number): Promise<Uint8Array> {
    const page = new Uint8Array(pageSize);
    await this.fd.read(page, 0, pageSize, (pgno - 1) * pageSize);
    return page;
  }

  /** The database checksum of the copy as the replica would compute it (one full read). */
  async checksum(): Promise<bigint> {
    const size = await this.size();
    const sum = new DatabaseChecksum();
    const lock = lockPgno(this.pageSize);
    for (let pgno = 1; pgno <= size / this.pageSize; pgno++) {
      if (pgno !== lock) sum.add(pageChecksum(pgno, await this.readLogicalPage(pgno, this.pageSize)));
    }
    return sum.value;
  }

  /** A batch to stage changes in. */
  async stage(): Promise<StagedPages> {
    return new StagedPages(this, await this.size());
  }

  /**
   * Writes a staged batch as one SQLite transaction: waits for SQLite's EXCLUSIVE lock
   * (readers finish their transactions; new ones wait), writes a rollback journal with
   * every page it will overwrite or cut off and syncs it, writes the pages and the new
   * page 1, truncates, syncs, and deletes the journal (the commit point) before letting
   * readers in again. A crash before that leaves a hot journal SQLite rolls back.
   */
  async commit(staged: StagedPages, signal: AbortSignal, onWaiting?: () => void): Promise<BatchResult> {
    const { pageSize } = this;
    const lockWaitMs = await this.lockExclusive(signal, onWaiting);
    const locked = performance.now();
    try {
      const oldPages = (await this.size()) / pageSize;
      const newPages = staged.sizeBytes / pageSize;
      const header = await this.readPhysical(1, pageSize);
      const counter = (new DataView(header.buffer).getUint32(CHANGE_COUNTER) + 1) >>> 0;
      const newPage1 = staged.pages.get(1) ?? this.logicalPage1;
      const writes = new Map(staged.pages);
      writes.set(1, physicalPage1(newPage1, counter, newPages));
      const journal: { pgno: number; data: Uint8Array }[] = [];
      for (const pgno of [...writes.keys()].sort((a, b) => a - b)) {
        if (pgno <= oldPages) journal.push({ pgno, data: pgno === 1 ? header : await this.readPhysical(pgno, pageSize) });
      }
      for (let pgno = newPages + 1; pgno <= oldPages; pgno++) journal.push({ pgno, data: await this.readPhysical(pgno, pageSize) });
      await this.writeJournal(followJournal(journal, oldPages, pageSize));
      for (const [pgno, data] of writes) await this.fd.write(data, 0, pageSize, (pgno - 1) * pageSize);
      if (newPages < oldPages) await this.fd.truncate(newPages * pageSize);
      await this.fd.sync();
      await rm(`${this.path}-journal`);
      this.logicalPage1 = newPage1.slice();
      return { pages: staged.pages.size, journaledPages: journal.length, lockWaitMs, lockHeldMs: performance.now() - locked };
    } finally {
      this.db.exec("ROLLBACK");
    }
  }

  private async writeJournal(bytes: Uint8Array): Promise<void> {
    const journal = await open(`${this.path}-journal`, "w");
    try {
      await journal.write(bytes, 0, bytes.length, 0);
      await journal.sync();
    } finally {
      await journal.close();
    }
    await syncDirectory(dirname(this.path));
  }

  /**
   * BEGIN EXCLUSIVE, retried while readers hold the file (each try blocks ≤ the 100 ms
   * busy timeout); `onWaiting` is told once when that has lasted a second.
   */
  private async lockExclusive(signal: AbortSignal, onWaiting?: () => void): Promise<number> {
    const started = performance.now();
    let told = false;
    for (;;) {
      try {
        this.db.exec("BEGIN EXCLUSIVE");
        return performance.now() - started;
      } catch (err) {
        if ((err as { code?: string }).code !== "SQLITE_BUSY") throw err;
      }
      if (signal.aborted) throw new FollowError("aborted", `stopped while waiting for readers of ${this.path} to finish`, { file: this.path });
      if (!told && performance.now() - started >= 1000) {
        told = true;
        onWaiting?.();
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Closes the connection, then the handle (in that order, see the class comment). */
  async close(): Promise<void> {
    this.db.close();
    await this.fd.close();
  }
}
