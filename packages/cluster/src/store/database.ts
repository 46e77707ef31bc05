/**
 * One database of the store: its SQLite file, its LTX log (one file per TXID), its
 * position, and the checksum of every page. Commits and applies are serialised; each
 * writes its LTX file first, then the pages, then moves the checksums, so that a crash
 * anywhere is repaired at the next open by re-applying the LTX files after the durable
 * position (never by hashing the whole database).
 */
import { closeSync, existsSync, mkdirSync, openSync, rmSync } from "node:fs";
import { decodeLtx, encodeLtx, formatChecksum, formatTxid, pageChecksum } from "@sqlrep/ltx";
import { PageFile } from "@sqlrep/page-file";
import { LtxLog, silentLogger, type LogEntry, type Logger } from "@sqlrep/shipper";
import { ClusterError, describeError, isClusterError } from "../errors.js";
import { Mutex } from "../util/mutex.js";
import { ChecksumTable, type PageSum } from "./checksum-table.js";
import { checkPages, type CommitPage, type CommitPages } from "./commit-pages.js";
import { ChecksumHistory } from "./history.js";
import type { DatabaseIo } from "./io.js";
import { databaseFiles, type DatabaseFiles } from "./names.js";
import { OpenViews } from "./open-views.js";
import type { PageView } from "./page-view.js";
import { readPosition, writePositionAsync, type StoredPosition } from "./position-file.js";
import type { DatabasePosition } from "./position.js";
import type { CommitOptions, DatabaseChange, DatabaseOptions } from "./database-options.js";
import { checkContinues, checkExpected, checkPostApply } from "./continuity.js";
import { toApplyTransaction } from "./apply-transaction.js";
import { fsyncPathAsync } from "./fsync.js";
import { LogSync } from "./log-sync.js";
import { writeInPlace } from "./page-writes.js";
import { recoverDatabase } from "./recovery.js";

export type { CommitOptions, DatabaseChange, DatabaseOptions } from "./database-options.js";

export type { DatabasePosition } from "./position.js";

/**
 * A database of the store. Open with {@link Database.open}; `commit` on a primary,
 * `applyLtx` / `restoreSnapshot` on a replica, `openView` for consistent reads.
 */
export class Database {
  readonly name: string;
  readonly files: DatabaseFiles;
  readonly log: LtxLog;
  private readonly io: DatabaseIo | undefined;
  private readonly logger: Logger;
  private table: ChecksumTable;
  private readonly history: ChecksumHistory;
  private readonly mutex = new Mutex();
  private positionValue: DatabasePosition;
  private pageSizeValue: number;
  private writer: PageFile | undefined;
  private readonly views = new OpenViews();
  private readonly listeners = new Set<(change: DatabaseChange) => void>();
  private failure: ClusterError | undefined;
  /** The position last written to the position file (what a crash returns to, before redo). */
  private durable: DatabasePosition;
  /** The LTX files appended since the last fsync of the log. */
  private readonly logSync: LogSync;
  private closed = false;

  private constructor(options: DatabaseOptions, files: DatabaseFiles, log: LtxLog, table: ChecksumTable, history: ChecksumHistory, stored: StoredPosition) {
    this.name = options.name;
    this.files = files;
    this.log = log;
    this.io = options.io;
    this.logger = options.logger ?? silentLogger;
    this.table = table;
    this.history = history;
    this.pageSizeValue = stored.pageSize;
    this.positionValue = { txid: stored.txid, checksum: stored.txid === 0 ? 0n : stored.checksum, timestamp: stored.timestamp, epoch: stored.epoch };
    this.durable = this.positionValue;
    this.logSync = new LogSync(`${files.dir}/ltx`);
  }

  /**
   * Opens a database: reads its position, checksum table and log; re-applies the LTX
   * files past the durable position (a crash between a commit and the next sync);
   * checks that the checksum table adds up to the position. Does not read the database
   * file unless that check fails (then it hashes it once and says so).
   */
  static async open(options: DatabaseOptions): Promise<Database> {
    const files = databaseFiles(options.dataDir, options.name);
    let stored = readPosition(files.pos);
    if (stored === undefined) {
      if (!options.create && !existsSync(files.database)) throw new ClusterError("not-found", `no database ${options.name} in ${options.dataDir}`, { db: options.name });
      mkdirSync(files.dir, { recursive: true });
      closeSync(openSync(files.database, "a"));
      stored = { txid: 0, checksum: 0n, timestamp: 0, epoch: 0, pageSize: 4096, commit: 0 };
    }
    const log = LtxLog.open(files.dir, { maxBytes: options.maxLogBytes });
    const pageSize = stored.txid > 0 ? stored.pageSize : (log.entries[0]?.pageSize ?? stored.pageSize);
    const table = ChecksumTable.open(files.checksums, pageSize);
    const history = ChecksumHistory.open(files.history);
    const db = new Database(options, files, log, table, history, { ...stored, pageSize });
    await recoverDatabase(db.recoveryAccess(), stored);
    return db;
  }

