/**
 * The local log of one database: a directory of LTX files holding the changes not yet
 * uploaded everywhere, in TXID order. An engine stages into it (the backup engine from
 * the WAL, the cluster from its commits); every shipper uploads from it.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatChecksum, formatTxid, type LtxHeaderInit } from "@sqlrep/ltx";
import { ReplicaError } from "@sqlrep/replica";
import { entryName, loadFile, readLocalFile } from "./log-files.js";
import type { AppendInit, LogEntry, LogPosition } from "./log-entry.js";
import { ltxHeader, syncDir, writeLtxFile } from "./ltx-file-writer.js";
import { StagingJournal, walMarkOf, type StagedChange } from "./staging-journal.js";
import type { LogPage, WalMark } from "./log-types.js";

export type { AppendInit, LogEntry, LogPosition } from "./log-entry.js";
export type { LogPage, WalMark } from "./log-types.js";

/** Options of {@link LtxLog.open}. */
export interface LtxLogOptions {
  /** fsync every file and the directory (the cluster's commits); default false. */
  durable?: boolean;
  /**
   * Bytes of unreleased files kept at most (default 1 GiB): past it the oldest go, and a
   * replica still needing them continues with a snapshot. Bounds the disk a replica that
   * is down for hours can cost.
   */
  maxBytes?: number;
  /** Told when `maxBytes` forced files out. */
  onOverflow?: (dropped: LogEntry[]) => void;
}

const DEFAULT_MAX_BYTES = 1 << 30;
/** The staging journal's file name in `ltx/`. */
const JOURNAL = "staging.journal";
/** TXID → post-apply checksum pairs remembered after their files are gone (validation compares a replica with them). */
const HISTORY = 4096;

/**
 * A directory (`<dir>/ltx/`) of LTX files. TXIDs are allocated here, one per entry, in
 * order. Changes are staged (`stage`) into an append-only journal right after each
 * commit; `seal` turns what is staged into entries at the next TXIDs when a shipper is
 * about to upload — so each upload is one TXID, as in Litestream. Writes are
 * synchronous (the feeder calls them under SQLite's locks, where a thread-pool round
 * trip would cost more than the write) and not fsynced unless `durable`: a file lost to
 * a power cut costs a snapshot, never a wrong restore, since every file carries its
 * checksums. Files are written under a temp name and renamed.
 */
export class LtxLog {
  readonly dir: string;
  private readonly ltxDir: string;
  private readonly durable: boolean;
  private readonly maxBytes: number;
  private readonly onOverflow: ((dropped: LogEntry[]) => void) | undefined;
  private readonly list: LogEntry[] = [];
  private journal: StagingJournal | undefined;
  private notifying = false;
  private base: LogPosition | undefined;
  private bytes = 0;
  private readonly consumers = new Map<string, number>();
  private readonly listeners = new Set<() => void>();
  private readonly history = new Map<number, bigint>();

  private constructor(dir: string, options: LtxLogOptions) {
    this.dir = dir;
    this.ltxDir = join(dir, "ltx");
    this.durable = options.durable ?? false;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.onOverflow = options.onOverflow;
  }

  /**
   * Opens (creating) the log in `dir`: temp files are removed, every file's header and
   * trailer read. A file whose ends cannot be read (cut short by a crash) is removed
   * with every later one, since the chain cannot be trusted past it. The staging
   * journal keeps the changes that verify, if it sits on the last entry.
   */
  static open(dir: string, options: LtxLogOptions = {}): LtxLog {
    const log = new LtxLog(dir, options);
    mkdirSync(log.ltxDir, { recursive: true });
    const names = readdirSync(log.ltxDir);
    for (const name of names.filter((n) => n.endsWith(".tmp"))) rmSync(join(log.ltxDir, name), { force: true });
    const found = names.flatMap((name) => {
      const loaded = loadFile(log.ltxDir, name);
      return loaded === undefined ? [] : [loaded];
    });
    found.sort((a, b) => a.minTXID - b.minTXID);
    let broken = false;
    for (const f of found) {
      const last = log.list[log.list.length - 1];
      if (broken || f.entry === null || (last !== undefined && f.entry.minTXID <= last.maxTXID)) {
        broken = true;
        rmSync(f.path, { force: true });
        continue;
      }
      log.push(f.entry);
    }
    // Without an entry under it, staged changes have no TXID to continue from: dropped.
    const journal = StagingJournal.open(join(log.ltxDir, JOURNAL));
    const tip = log.tip;
    if (journal !== undefined && tip !== undefined && journal.preApply === tip.postApply && journal.pageSize === tip.pageSize) log.journal = journal;
    else journal?.remove();
    return log;
  }

