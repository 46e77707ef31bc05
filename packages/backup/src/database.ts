import { statSync } from "node:fs";
import { basename, dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import { walTransactionsSync, WAL_FRAME_HEADER_SIZE, WAL_HEADER_SIZE, type WalHeader } from "@sqlrep/wal";
import { BackupError, describeError } from "./errors.js";
import type { CheckpointEvent } from "./events.js";
import { FileSource } from "./file-source.js";
import { MeteredReplicaClient } from "./metered-client.js";
import type { ResolvedDatabaseOptions } from "./options.js";
import type { PageChecksums } from "./page-checksums.js";
import { databaseFileChecksums } from "./resume.js";
import { RwLock } from "./rw-lock.js";
import type { Timer, WatchedFile } from "./scheduler.js";
import { ReplicaStream, toBackupError, type EngineServices, type StreamHost, type SyncResult } from "./stream.js";
import { readHeader, type WalCursor } from "./wal-follow.js";
import { framesToCheckpoint, readWalIndex } from "./wal-index.js";

type Connection = Database.Database;
type CheckpointMode = CheckpointEvent["mode"];
/** What `PRAGMA wal_checkpoint` answers. */
type CheckpointResult = { busy: number; log: number; checkpointed: number };

/** How long after a commit is noticed the WAL is read, so the frames of one burst go into one file. */
export const COALESCE_MS = 5;
/** A checkpoint that could not run (busy, replicas behind) is not tried again sooner than this. */
const CHECKPOINT_RETRY_MS = 1000;
/** How long a checkpoint holding the write lock waits at most for replicas to upload what is left. */
const CATCH_UP_MS = 5000;
/** Delay of the extra read-transaction hand-off after another connection's checkpoint. */
const HANDOFF_FOLLOW_UP_MS = 20;
/** How often to try for the write lock while waiting for it. */
const LOCK_POLL_MS = 5;

/** The status of one replica of a database. */
export interface ReplicaStatus {
  name: string;
  /** The client's type: "file", "s3", … */
  type: string;
  location: string;
  /** The replica's TXID. */
  txid: number;
  /** Age of the oldest committed transaction not yet uploaded, ms; 0 when caught up. */
  lagMs: number;
  lastSyncAt?: Date | undefined;
  /** The last sync error, until a sync succeeds. */
  lastError?: string | undefined;
  lastVerifiedAt?: Date | undefined;
  /** Why the last validation failed (a broken checksum chain, or a checksum the database never had), until one succeeds. */
  validationError?: string | undefined;
}

/** The status of one database. */
export interface DatabaseStatus {
  path: string;
  /**
   * "replicating", or "waiting" while the database file does not exist yet (or is not in
   * WAL mode yet) — Litestream likewise waits for an application to create its database.
   */
  state: "replicating" | "waiting";
  /** What a waiting database waits for. */
  waitingFor?: string | undefined;
  pageSize: number;
  /** Size of the database file, bytes. */
  dbSize: number;
  /** Size of the `-wal` file, bytes. */
  walSize: number;
  /** The highest TXID written to any replica of the database. */
  localTXID: number;
  lastCheckpointAt?: Date | undefined;
  replicas: ReplicaStatus[];
}

/**
 * One database under replication: its SQLite connections (two readers that take turns
 * holding the read transaction, a writer used only to take the write lock, a
 * checkpointer), its WAL and database files, its replica streams, and the checkpoints
 * the engine owns.
 */
export class TrackedDatabase implements StreamHost, WatchedFile {
  readonly path: string;
  readonly dir: string;
  readonly file: string;
  readonly wal: FileSource;
  readonly db: FileSource;
  /** SQLite's WAL index: where the WAL ends and how much of it is checkpointed, right now. */
  private readonly shm: FileSource;
  readonly lock = new RwLock();
  readonly streams: ReplicaStream[];
  pageSize = 0;
  readerEpoch = 0;
  lastCheckpointAt: Date | undefined;

  private readonly abort = new AbortController();
  private readers: [Connection, Connection] | undefined;
  private active = 0;
  private writer: Connection | undefined;
  private checkpointer: Connection | undefined;
  private readonly readStatements = new Map<Connection, Database.Statement>();
  private coalesceTimer: Timer | undefined;
  private pollTimer: Timer | undefined;
  private lastWalStat = "";
  private maintaining = false;
  private maintainAgain = false;
  private checkpointing = false;
  private startedAt = Date.now();
  private lastCheckpointTry = 0;
  private baseCache: Promise<PageChecksums> | undefined;
  private baseCacheOpen = true;
  private walHighWater = { salt1: -1, salt2: -1, offset: 0 };
  private stopped = false;
  private lastHandoffDbStat = "";
  private followUp: Timer | undefined;

  constructor(
    readonly options: ResolvedDatabaseOptions,
    readonly services: EngineServices,
  ) {
    this.path = options.path;
    this.dir = dirname(this.path);
    this.file = basename(this.path);
    this.wal = new FileSource(`${this.path}-wal`);
    this.db = new FileSource(this.path);
    this.shm = new FileSource(`${this.path}-shm`);
    this.streams = options.replicas.map(
      (r) => new ReplicaStream(this, { name: r.name, client: new MeteredReplicaClient(r.client, services.metrics), syncInterval: r.syncInterval }),
    );
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  private get fields(): Record<string, unknown> {
    return { db: this.path };
  }

  /**
   * Opens the connections and starts the read transaction. Throws BackupError
   * "not-found" for a missing file, "not-wal" for a database in rollback-journal mode,
   * "open" when SQLite cannot open it.
   */
  open(): void {
    try {
      const st = statSync(this.path);
      if (!st.isFile()) throw new BackupError("not-found", `${this.path} is not a file`, { path: this.path });
    } catch (err) {
      if (err instanceof BackupError) throw err;
      throw new BackupError("not-found", `database ${this.path} does not exist`, { path: this.path, cause: err });
    }
    const opened: Connection[] = [];
    try {
      const connect = (timeout: number): Connection => {
        const c = new Database(this.path, { fileMustExist: true, timeout });
        opened.push(c);
        c.pragma("wal_autocheckpoint = 0");
        return c;
      };
      const first = connect(this.options.busyTimeout);
      const mode = String(first.pragma("journal_mode", { simple: true }));
      if (mode !== "wal") {
        throw new BackupError(
          "not-wal",
          `${this.path} is in journal mode "${mode}", not WAL: switch it once with \`PRAGMA journal_mode=WAL\` (e.g. \`sqlite3 ${this.path} "PRAGMA journal_mode=WAL"\`); the setting is persistent`,
          { path: this.path },
        );
      }
      this.pageSize = Number(first.pragma("page_size", { simple: true }));
      this.readers = [first, connect(this.options.busyTimeout)];
      // The writer and checkpointer never wait inside SQLite (that would block the event
      // loop): waits are polled asynchronously up to busyTimeout.
      this.writer = connect(0);
      this.checkpointer = connect(0);
      this.beginRead(first);
    } catch (err) {
      for (const c of opened) c.close();
      this.readers = undefined;
      if (err instanceof BackupError) throw err;
      throw new BackupError("open", `cannot open ${this.path}: ${describeError(err)}`, { path: this.path, cause: err });
    }
  }

  /** Resumes (or snapshots) every replica and runs a first sync; failures are retried in the background. */
  async start(): Promise<void> {
    this.startedAt = Date.now();
    try {
      await Promise.all(this.streams.map((s) => s.start()));
    } finally {
      this.baseCacheOpen = false;
      this.baseCache = undefined;
    }
    this.poll();
  }

  onChange(): void {
    this.onWalChange();
  }

  /** Events matter unless every replica already has a pass scheduled (throttled or backing off). */
  wantsEvents(): boolean {
    return !this.stopped && !this.streams.every((s) => s.scheduled);
  }

  /** Watching resumed after a pause: anything written since the last pass read the WAL is picked up now. */
  onResume(): void {
    for (const s of this.streams) if (s.framesFollow()) s.requestSync();
  }

  streamScheduled(): void {
    if (!this.stopped) this.services.interestChanged(this.dir);
  }

  /** The WAL or the database file changed (file-system event): sync after the coalescing window. */
  onWalChange(): void {
    if (this.stopped || this.coalesceTimer !== undefined) return;
    this.coalesceTimer = this.services.scheduler.schedule(COALESCE_MS, () => {
      this.coalesceTimer = undefined;
      for (const s of this.streams) s.requestSync();
    });
  }

  /** Syncs every replica now and waits for the uploads. */
  async sync(signal?: AbortSignal): Promise<SyncResult[]> {
    const results = await Promise.allSettled(this.streams.map((s) => s.syncNow(signal)));
    const failed = results.flatMap((r, i) => (r.status === "rejected" ? [{ name: this.streams[i]!.name, error: r.reason as unknown }] : []));
    if (failed.length > 0) {
      const aborted = failed.find((f) => f.error instanceof BackupError && f.error.code === "aborted");
      if (aborted !== undefined) throw aborted.error;
      throw new BackupError("sync", `${this.path}: ${failed.map((f) => `replica ${f.name}: ${describeError(f.error)}`).join("; ")}`, {
        path: this.path,
        replica: failed.length === 1 ? failed[0]!.name : undefined,
        retryable: true,
        cause: failed[0]!.error,
      });
    }
    return results.map((r) => (r as PromiseFulfilledResult<SyncResult>).value);
  }

  status(): DatabaseStatus {
    return {
      path: this.path,
      state: "replicating",
      pageSize: this.pageSize,
      dbSize: this.db.size,
      walSize: this.wal.size,
      localTXID: Math.max(0, ...this.streams.map((s) => s.txid)),
      lastCheckpointAt: this.lastCheckpointAt,
      replicas: this.streams.map((s) => ({
        name: s.name,
        type: s.client.type,
        location: s.client.location,
        txid: s.txid,
        lagMs: s.lagMs,
        lastSyncAt: s.lastSyncAt,
        lastError: s.lastError,
        lastVerifiedAt: s.lastVerifiedAt,
        validationError: s.validationError,
      })),
    };
  }

  /** Sets the gauges of this database before the metrics are rendered. */
  updateGauges(): void {
    const { metrics } = this.services;
    const db = { db: this.path };
    metrics.dbSize.set(db, this.db.size);
    metrics.walSize.set(db, this.wal.size);
    metrics.txid.set(db, Math.max(0, ...this.streams.map((s) => s.txid)));
    for (const s of this.streams) {
      const labels = { db: this.path, name: s.name };
      metrics.replicaTxid.set(labels, s.txid);
      metrics.replicaLag.set(labels, s.lagMs / 1000);
    }
  }

  /**
   * Graceful stop: a final sync of everything committed (bounded by `timeoutMs`, then
   * in-flight uploads are aborted), then the connections are closed.
   */
  async stop(timeoutMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.coalesceTimer?.cancel();
    this.pollTimer?.cancel();
    const deadline = AbortSignal.timeout(Math.max(1, timeoutMs));
    const onTimeout = () => this.abort.abort(new BackupError("timeout", `final sync of ${this.path} did not finish within ${timeoutMs} ms`, { path: this.path }));
    deadline.addEventListener("abort", onTimeout, { once: true });
    try {
      await this.sync(this.abort.signal);
    } catch (err) {
      this.services.logger.warn("final sync failed", { ...this.fields, error: describeError(err) });
    } finally {
      deadline.removeEventListener("abort", onTimeout);
    }
    if (!this.abort.signal.aborted) this.abort.abort(new BackupError("closed", "the engine stopped", { path: this.path }));
    for (const s of this.streams) s.close();
    await Promise.all(this.streams.map((s) => s.drain()));
    this.close();
  }

  /** Closes connections and files at once (after `stop`, or when `start` fails). */
  close(): void {
    this.stopped = true;
    if (!this.abort.signal.aborted) this.abort.abort(new BackupError("closed", "the engine stopped", { path: this.path }));
    this.coalesceTimer?.cancel();
    this.pollTimer?.cancel();
    this.followUp?.cancel();
    for (const c of [this.checkpointer, this.writer]) c?.close();
    if (this.readers !== undefined) {
      const [a, b] = this.active === 0 ? this.readers : [this.readers[1], this.readers[0]];
      b.close();
      if (a.inTransaction) a.exec("COMMIT");
      a.close();
    }
    this.readers = this.writer = this.checkpointer = undefined;
    this.wal.close();
    this.db.close();
    this.shm.close();
  }

  baseChecksums(signal: AbortSignal): Promise<PageChecksums> {
    if (!this.baseCacheOpen) return databaseFileChecksums(this.db, this.pageSize, signal);
    this.baseCache ??= databaseFileChecksums(this.db, this.pageSize, signal);
    return this.baseCache;
  }

  walBytesSynced(header: WalHeader, from: number, to: number): void {
    const hw = this.walHighWater;
    let bytes: number;
    if (hw.salt1 === header.salt1 && hw.salt2 === header.salt2) {
      bytes = Math.max(0, to - Math.max(from, hw.offset));
      hw.offset = Math.max(hw.offset, to);
    } else {
      bytes = to - from;
      this.walHighWater = { salt1: header.salt1, salt2: header.salt2, offset: to };
    }
    if (bytes > 0) this.services.metrics.totalWalBytes.inc({ db: this.path }, bytes);
  }

  streamSettled(): void {
    if (this.stopped) return;
    this.services.interestChanged(this.dir);
    if (this.streams.every((s) => !s.busy)) void this.maintain();
  }

  /** The fallback poll: a stat of the WAL and the database file; also where interval checkpoints are noticed. */
  private poll(): void {
    if (this.stopped) return;
    const stat = `${statKey(this.wal.path)};${statKey(this.path)}`;
    if (stat !== this.lastWalStat) {
      if (this.lastWalStat !== "") this.onWalChange();
      this.lastWalStat = stat;
    } else if (this.streams.every((s) => s.idle) && this.checkpointMode() !== undefined) {
      void this.maintain();
    }
    this.pollTimer = this.services.scheduler.schedule(this.options.monitorInterval, () => this.poll());
  }

  /**
   * With every replica settled: hand the read transaction to the other reader (so other
   * connections' checkpoints can progress), then checkpoint if one is due.
   */
  private async maintain(): Promise<void> {
    if (this.maintaining) {
      this.maintainAgain = true;
      return;
    }
    this.maintaining = true;
    try {
      do {
        this.maintainAgain = false;
        await this.lock.withExclusive(async () => {
          if (this.stopped || this.readers === undefined) return;
          if (!this.readerHeld) this.reopenReader();
          else if (this.allCaughtUp()) this.handOffReader();
        });
      } while (this.maintainAgain && !this.stopped);
      // A replica about to sync runs a due checkpoint itself, with its upload inside
      // (`syncWithCheckpoint`); starting one here would upload the same commits twice.
      const mode = this.streams.some((s) => s.syncPending) ? undefined : this.checkpointMode();
      if (mode !== undefined) void this.checkpoint(mode);
    } catch (err) {
      this.services.logger.error("maintenance failed", { ...this.fields, error: describeError(err) });
    } finally {
      this.maintaining = false;
    }
  }

  /** Every replica reached the end of the WAL since the current read transaction began. */
  private allCaughtUp(): boolean {
    return this.streams.every((s) => !s.busy && s.caughtUpEpoch === this.readerEpoch);
  }

  private beginRead(conn: Connection): void {
    let stmt = this.readStatements.get(conn);
    if (stmt === undefined) {
      stmt = conn.prepare("SELECT count(*) FROM sqlite_master");
      this.readStatements.set(conn, stmt);
    }
    conn.exec("BEGIN");
    try {
      stmt.get();
    } catch (err) {
      conn.exec("ROLLBACK");
      throw err;
    }
  }

  /** Whether the read transaction is open. */
  get readerHeld(): boolean {
    return this.readers?.[this.active]?.inTransaction === true;
  }

  /**
   * Opens the read transaction again after our checkpoint. If SQLite refuses (busy
   * beyond busyTimeout), no replica may trust a WAL reset until a hand-off reopens it.
   */
  private reopenReader(): void {
    this.readerEpoch++;
    try {
      this.beginRead(this.readers![this.active]!);
    } catch (err) {
      for (const s of this.streams) s.distrustResets();
      this.services.logger.error("cannot reopen the read transaction; WAL resets will need snapshots until it is back", { ...this.fields, error: describeError(err) });
    }
  }

  private endRead(conn: Connection): void {
    if (conn.inTransaction) conn.exec("COMMIT");
  }

  /**
   * Starts a read transaction on the idle reader before ending the held one, so there
   * is never a moment without one: a WAL reset can then only discard frames every
   * replica has already uploaded (README, "Why a reset loses nothing").
   */
  private handOffReader(): void {
    const readers = this.readers!;
    const next = 1 - this.active;
    const dbStat = statKey(this.path);
    try {
      this.beginRead(readers[next]!);
    } catch (err) {
      this.services.logger.debug("read transaction hand-off postponed", { ...this.fields, error: describeError(err) });
      return;
    }
    this.endRead(readers[this.active]!);
    this.active = next;
    this.readerEpoch++;
    // The database file changed since the last hand-off: another connection checkpointed,
    // and may still be (its copy holds the lock our new read transaction would have
    // needed to stop blocking it). Hand off once more shortly, until the file is quiet.
    if (dbStat !== this.lastHandoffDbStat) {
      this.lastHandoffDbStat = dbStat;
      this.followUp?.cancel();
      this.followUp = this.services.scheduler.schedule(HANDOFF_FOLLOW_UP_MS, () => {
        this.followUp = undefined;
        for (const s of this.streams) s.recheck();
      });
    }
  }

  /**
   * Which checkpoint is due, if any, judged on the WAL as it is now: the `-wal` file's
   * size (TRUNCATE) and, from SQLite's WAL index, the frames no checkpoint has copied
   * yet (PASSIVE). Never on a stream's cursor: that still points into a WAL that was
   * checkpointed (and restarted by the next writer) until the stream's next sync.
   * Cheap: a stat and a 100-byte read.
   */
  private checkpointMode(): CheckpointMode | undefined {
    const now = Date.now();
    if (this.stopped || this.checkpointing || this.pageSize === 0 || now - this.lastCheckpointTry < CHECKPOINT_RETRY_MS) return undefined;
    const { truncatePageCount, minCheckpointPageCount, checkpointInterval } = this.options;
    if (truncatePageCount > 0 && this.wal.size >= WAL_HEADER_SIZE + truncatePageCount * (this.pageSize + WAL_FRAME_HEADER_SIZE)) return "TRUNCATE";
    // A replica that cannot upload holds PASSIVE checkpoints back (its frames must stay).
    if (this.streams.some((s) => s.failing || s.cursor === undefined)) return undefined;
    const index = readWalIndex(this.shm);
    if (index === undefined) return undefined;
    const frames = framesToCheckpoint(index);
    if (frames >= minCheckpointPageCount) return "PASSIVE";
    const since = now - (this.lastCheckpointAt?.getTime() ?? this.startedAt);
    if (frames > 0 && since >= checkpointInterval) return "PASSIVE";
    return undefined;
  }

  /**
   * Called by a stream right before a sync: when a checkpoint is due, it runs now with
   * this sync inside it (the stream's upload happens once, under the write lock), so
   * checkpoints add no uploads. Resolves once it ran or was found not due; the stream
   * sees from its pass counter whether its sync happened.
   */
  async syncWithCheckpoint(stream: ReplicaStream): Promise<void> {
    const mode = this.checkpointMode();
    if (mode !== undefined) await this.checkpoint(mode, stream);
  }

  /** The stream cursor furthest into the newest WAL. */
  private leadingCursor(): Extract<WalCursor, { kind: "at" }> | undefined {
    let lead: Extract<WalCursor, { kind: "at" }> | undefined;
    for (const s of this.streams) {
      const c = s.cursor;
      if (c?.kind !== "at") continue;
      if (
        lead === undefined ||
        c.header.checkpointSequence > lead.header.checkpointSequence ||
        (c.header.checkpointSequence === lead.header.checkpointSequence && c.position.offset > lead.position.offset)
      ) {
        lead = c;
      }
    }
    return lead;
  }

  /**
   * Our checkpoint. First a PASSIVE without the write lock: it copies what our read
   * transaction lets any checkpoint copy (frames up to the last hand-off), while the
   * application keeps writing. Then, holding the write lock: every replica uploads up to
   * the end of the WAL (for `initiator`, that is its sync), our read transaction is
   * released, a second PASSIVE copies the rest, the read transaction is reopened, the
   * write lock released. All of it runs under the exclusive lock, so no upload reads the
   * WAL meanwhile. TRUNCATE then runs right after, while our new read transaction stops
   * it from copying any frame written in between (so it succeeds only if nothing was,
   * and never loses one). Past the TRUNCATE threshold replicas that are behind lose
   * their place and get a snapshot.
   */
  private async checkpoint(mode: CheckpointMode, initiator?: ReplicaStream): Promise<void> {
    const { metrics, logger } = this.services;
    const labels = { db: this.path, mode };
    const started = performance.now();
    this.checkpointing = true;
    // Spaces attempts that could not run or finish; cleared when one completes.
    this.lastCheckpointTry = Date.now();
    try {
      const result = await this.withWriteLock(mode, initiator);
      if (result === undefined) return;
      const durationMs = performance.now() - started;
      if (result.busy === 0 && result.checkpointed === result.log) this.lastCheckpointTry = 0;
      this.lastCheckpointAt = new Date();
      metrics.checkpointCount.inc(labels);
      metrics.checkpointSeconds.inc(labels, durationMs / 1000);
      const { busy, log, checkpointed, lockedMs } = result;
      logger.info("checkpoint", { ...this.fields, mode, busy, log, checkpointed, ms: Math.round(durationMs), writeLockMs: Math.round(lockedMs) });
      this.services.emit("checkpoint", { path: this.path, mode, busy, log, checkpointed, durationMs, writeLockMs: lockedMs });
    } catch (err) {
      metrics.checkpointErrorCount.inc(labels);
      const error = toBackupError(err, "checkpoint", { path: this.path });
      logger.warn("checkpoint failed", { ...this.fields, mode, error: describeError(error) });
      this.services.emit("error", { path: this.path, error });
    } finally {
      if (this.writer?.inTransaction === true) this.writer.exec("ROLLBACK");
      this.checkpointing = false;
    }
  }

  /** The checkpoint itself, holding the write lock and our exclusive lock; undefined when it did not run. */
  private async checkpointLocked(mode: CheckpointMode, initiator: ReplicaStream | undefined): Promise<(CheckpointResult & { lockedMs: number }) | undefined> {
    const locked = performance.now();
    if (this.stopped || this.readers === undefined) return undefined;
    const readers = this.readers;
    const end = this.committedEnd();
    if (end === undefined) return undefined;
    const uploads = this.streams.filter((s) => s === initiator || !sameCursor(s.cursor, end));
    if (uploads.length > 0) {
      // Commits since each replica's last sync are uploaded now, while no writer can add
      // more (the application waits on the write lock meanwhile, as it would for any
      // writer). A replica that cannot upload stays behind.
      const signal = AbortSignal.any([this.signal, AbortSignal.timeout(Math.max(CATCH_UP_MS, this.options.busyTimeout))]);
      for (const s of uploads) await s.catchUp(signal);
    }
    const behind = this.streams.filter((s) => !sameCursor(s.cursor, end));
    if (behind.length > 0 && mode === "PASSIVE") {
      this.services.logger.debug("checkpoint postponed: replicas are behind the WAL", { ...this.fields, replicas: behind.map((s) => s.name) });
      return undefined;
    }
    let passive: CheckpointResult;
    this.endRead(readers[this.active]!);
    try {
      passive = this.runCheckpoint("PASSIVE");
    } finally {
      this.reopenReader();
      this.writer!.exec("ROLLBACK");
    }
    const lockedMs = performance.now() - locked;
    let result = { ...passive, lockedMs };
    if (mode === "TRUNCATE") result = { ...result, busy: this.runCheckpoint("TRUNCATE").busy };
    if (passive.busy === 0 && passive.checkpointed === passive.log && behind.length > 0) {
      for (const s of behind) s.markLost(`a ${mode} checkpoint past ${this.options.truncatePageCount} WAL pages ran while this replica was behind`);
    }
    return result;
  }

  private runCheckpoint(mode: CheckpointMode): CheckpointResult {
    const rows = this.checkpointer!.pragma(`wal_checkpoint(${mode})`) as CheckpointResult[];
    const row = rows[0];
    if (row === undefined) throw new BackupError("checkpoint", `wal_checkpoint(${mode}) returned nothing`, { path: this.path });
    return row;
  }

  /**
   * Runs the checkpoint holding SQLite's write lock (BEGIN IMMEDIATE on the writer,
   * tried every LOCK_POLL_MS for up to busyTimeout, never blocking the event loop) and
   * our exclusive lock. Each try holds our lock only while it tries: in between, uploads
   * and hand-offs go on (the write lock's holder may be another connection's checkpoint
   * waiting for our read transaction to move on), and once the write lock is ours
   * nothing of ours is still running that the application would wait for. The first try
   * starts with the PASSIVE that needs no write lock. Undefined when the write lock could
   * not be had or the checkpoint did not run.
   */
  private async withWriteLock(mode: CheckpointMode, initiator: ReplicaStream | undefined): Promise<(CheckpointResult & { lockedMs: number }) | undefined> {
    const deadline = Date.now() + this.options.busyTimeout;
    let first = true;
    for (;;) {
      const attempt = await this.lock.withExclusive(async () => {
        if (this.stopped || this.readers === undefined) return { done: true, result: undefined };
        if (first) this.runCheckpoint("PASSIVE");
        first = false;
        if (!this.tryWriteLock()) return { done: false, result: undefined };
        return { done: true, result: await this.checkpointLocked(mode, initiator) };
      });
      if (attempt.done) return attempt.result;
      if (Date.now() >= deadline) {
        this.services.logger.debug("checkpoint skipped: the database is busy", { ...this.fields, mode });
        return undefined;
      }
      await sleep(LOCK_POLL_MS);
    }
  }

  /** BEGIN IMMEDIATE on the writer; false when another connection holds the write lock. */
  private tryWriteLock(): boolean {
    try {
      this.writer!.exec("BEGIN IMMEDIATE");
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === "SQLITE_BUSY") return false;
      throw err;
    }
  }

  /** The committed end of the WAL, as a cursor (undefined without a WAL header, or when it cannot be read now). */
  private committedEnd(): Extract<WalCursor, { kind: "at" }> | undefined {
    this.wal.refresh();
    let header: WalHeader | undefined;
    try {
      header = readHeader(this.wal);
    } catch {
      return undefined;
    }
    if (header === undefined) return undefined;
    const lead = this.leadingCursor();
    const from = lead !== undefined && lead.header.salt1 === header.salt1 && lead.header.salt2 === header.salt2 ? lead.position : undefined;
    let position = from;
    try {
      const it = walTransactionsSync(this.wal.scanner(), { from, file: this.wal.path });
      for (let step = it.next(); ; step = it.next()) {
        if (step.done === true) {
          position = step.value.position;
          break;
        }
      }
    } catch {
      return undefined;
    }
    return { kind: "at", header, position: position! };
  }
}

function statKey(path: string): string {
  try {
    const st = statSync(path);
    return `${st.size}:${st.mtimeMs}:${st.ino}`;
  } catch {
    return "missing";
  }
}

function sameCursor(c: WalCursor | undefined, end: Extract<WalCursor, { kind: "at" }>): boolean {
  return (
    c?.kind === "at" &&
    c.header.salt1 === end.header.salt1 &&
    c.header.salt2 === end.header.salt2 &&
    c.position.offset === end.position.offset
  );
}