  /** Where the database is. */
  get position(): DatabasePosition {
    return this.positionValue;
  }

  /** The page size (4096 until the first transaction says otherwise). */
  get pageSize(): number {
    return this.pageSizeValue;
  }

  /** Size in pages. */
  get pageCount(): number {
    return this.table.commit;
  }

  /** The position last made durable (what a crash returns to before re-applying the log). */
  get durablePosition(): DatabasePosition {
    return this.durable;
  }

  /** The page checksums as they are now (a verification compares a view of this state with them). */
  frozenChecksums(): (pgno: number) => bigint {
    return this.table.frozen();
  }

  /** Why the database is refused (a failed verification or write), if it is. */
  get failed(): ClusterError | undefined {
    return this.failure;
  }

  /**
   * The checksum after `txid`, when this node knows it (its history of recent TXIDs).
   * Never past the position: whatever the history holds there is from a lineage this
   * node left (a crash whose log was cut), and a rejoining node that matched it would
   * take its own divergent transactions for shared ones and keep nothing of them.
   */
  checksumAt(txid: number): bigint | undefined {
    if (txid === this.positionValue.txid) return this.positionValue.checksum;
    if (txid > this.positionValue.txid) return undefined;
    return this.history.get(txid) ?? this.log.checksumAt(txid);
  }

  /** The oldest TXID whose checksum {@link checksumAt} can tell. */
  get historyStart(): number {
    return this.history.first;
  }