  /** The newest sealed state (the last entry, else the base), or undefined. */
  get tip(): LogPosition | undefined {
    const last = this.list[this.list.length - 1];
    if (last === undefined) return this.base;
    return { txid: last.maxTXID, postApply: last.postApply, commit: last.commit, pageSize: last.pageSize };
  }

  /** The newest state staged: after the last staged change (its TXID: the next one sealing gives), else the tip. */
  get head(): (LogPosition & { wal?: WalMark | undefined }) | undefined {
    const change = this.journal?.staged[this.journal.staged.length - 1];
    if (change === undefined) {
      const last = this.list[this.list.length - 1];
      return last === undefined ? this.base : { txid: last.maxTXID, postApply: last.postApply, commit: last.commit, pageSize: last.pageSize, wal: last.wal };
    }
    return { txid: this.nextTXID, postApply: change.postApply, commit: change.commit, pageSize: this.journal!.pageSize, wal: walMarkOf(change) };
  }

  /** The newest entry, if any. */
  get last(): LogEntry | undefined {
    return this.list[this.list.length - 1];
  }

  /** Every sealed entry, oldest first. */
  get entries(): readonly LogEntry[] {
    return this.list;
  }

  /** Changes staged and not sealed yet. */
  get staged(): number {
    return this.journal?.staged.length ?? 0;
  }

  /** When the oldest staged change was staged (ms), undefined when none is. */
  get stagedSince(): number | undefined {
    return this.journal?.staged[0]?.timestamp;
  }

  /** Bytes of the files in the log (the staging journal included). */
  get size(): number {
    return this.bytes + (this.journal?.bytes ?? 0);
  }

  /** The TXID the first staged change gets when sealed. */
  private get nextTXID(): number {
    return (this.tip?.txid ?? 0) + 1;
  }

  /**
   * Where an empty log starts: the state the feeder found the database in (a replica's
   * last state it matched). Not persisted: a feeder establishes it again at every start.
   */
  setBase(position: LogPosition): void {
    // An entry at TXID 1 would be a snapshot: a log starts at a TXID ≥ 1 (else with a lineage break).
    if (!Number.isSafeInteger(position.txid) || position.txid < 1)
      throw new ReplicaError("invalid-config", `a log's base is a TXID ≥ 1, got ${position.txid}: start an empty database's log with appendBreak`);
    if (this.list.length > 0) throw new ReplicaError("invalid-config", `the log in ${this.dir} is not empty: its base is its first entry`);
    this.base = position;
    this.remember(position.txid, position.postApply);
  }

