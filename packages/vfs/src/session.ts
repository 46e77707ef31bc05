// One SQLite connection's view of the engine (one main-database file handle of the shim):
// its lock level, the version its read transaction is on, its time-travel target, its
// write transaction, and the litestream_* pragmas.
import { VfsError } from "./errors.js";
import type { Hydrator } from "./hydration.js";
import { presentPageOne } from "./page-one.js";
import { NO_READ_AHEAD, type ReadAhead } from "./page-fetcher.js";
import { ScanPrefetcher } from "./scan-prefetch.js";
import { formatTime, parseTimeValue } from "./time-value.js";
import type { Timeline } from "./timeline.js";
import { hex, type Version } from "./version.js";
import type { Writer } from "./writer.js";

/** What a session needs of the engine that opened it (an interface: the engine imports sessions, not the other way). */
export interface SessionEngine {
  readonly timeline: Timeline;
  readonly writer: Writer | undefined;
  readonly hydrator: Hydrator | undefined;
  /** Page 1's file-format bytes 18–19 as the database had them. */
  readonly journalBytes: readonly [number, number];
  writerReady(): Promise<Writer>;
  sessionClosed(session: Session): void;
}

/** SQLite's lock levels (sqlite3.h). */
export const LOCK = { NONE: 0, SHARED: 1, RESERVED: 2, PENDING: 3, EXCLUSIVE: 4 } as const;

/** What the shim needs to know about the version a connection reads. */
export interface ViewState {
  counter: number;
  commit: number;
  pageSize: number;
  txid: number;
  header: Uint8Array;
}

/** A pragma's answer: a value, nothing (a setter), or not ours (SQLite handles it). */
export type PragmaResult = { kind: "value"; value: string } | { kind: "none" } | { kind: "unknown" };

interface WriteTxn {
  base: Version;
  pages: Map<number, Uint8Array>;
  /** Database size in bytes as the transaction has made it. */
  size: number;
  pageSize: number;
}

/** The state the shim shows SQLite for a version. */
export function viewStateOf(v: Version): ViewState {
  return { counter: v.counter, commit: v.commit, pageSize: v.pageSize, txid: v.txid, header: v.header };
}

/** A connection. */
export class Session {
  lock: number = LOCK.NONE;
  /** The time-travel view; undefined follows the replica. */
  private view: Version | undefined;
  private viewTarget: Date | undefined;
  /** The version this read transaction was served from (kept readable while it lasts). */
  private pinned: Version | undefined;
  private txn: WriteTxn | undefined;
  writeEnabled: boolean;
  private lastPgno = 0;
  private streak = 0;
  /** B-tree scan read-ahead, for the version it watches. */
  private scan: { version: Version; prefetcher: ScanPrefetcher } | undefined;
  private closed = false;

  constructor(
    private readonly engine: SessionEngine,
    writeEnabled: boolean,
  ) {
    this.writeEnabled = writeEnabled;
  }

  /** The version a new read transaction of this connection sees. */
  get state(): ViewState {
    return viewStateOf(this.view ?? this.engine.timeline.current);
  }

  /** Whether the connection reads a fixed point in time. */
  get timeTravelling(): boolean {
    return this.view !== undefined;
  }

  /**
   * Reads `length` bytes at `offset` of the version known by `counter` (the change
   * counter the shim saw when the transaction began). Inside a write transaction its own
   * pages come first. Page 1 carries the version's header.
   */
  async read(counter: number, offset: number, length: number): Promise<{ bytes: Uint8Array; short: boolean }> {
    this.assertOpen();
    const v = this.resolve(counter);
    const txn = this.txn !== undefined && this.txn.base === v ? this.txn : undefined;
    const pageSize = txn?.pageSize ?? v.pageSize;
    const size = txn?.size ?? v.commit * pageSize;
    const out = new Uint8Array(length);
    let at = offset;
    while (at < offset + length && at < size) {
      const pgno = Math.floor(at / pageSize) + 1;
      const within = at - (pgno - 1) * pageSize;
      const take = Math.min(pageSize - within, offset + length - at, size - at);
      const page = txn?.pages.get(pgno) ?? (await this.pageOf(v, pgno));
      out.set(page.subarray(within, within + take), at - offset);
      at += take;
    }
    return { bytes: out, short: at < offset + length };
  }

  /** Takes the write lock (SQLite's RESERVED) for a transaction on the version `counter`. */
  async reserve(counter: number): Promise<void> {
    this.assertOpen();
    if (this.view !== undefined) throw new VfsError("read-only", "this connection is reading the replica at a point in time (litestream_time): set it to 'latest' to write");
    if (!this.writeEnabled) throw new VfsError("read-only", "write mode is off (LITESTREAM_WRITE_ENABLED, PRAGMA litestream_write_enabled)");
    const writer = await this.engine.writerReady();
    const base = this.resolve(counter);
    await writer.acquire(this, base);
    this.txn = { base, pages: new Map(), size: base.commit * base.pageSize, pageSize: base.commit === 0 ? 0 : base.pageSize };
    this.lock = LOCK.RESERVED;
  }