  /** Calls `listener` on every change; returns the unsubscribe. */
  subscribe(listener: (change: DatabaseChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Runs `fn` with the database's lock held (commits and applies wait). */
  exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    return this.mutex.run(fn);
  }

  /**
   * Commits one transaction: checks the pages, writes the LTX file at TXID + 1 (pre- and
   * post-apply checksums), writes the pages into the database (unless `written`), moves
   * the checksums and the position, tells subscribers. Resolves with the new position.
   */
  commit(pages: CommitPages, commit: number, options: CommitOptions = {}): Promise<DatabasePosition> {
    return this.mutex.run(() => this.commitNow(pages, commit, options));
  }

  /** {@link commit} for callers holding the lock (`exclusive`). */
  async commitNow(pages: CommitPages, commit: number, options: CommitOptions = {}): Promise<DatabasePosition> {
    this.checkUsable();
    options.guard?.();
    const checked = this.check(pages, commit);
    if (this.positionValue.txid === 0) this.startPageSize(checked.pageSize);
    const timestamp = options.timestamp ?? Date.now();
    const post = this.table.preview(checked.sums, commit);
    checkExpected(this.name, options.expect, this.positionValue, post);
    const entry = this.log.append({ pageSize: checked.pageSize, commit, timestamp }, checked.pages, post);
    if (options.durable) this.logSync.syncFile(entry.file);
    else this.logSync.add(entry.file);
    // Through a mount, pages the engine writes itself (a transaction forwarded by a replica
    // holding the halt lock) go through its locks and cache invalidation, as applies do.
    if (!options.written) await this.writePages(checked.pages, commit, this.io !== undefined ? "apply" : "direct");
    return this.advance(checked.sums, commit, { txid: entry.maxTXID, checksum: post, timestamp, epoch: options.epoch ?? this.positionValue.epoch }, entry);
  }

  /**
   * The LTX file `commit` would write next, without writing anything (a replica
   * forwards it to the primary under the halt lock, then commits it itself).
   */
  encodeTransaction(pages: CommitPages, commit: number, timestamp = Date.now()): { bytes: Uint8Array; txid: number; checksum: bigint } {
    this.checkUsable();
    const checked = this.check(pages, commit);
    const txid = this.positionValue.txid + 1;
    const checksum = this.table.preview(checked.sums, commit);
    const bytes = encodeLtx(
      { pageSize: checked.pageSize, commit, minTXID: txid, maxTXID: txid, timestamp, preApplyChecksum: txid === 1 ? 0n : this.positionValue.checksum },
      checked.pages,
      { postApplyChecksum: checksum },
    );
    return { bytes, txid, checksum };
  }

  private check(pages: CommitPages, commit: number) {
    const first = this.positionValue.txid === 0;
    return checkPages(this.name, pages, first ? undefined : this.pageSizeValue, commit, first ? 0 : this.table.commit);
  }

  /**
   * Applies an incremental LTX file a replica received (one TXID, the next one): checks
   * its TXID and pre-apply checksum against the position, and the checksum its pages
   * lead to against its post-apply checksum, before anything is written; then writes
   * its pages (through the mount's `apply` when there is one) and logs it.
   */
  applyLtx(bytes: Uint8Array, options: { epoch: number; file?: string }): Promise<DatabasePosition> {
    return this.mutex.run(async () => {
      this.checkUsable();
      const ltx = decodeLtx(bytes, { file: options.file });
      const h = ltx.header;
      checkContinues(this.name, h, this.positionValue, this.pageSizeValue);
      const pages: CommitPage[] = ltx.pages;
      const checked = checkPages(this.name, pages, this.positionValue.txid === 0 ? undefined : this.pageSizeValue, h.commit, this.table.commit);
      const post = this.table.preview(checked.sums, h.commit);
      checkPostApply(this.name, h, post, ltx.trailer.postApplyChecksum, options.file);
      const entry = this.log.append({ pageSize: h.pageSize, commit: h.commit, timestamp: h.timestamp }, checked.pages, post);
      this.logSync.add(entry.file);
      await this.writePages(checked.pages, h.commit, "apply");
      return this.advance(checked.sums, h.commit, { txid: h.maxTXID, checksum: post, timestamp: h.timestamp, epoch: options.epoch }, entry);
    });
  }

  /** A consistent view of the current state (the mount's when it has one, else copy-on-write over the file). */
  async openView(): Promise<PageView> {
    return this.mutex.run(() => this.openViewNow());
  }

  /** {@link openView} for callers that already hold the lock. */
  async openViewNow(): Promise<PageView> {
    this.checkUsable();
    const state = {
      txid: this.positionValue.txid,
      checksum: this.positionValue.checksum,
      pageSize: this.pageSizeValue,
      commit: this.table.commit,
      timestamp: this.positionValue.timestamp,
    };
    if (this.io?.openView !== undefined) return this.io.openView(this.name, state);
    await this.writer?.flush();
    return this.views.open(this.files.database, state);
  }

  /**
   * Makes the position durable: flushes and fsyncs the database file, the checksum
   * table and the LTX files, then replaces the position file. Up to here a crash
   * returns to the previous durable position and re-applies the LTX files after it.
   */
  async sync(): Promise<void> {
    // The LTX files first, without the lock: a second's worth of fsyncs held commits and
    // applies (and a handoff waiting for the lock) for hundreds of ms. Under the lock only
    // the files written meanwhile are left, then the database file, table and position.
    await this.syncLog();
    return this.mutex.run(() => this.syncNow());
  }

  /** {@link sync} for callers holding the lock. */
  async syncNow(): Promise<void> {
    if (this.closed) return;
    const pos = this.positionValue;
    await this.syncLog();
    if (pos.txid === this.durable.txid && pos.checksum === this.durable.checksum) return;
    if (this.writer !== undefined) await this.writer.sync();
    else if (this.io === undefined) await fsyncPathAsync(this.files.database);
    // On the thread pool: on the main thread these stalled every stream and API of the node.
    await this.table.syncAsync();
    await writePositionAsync(this.files.pos, { ...pos, checksum: pos.txid === 0 ? 0n : pos.checksum, pageSize: this.pageSizeValue, commit: this.table.commit });
    this.durable = pos;
  }

  /**
   * fsyncs the LTX files written since the last time (SQLite fsynced its WAL through a
   * mount). Resolves once every file appended before the call is durable, including
   * files an earlier call (without the lock) is still syncing.
   */
  syncLog(): Promise<void> {
    return this.logSync.sync();
  }

  /** Refuses the database from now on (a failed verification): commits, applies and views throw `error`. */
  fail(error: ClusterError): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.logger.error("database refused", { db: this.name, error: error.message });
    this.emit({ type: "failed", error });
  }

  /** Ends the refusal (the database was replaced by a verified snapshot). */
  clearFailure(): void {
    this.failure = undefined;
  }

  /** Syncs and closes every file. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.mutex.run(async () => {
      await this.syncNow().catch((err: unknown) => this.logger.warn("final sync failed", { db: this.name, error: describeError(err) }));
      this.closed = true;
      this.views.releaseAll();
      await this.writer?.close();
      this.writer = undefined;
      this.table.close();
      this.history.close();
    });
  }

  /** Closes and deletes every file of the database (a drop). */
  async remove(): Promise<void> {
    await this.close();
    rmSync(this.files.dir, { recursive: true, force: true });
  }

  // ------------------------------------------------------------------------------------
  // Internals shared with recovery and snapshot restore (same package).