  /** Entries that end after `txid`, oldest first (the first may start before `txid + 1`). */
  after(txid: number): LogEntry[] {
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.list[mid]!.maxTXID <= txid) lo = mid + 1;
      else hi = mid;
    }
    return this.list.slice(lo);
  }

  /** The database checksum the log knows for exactly `txid` (recent TXIDs, even once their files are gone). */
  checksumAt(txid: number): bigint | undefined {
    return this.history.get(txid);
  }

  /**
   * Stages a change: its pages (ascending, the lock page left out) and post-apply
   * checksum (or asked once every page was read: a throw while reading leaves nothing)
   * go to the staging journal, on top of the head. `seal` makes entries of them.
   *
   * A change that grows the database must carry every page past its old size: sealing
   * merges changes by taking the newest copy of each page, so after a shrink and a
   * regrowth a page the change leaves out would come from before the shrink (the WAL
   * stager holds to this; SQLite writes every page it adds). Staged changes count
   * against `maxBytes`: past it they are sealed, so entries can be dropped.
   */
  stage(init: AppendInit, pages: Iterable<LogPage & { checksum?: bigint }>, postApply: bigint | (() => bigint)): void {
    const head = this.requireHead();
    if (this.journal === undefined) this.journal = StagingJournal.create(join(this.ltxDir, JOURNAL), init.pageSize, head.postApply);
    else if (this.journal.staged.length === 0 && (this.journal.preApply !== head.postApply || this.journal.pageSize !== init.pageSize))
      this.journal.reset(init.pageSize, head.postApply);
    if (init.pageSize !== this.journal.pageSize) throw new ReplicaError("invalid-config", `page size ${init.pageSize} differs from the staged changes' ${this.journal.pageSize}`);
    this.journal.append(
      {
        commit: init.commit,
        postApply,
        timestamp: init.timestamp,
        walOffset: init.wal?.offset ?? 0,
        walSize: init.wal?.size ?? 0,
        salt1: init.wal?.salt1 ?? 0,
        salt2: init.wal?.salt2 ?? 0,
        transactions: init.transactions ?? 0,
      },
      pages,
    );
    // Staged changes count against the log's bound too (an outage would grow them forever).
    if (this.bytes + this.journal.bytes > this.maxBytes) this.seal();
    this.notify();
  }

  /**
   * Makes what is staged entries at the next TXIDs: as many changes per entry as fit in
   * `maxBytes` of WAL (at least one, never split), each written as one LTX file holding
   * the newest copy of every page. Returns the last entry made, undefined when nothing
   * was staged.
   */
  seal(maxBytes = Number.POSITIVE_INFINITY): LogEntry | undefined {
    const journal = this.journal;
    if (journal === undefined || journal.staged.length === 0) return undefined;
    const changes = [...journal.staged];
    let made: LogEntry | undefined;
    let pre = journal.preApply;
    for (let i = 0; i < changes.length; ) {
      let n = 1;
      let bytes = changes[i]!.walSize;
      while (i + n < changes.length && bytes + changes[i + n]!.walSize <= maxBytes) bytes += changes[i + n++]!.walSize;
      made = this.sealChanges(journal, changes.slice(i, i + n), pre);
      pre = made.postApply;
      i += n;
    }
    journal.reset(journal.pageSize, made!.postApply);
    return made;
  }

  /** One entry from staged changes: the newest copy of each page, under one header. */
  private sealChanges(journal: StagingJournal, changes: readonly StagedChange[], preApply: bigint): LogEntry {
    const first = changes[0]!;
    const last = changes[changes.length - 1]!;
    const txid = this.nextTXID;
    const newest = new Map<number, number>();
    for (const c of changes) for (const [pgno, offset] of c.pages) newest.set(pgno, offset);
    const pgnos = [...newest.keys()].filter((p) => p <= last.commit).sort((a, b) => a - b);
    // The WAL range of the changes together, when they come from one WAL (a resume hint).
    const oneWal = first.walOffset > 0 && changes.every((c) => c.salt1 === last.salt1 && c.salt2 === last.salt2 && c.walOffset > 0);
    const walOffset = oneWal ? first.walOffset : last.walOffset;
    const init: AppendInit = {
      pageSize: journal.pageSize,
      commit: last.commit,
      timestamp: last.timestamp,
      wal: last.walOffset > 0 ? { offset: walOffset, size: last.walOffset + last.walSize - walOffset, salt1: last.salt1, salt2: last.salt2 } : undefined,
    };
    const path = join(this.ltxDir, entryName(txid, txid));
    const pages = (function* () {
      for (const pgno of pgnos) yield { pgno, data: journal.readPage(newest.get(pgno)!) };
    })();
    const size = writeLtxFile(this.durable, path, ltxHeader(init, txid, txid, preApply), pages, () => last.postApply);
    const transactions = changes.reduce((n, c) => n + c.transactions, 0);
    return this.added({
      minTXID: txid,
      maxTXID: txid,
      preApply,
      postApply: last.postApply,
      commit: last.commit,
      pageSize: journal.pageSize,
      timestamp: last.timestamp,
      size,
      file: path,
      wal: walMarkOf(last),
      transactions,
    });
  }

  /**
   * Appends a sealed entry at once: one file at the next TXID (the cluster's commits,
   * each its own TXID). Staged parts are sealed first. On a log with neither entries
   * nor a base the entry is TXID 1, a snapshot: `pages` must then be every page.
   */
  append(init: AppendInit, pages: Iterable<LogPage>, postApply: bigint | (() => bigint)): LogEntry {
    this.seal();
    const tip = this.head;
    const txid = (tip?.txid ?? 0) + 1;
    const preApply = tip === undefined ? 0n : tip.postApply;
    const path = join(this.ltxDir, entryName(txid, txid));
    let post: bigint = 0n;
    const size = writeLtxFile(this.durable, path, ltxHeader(init, txid, txid, preApply), pages, () => (post = typeof postApply === "bigint" ? postApply : postApply()));
    const wal = init.wal === undefined ? undefined : { offset: init.wal.offset + init.wal.size, salt1: init.wal.salt1, salt2: init.wal.salt2 };
    return this.added({
      minTXID: txid,
      maxTXID: txid,
      preApply,
      postApply: post,
      commit: init.commit,
      pageSize: init.pageSize,
      timestamp: init.timestamp,
      size,
      file: path,
      wal,
      transactions: init.transactions,
    });
  }

  /**
   * Starts over (the database was replaced from elsewhere: a snapshot a replica
   * received): every entry and staged change is removed, the checksums remembered are
   * forgotten (they belong to the old lineage), and the log continues from `position`
   * (its base, as `setBase`), or from nothing (the next entry is TXID 1). Consumers stay
   * registered; what they had not released is gone, so their next pass snapshots.
   */
  reset(position: LogPosition | undefined): void {
    this.journal?.remove();
    this.journal = undefined;
    this.drop(this.list.length);
    this.history.clear();
    this.base = undefined;
    if (position !== undefined) this.setBase(position);
    this.notify();
  }

  /**
   * Moves the TXID to `txid` without changing the database: one file with no pages
   * covering tip + 1 … `txid` (what is staged is sealed first). A shipper that finds its
   * replica already holds files up to `txid − 1` that are not ours needs a snapshot at a
   * TXID no file there has; every other replica uploads this file and stays contiguous.
   */
  advance(txid: number, timestamp: number): LogEntry | undefined {
    this.seal();
    const tip = this.requireHead();
    if (txid <= tip.txid) return undefined;
    const path = join(this.ltxDir, entryName(tip.txid + 1, txid));
    const header: LtxHeaderInit = { pageSize: tip.pageSize, commit: tip.commit, minTXID: tip.txid + 1, maxTXID: txid, timestamp, preApplyChecksum: tip.postApply };
    const size = writeLtxFile(this.durable, path, header, [], () => tip.postApply);
    return this.added({
      minTXID: tip.txid + 1,
      maxTXID: txid,
      preApply: tip.postApply,
      postApply: tip.postApply,
      commit: tip.commit,
      pageSize: tip.pageSize,
      timestamp,
      size,
      file: path,
      transactions: 0,
    });
  }

  /**
   * A lineage break at TXID `max(tip + 1, atLeast)` (what is staged is sealed first: it is
   * real history): the database is now in the state described (its whole checksum,
   * computed from what is in it), unrelated to before. Every replica snapshots it.
   */
  appendBreak(state: { commit: number; pageSize: number; postApply: bigint; timestamp: number; wal?: WalMark | undefined }, reason: string, atLeast = 0): LogEntry {
    this.seal();
    const txid = Math.max((this.tip?.txid ?? 0) + 1, atLeast, 1);
    const path = join(this.ltxDir, entryName(txid, txid).replace(/\.ltx$/, ".break"));
    const json = JSON.stringify({ reason, postApply: formatChecksum(state.postApply), commit: state.commit, pageSize: state.pageSize, timestamp: state.timestamp, wal: state.wal });
    writeFileSync(`${path}.tmp`, json);
    renameSync(`${path}.tmp`, path);
    if (this.durable) syncDir(this.ltxDir);
    return this.added({
      minTXID: txid,
      maxTXID: txid,
      preApply: 0n,
      postApply: state.postApply,
      commit: state.commit,
      pageSize: state.pageSize,
      timestamp: state.timestamp,
      size: 0,
      file: path,
      lineage: reason,
      wal: state.wal,
    });
  }

  /** The bytes of an entry's file. Throws ReplicaError("not-found") once it is gone. */
  read(entry: LogEntry): AsyncIterable<Uint8Array> {
    if (entry.lineage !== undefined) throw new ReplicaError("invalid-config", `TXID ${formatTxid(entry.minTXID)} is a lineage break: it has no file`);
    return readLocalFile(entry.file);
  }

  /** Calls `listener` after every stage and append; returns the unsubscribe. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A consumer (a shipper) joins: entries after `txid` are kept for it until it releases them. */
  register(consumer: string, txid: number): void {
    this.consumers.set(consumer, txid);
  }

  /** A consumer leaves: it no longer holds anything. */
  unregister(consumer: string): void {
    this.consumers.delete(consumer);
    this.prune();
  }

  /** `consumer` has what it needs up to `txid` (uploaded): files every consumer has go. */
  release(consumer: string, txid: number): void {
    this.consumers.set(consumer, Math.max(txid, this.consumers.get(consumer) ?? 0));
    this.prune();
  }

  private prune(): void {
    if (this.consumers.size === 0) return;
    const upTo = Math.min(...this.consumers.values());
    let n = 0;
    // The last entry stays: it names the tip (and its WAL mark) after a restart.
    while (n < this.list.length - 1 && this.list[n]!.maxTXID <= upTo) n++;
    this.drop(n);
  }

  private drop(n: number): LogEntry[] {
    const dropped = this.list.splice(0, n);
    for (const entry of dropped) {
      this.bytes -= entry.size;
      rmSync(entry.file, { force: true });
    }
    return dropped;
  }

  private requireHead(): LogPosition {
    const head = this.head;
    if (head === undefined) throw new ReplicaError("invalid-config", `the log in ${this.dir} has no base: set one, or append a lineage break first`);
    return head;
  }

  private added(entry: LogEntry): LogEntry {
    this.push(entry);
    if (this.bytes > this.maxBytes) {
      let n = 0;
      let bytes = this.bytes;
      while (n < this.list.length - 1 && bytes > this.maxBytes) bytes -= this.list[n++]!.size;
      const dropped = this.drop(n);
      if (dropped.length > 0) this.onOverflow?.(dropped);
    }
    this.notify();
    return entry;
  }

  /**
   * Listeners hear of changes after the current call returns (a microtask): one of them
   * (a shipper) stages or seals in turn, which must never run inside a stage or seal
   * that has not finished (its feeder's cursor has not moved yet).
   */
  private notify(): void {
    if (this.notifying) return;
    this.notifying = true;
    queueMicrotask(() => {
      this.notifying = false;
      for (const listener of this.listeners) listener();
    });
  }

  private push(entry: LogEntry): void {
    this.list.push(entry);
    this.bytes += entry.size;
    // The state before it too: once older entries are released, a replica whose tip is
    // that state is still recognised as ours on reopen.
    if (entry.lineage === undefined && entry.minTXID > 1) this.remember(entry.minTXID - 1, entry.preApply);
    this.remember(entry.maxTXID, entry.postApply);
  }

  private remember(txid: number, postApply: bigint): void {
    this.history.set(txid, postApply);
    if (this.history.size > HISTORY) this.history.delete(this.history.keys().next().value!);
  }
}