  /** A page write of the open write transaction. */
  write(offset: number, data: Uint8Array): void {
    this.assertOpen();
    const txn = this.txn;
    if (txn === undefined) throw new VfsError("read-only", "a write outside a write transaction");
    if (txn.pageSize === 0) txn.pageSize = data.length; // a new database: its first page sets the size
    const ps = txn.pageSize;
    if (offset % ps !== 0 || data.length !== ps) {
      // SQLite writes whole pages; anything else is merged into the page it lands in.
      for (let at = offset; at < offset + data.length; ) {
        const pgno = Math.floor(at / ps) + 1;
        const within = at - (pgno - 1) * ps;
        const take = Math.min(ps - within, offset + data.length - at);
        const page = new Uint8Array(ps);
        const existing = txn.pages.get(pgno);
        if (existing !== undefined) page.set(existing);
        page.set(data.subarray(at - offset, at - offset + take), within);
        txn.pages.set(pgno, page);
        at += take;
      }
    } else {
      txn.pages.set(offset / ps + 1, data);
    }
    txn.size = Math.max(txn.size, offset + data.length);
  }

  /** Cuts the database (VACUUM, auto-vacuum). */
  truncate(size: number): void {
    this.assertOpen();
    const txn = this.txn;
    if (txn === undefined) throw new VfsError("read-only", "a truncate outside a write transaction");
    txn.size = size;
  }

  /** The database size the connection sees (inside a write transaction: its own). */
  fileSize(counter: number): number {
    if (this.txn !== undefined) return this.txn.size;
    const v = this.resolve(counter);
    return v.commit * v.pageSize;
  }

  /**
   * SQLite synced the database (commit phase one) or gave up its write lock: the pages
   * written so far become a local commit (durable before this returns). Returns the
   * version the connection now sees.
   */
  async commit(): Promise<ViewState> {
    this.assertOpen();
    const txn = this.txn;
    if (txn === undefined || (txn.pages.size === 0 && txn.size === txn.base.commit * txn.base.pageSize)) return this.state;
    const writer = await this.engine.writerReady();
    const commit = Math.ceil(txn.size / txn.pageSize);
    const pages = this.keepJournalMode(txn);
    const v = await writer.commit(txn.base, pages, commit, txn.pageSize);
    this.txn = { base: v, pages: new Map(), size: commit * txn.pageSize, pageSize: txn.pageSize };
    this.repin(v);
    return viewStateOf(v);
  }

  /** Lowers the lock to `level`; leaving a write transaction commits what it wrote. */
  async unlock(level: number): Promise<ViewState> {
    this.assertOpen();
    let state = this.state;
    if (this.txn !== undefined && level < LOCK.RESERVED) {
      try {
        state = await this.commit();
      } finally {
        this.txn = undefined;
        this.engine.writer?.release(this);
      }
    }
    this.lock = level;
    if (level === LOCK.NONE) this.repin(undefined);
    return state;
  }

  /** Drops the open write transaction (a page write failed): nothing of it is committed. */
  rollback(): void {
    if (this.txn === undefined) return;
    this.txn = undefined;
    this.engine.writer?.release(this);
  }

  /** The read transaction ended (no reply needed). */
  release(): void {
    this.lock = LOCK.NONE;
    this.repin(undefined);
  }

  /** Handles `PRAGMA litestream_*` (and the SQL functions, which call it). */
  async pragma(name: string, value: string | undefined): Promise<PragmaResult> {
    this.assertOpen();
    const engine = this.engine;
    const timeline = engine.timeline;
    const v = this.view ?? timeline.current;
    const readOnly = () => {
      throw new VfsError("invalid-config", `${name} is read-only`);
    };
    switch (name.toLowerCase()) {
      case "litestream_time":
        if (value === undefined) {
          if (this.viewTarget !== undefined) return text(formatTime(this.viewTarget));
          return text(v.timestamp === undefined ? "latest" : formatTime(v.timestamp));
        }
        await this.setTime(value);
        return { kind: "none" };
      case "litestream_txid":
        if (value !== undefined) readOnly();
        return text(hex(v.txid));
      case "litestream_lag": {
        if (value !== undefined) readOnly();
        const at = timeline.lastPollAt;
        return text(at === undefined ? "-1" : String(Math.floor((Date.now() - at) / 1000)));
      }
      case "litestream_hydration_progress": {
        if (value !== undefined) readOnly();
        return text((engine.hydrator?.progress ?? 0).toFixed(1));
      }
      case "litestream_hydration_file":
        if (value !== undefined) readOnly();
        return text(engine.hydrator?.path ?? "");
      case "litestream_write_enabled":
        if (value === undefined) return text(this.writeEnabled ? "1" : "0");
        this.writeEnabled = parseBoolean(value, name);
        return { kind: "none" };
      default:
        return { kind: "unknown" };
    }
  }