  /** @internal What recovery needs to redo LTX files and rebuild the table. */
  recoveryAccess() {
    return {
      name: this.name,
      files: this.files,
      log: this.log,
      history: this.history,
      logger: this.logger,
      table: () => this.table,
      setTable: (table: ChecksumTable) => (this.table = table),
      pageSize: () => this.pageSizeValue,
      setPageSize: (size: number) => this.startPageSize(size),
      writePages: (pages: readonly CommitPage[], commit: number) => this.writePages(pages, commit, "redo"),
      setPosition: (pos: DatabasePosition, durable: boolean) => {
        this.positionValue = pos;
        if (durable) this.durable = pos;
      },
      sync: () => this.syncNow(),
      fail: (error: ClusterError) => this.fail(error),
    };
  }

  /** @internal For snapshot restore: the writer closes (the file is replaced), views are detached. */
  async detachFile(): Promise<void> {
    await this.writer?.close();
    this.writer = undefined;
    this.views.detachAll();
  }

  /** @internal Every view not yet past `pgno` keeps the page's current bytes. */
  preserve(pgnos: Iterable<number>): void {
    this.views.preserve(pgnos);
  }

  /** @internal After a snapshot restore: the new state, table and position, told to subscribers. */
  restored(table: ChecksumTable, position: DatabasePosition, pageSize: number): void {
    this.table.close();
    this.table = table;
    this.pageSizeValue = pageSize;
    this.positionValue = position;
    this.durable = position;
    this.logSync.clear();
    this.failure = undefined;
    this.emit({ type: "restored", position });
    this.emit({ type: "position", position, entry: undefined });
  }

  /** @internal The mount hooks, if any. */
  get mountIo(): DatabaseIo | undefined {
    return this.io;
  }

  private checkUsable(): void {
    if (this.closed) throw new ClusterError("closed", `database ${this.name} is closed`, { db: this.name });
    if (this.failure !== undefined) throw this.failure;
  }

  private startPageSize(pageSize: number): void {
    if (pageSize === this.pageSizeValue && this.table.pageSize === pageSize) return;
    this.pageSizeValue = pageSize;
    this.table.close();
    rmSync(this.files.checksums, { force: true });
    this.table = ChecksumTable.open(this.files.checksums, pageSize);
  }

  /**
   * Writes pages and the size into the database file: through the mount for a
   * replica's apply when there is one, else with the page writer (the old bytes of the
   * pages it overwrites go to open views first).
   */
  private async writePages(pages: readonly CommitPage[], commit: number, how: "direct" | "apply" | "redo"): Promise<void> {
    const oldCommit = this.table.commit;
    try {
      if (how === "apply" && this.io !== undefined) {
        this.preserve(pages.map((p) => p.pgno).filter((p) => p <= oldCommit));
        this.views.preserveCut(commit, oldCommit);
        await this.io.apply(this.name, toApplyTransaction(pages, commit, this.pageSizeValue));
        return;
      }
      this.writer ??= await PageFile.openInPlace(this.files.database, { pageSize: this.pageSizeValue });
      await writeInPlace(this.writer, this.files.database, pages, commit, oldCommit, this.pageSizeValue, how, {
        replacing: (pgno, data) => this.replacing(pgno, data),
        cut: () => this.views.preserveCut(commit, oldCommit),
      });
    } catch (err) {
      const error = isClusterError(err)
        ? err
        : new ClusterError("io", `${this.name}: writing pages into ${this.files.database} failed: ${describeError(err)}`, { cause: err, db: this.name, file: this.files.database });
      // The LTX file is written: the next open re-applies it. Until then the file is not the position.
      this.fail(error);
      throw error;
    }
  }

  /** `old` callback of the page writer: views keep the page; a page that is not what its checksum says makes the database suspect. */
  private replacing(pgno: number, data: Uint8Array): void {
    this.views.preservePage(pgno, data);
    const expected = this.table.get(pgno);
    if (expected === 0n) return;
    const actual = pageChecksum(pgno, data);
    if (actual !== expected) {
      this.emit({
        type: "suspect",
        message: `${this.files.database}: page ${pgno} had checksum ${formatChecksum(actual)} before it was overwritten, its table entry ${formatChecksum(expected)}`,
      });
    }
  }

  private advance(sums: readonly PageSum[], commit: number, position: DatabasePosition, entry: LogEntry | undefined): DatabasePosition {
    const post = this.table.apply(sums, commit);
    if (post !== position.checksum) {
      // Cannot happen unless the table was changed under us: refuse rather than serve a wrong state.
      this.fail(
        new ClusterError(
          "corrupt",
          `${this.name}: checksum table says ${formatChecksum(post)} after TXID ${formatTxid(position.txid)}, expected ${formatChecksum(position.checksum)}`,
          { db: this.name, file: this.files.checksums },
        ),
      );
    }
    this.history.append(position.txid, position.checksum);
    this.positionValue = position;
    this.emit({ type: "position", position, entry });
    return position;
  }

  private emit(change: DatabaseChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (err) {
        this.logger.error("database listener failed", { db: this.name, error: describeError(err) });
      }
    }
  }
}