  /** Moves the connection to a point in time (or back to `latest`), effective from its next transaction. */
  async setTime(value: string): Promise<void> {
    const target = parseTimeValue(value);
    if (target === undefined) {
      this.view = undefined;
      this.viewTarget = undefined;
      return;
    }
    if (this.txn !== undefined) throw new VfsError("time", "litestream_time cannot change inside a write transaction");
    this.view = await this.engine.timeline.viewAt({ timestamp: target });
    this.viewTarget = target;
  }

  /** The connection is gone: an open write transaction is dropped (it never committed). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.txn !== undefined) this.engine.writer?.release(this);
    this.txn = undefined;
    this.repin(undefined);
    this.engine.sessionClosed(this);
  }

  private async pageOf(v: Version, pgno: number): Promise<Uint8Array> {
    const timeline = this.engine.timeline;
    if (this.scan?.version !== v) this.scan = { version: v, prefetcher: new ScanPrefetcher() };
    // B-tree pages are read ahead by the tree (their neighbours in the file may belong to
    // other tables); anything else (overflow chains, …) by file order.
    const ahead = this.scan.prefetcher.knows(pgno) ? NO_READ_AHEAD : this.readAhead(pgno);
    const page = await timeline.readPage(v, pgno, ahead);
    this.scan.prefetcher.observe(pgno, page, {
      prefetch: (pgnos) => timeline.prefetch(v, pgnos),
      page: (p) => timeline.readPage(v, p),
    });
    return pgno === 1 ? presentPageOne(page, v.header) : page;
  }

  /**
   * Reading forward widens the read-ahead (up to 4 MiB runs, prefetched); a jump back or
   * far ahead resets it. "Forward" is loose: a table scan walks its leaves in ascending
   * page order, but other tables' pages sit between them.
   */
  private readAhead(pgno: number): ReadAhead {
    const delta = pgno - this.lastPgno;
    this.streak = delta > 0 && delta <= 64 ? this.streak + 1 : 0;
    this.lastPgno = pgno;
    if (this.streak < 2) return NO_READ_AHEAD;
    const frames = Math.min(1023, (1 << Math.min(this.streak, 10)) - 1);
    return { frames, prefetch: this.streak >= 4 ? 2 : 0 };
  }

  private resolve(counter: number): Version {
    if (this.view !== undefined && this.view.counter === counter) return this.view;
    if (this.txn !== undefined && this.txn.base.counter === counter) return this.txn.base;
    const v = this.engine.timeline.byCounter(counter);
    // The same counter is the same content: the newest object for it reads from the newest index.
    if (this.pinned !== undefined && this.pinned.counter === counter && (v === undefined || v === this.pinned)) return this.pinned;
    if (v === undefined) {
      throw new VfsError("snapshot-gone", `the version this transaction reads (change counter ${counter}) is no longer kept: start a new transaction`);
    }
    this.repin(v);
    return v;
  }

  private repin(v: Version | undefined): void {
    if (this.pinned === v) return;
    if (this.pinned !== undefined) this.engine.timeline.unpin(this.pinned);
    this.pinned = v;
    if (v !== undefined) this.engine.timeline.pin(v);
  }

  /** Page 1 keeps the replica's file-format bytes (18–19): SQLite only ever sees them as 1. */
  private keepJournalMode(txn: WriteTxn): Map<number, Uint8Array> {
    const page1 = txn.pages.get(1);
    if (page1 === undefined) return txn.pages;
    const fixed = new Uint8Array(page1);
    fixed[18] = this.engine.journalBytes[0];
    fixed[19] = this.engine.journalBytes[1];
    const pages = new Map(txn.pages);
    pages.set(1, fixed);
    return pages;
  }

  private assertOpen(): void {
    if (this.closed) throw new VfsError("closed", "the connection is closed");
  }
}

function text(value: string): PragmaResult {
  return { kind: "value", value };
}

function parseBoolean(value: string, name: string): boolean {
  if (/^(1|true|on|yes)$/i.test(value.trim())) return true;
  if (/^(0|false|off|no)$/i.test(value.trim())) return false;
  throw new VfsError("invalid-config", `${name}: expected 0/1, true/false or on/off, got ${JSON.stringify(value)}`);
}
