/**
 * One database under replication: its lock and connections, the stager that turns its
 * WAL into the local log, one shipper per replica, the checkpoints the engine owns, and
 * the watch on the file itself (replaced or deleted under us).
 */
import { existsSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { formatTxid } from "@sqlrep/ltx";
import { RecentFilesClient } from "@sqlrep/replica";
import { LtxLog, LtxShipper, type LogFeeder } from "@sqlrep/shipper";
import { Checkpointer, type CheckpointHost } from "./checkpoints.js";
import { DatabaseConnections, fileIdentity, sameFile } from "./connections.js";
import { countTransactions, reportShipperEvent, type DatabaseStatus, type ReplicaStatus, type UnshippedReport } from "./database-status.js";
import { BackupError, describeError } from "./errors.js";
import { failedReplicas, onEveryReplica, replicasFailed } from "./every-replica.js";
import { FileSource } from "./file-source.js";
import type { Logger } from "./logger.js";
import { MeteredReplicaClient } from "./metered-client.js";
import type { ResolvedDatabaseOptions } from "./options.js";
import { ProcessLock } from "./process-lock.js";
import { RwLock } from "./rw-lock.js";
import { BUSY_RETRY_MS, StageSchedule, statKey } from "./stage-schedule.js";
import { WalStager, type StagerHost } from "./stager.js";
import type { EngineServices } from "./services.js";

export { COALESCE_MS } from "./stage-schedule.js";
import type { Timer } from "@sqlrep/shipper";

export type { DatabaseStatus, ReplicaStatus, UnshippedReport } from "./database-status.js";
import type { WatchedFile } from "./watchers.js";

/** The directory beside a database where its local log and lock live (`.<name>-sqlrep`). */
export function defaultMetaDir(path: string): string {
  return join(dirname(path), `.${basename(path)}-sqlrep`);
}

/**
 * A database under replication. Every commit is staged into the local log within
 * `COALESCE_MS` of being noticed; the read transaction then moves on, so other
 * connections' checkpoints are never held back by a slow replica. Shippers upload from
 * the log on their own schedule.
 */
export class TrackedDatabase implements WatchedFile, StagerHost, CheckpointHost {
  readonly path: string;
  readonly dir: string;
  readonly file: string;
  readonly wal: FileSource;
  readonly db: FileSource;
  readonly shm: FileSource;
  readonly lock = new RwLock();
  readonly metaDir: string;
  connections: DatabaseConnections | undefined;
  private processLock: ProcessLock | undefined;
  // Not private: the staging schedule reads them (StageScheduleHost); only this class writes them.
  logValue: LtxLog | undefined;
  stagerValue: WalStager | undefined;
  shippers: LtxShipper[] = [];
  state: DatabaseStatus["state"] = "replicating";
  private lastError: string | undefined;
  stopped = false;
  /** Set once `stop` began: no new work is scheduled, the final uploads run. */
  stopping = false;
  /** Runs the checkpoints the engine owns, when due. */
  readonly checkpoints: Checkpointer;

  private readonly abort = new AbortController();
  private pollTimer: Timer | undefined;
  private lastStat = "";
  /** When the WAL is staged into the log. */
  private readonly staging = new StageSchedule(this);
  private lineageWork: Promise<void> = Promise.resolve();

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
    this.metaDir = options.metaDir ?? defaultMetaDir(this.path);
    this.checkpoints = new Checkpointer(this, services);
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get logger(): Logger {
    return this.services.logger;
  }

  get pageSize(): number {
    return this.connections?.pageSize ?? 0;
  }

  get readerHeld(): boolean {
    return this.connections?.readerHeld === true;
  }

  get readerEpoch(): number {
    return this.connections?.epoch ?? -1;
  }

  get maxBatchBytes(): number {
    return this.options.maxBatchBytes;
  }

  private get log(): LtxLog {
    return this.logValue!;
  }

  private get stager(): WalStager {
    return this.stagerValue!;
  }

  /**
   * Takes the database's replication lock, opens the connections and starts the read
   * transaction. Throws BackupError "not-found", "locked", "not-wal" or "open".
   */
  open(): void {
    try {
      if (!statSync(this.path).isFile()) throw new BackupError("not-found", `${this.path} is not a file`, { path: this.path });
    } catch (err) {
      if (err instanceof BackupError) throw err;
      throw new BackupError("not-found", `database ${this.path} does not exist`, { path: this.path, cause: err });
    }
    this.processLock ??= ProcessLock.acquire(this.metaDir, this.path);
    try {
      this.connections = new DatabaseConnections(this.path, this.options.busyTimeout);
    } catch (err) {
      this.processLock.release();
      this.processLock = undefined;
      throw err;
    }
  }

  /** Opens the local log, resumes from it (or from the replicas), and starts every shipper. */
  async start(): Promise<void> {
    this.checkpoints.started(Date.now());
    this.logValue = LtxLog.open(this.metaDir, {
      maxBytes: this.options.maxLocalBytes,
      onOverflow: (dropped) =>
        this.logger.warn("local log full: its oldest files are dropped; replicas still needing them will snapshot", {
          db: this.path,
          files: dropped.length,
          upTo: formatTxid(dropped[dropped.length - 1]!.maxTXID),
        }),
    });
    const stager = (this.stagerValue = new WalStager(this, this.log));
    const feeder: LogFeeder = {
      snapshotState: (signal) => stager.snapshotState(signal),
      diverged: (reason) => stager.diverged(reason),
      prepare: () => this.prepare(),
    };
    this.shippers = this.options.replicas.map(
      (r, i) =>
        new LtxShipper(
          {
            label: this.path,
            log: this.log,
            feeder,
            clock: this.services.scheduler,
            logger: this.logger,
            signal: this.signal,
            onEvent: (e) => reportShipperEvent(e, this.path, this.services),
          },
          {
            ...this.options,
            name: r.name,
            client: new RecentFilesClient(new MeteredReplicaClient(r.client, this.services.metrics), { directory: join(this.recentDir, String(i)) }),
            syncInterval: r.syncInterval,
          },
        ),
    );
    const tips = await Promise.all(this.shippers.map((s) => s.loadTip(this.signal)));
    await this.stager.resume(
      tips.filter((t) => t !== undefined),
      this.signal,
    );
    this.staging.stageNow();
    await Promise.all(this.shippers.map((s) => s.start()));
    this.poll();
  }

  // ------------------------------------------------------------------------------------
  // Staging

  /** File-system event: `<db>` or `<db>-wal` changed. */
  onChange(which?: "db" | "wal"): void {
    this.staging.onChange(which);
  }

  /** While a stage is scheduled, events add nothing (see `StageSchedule.wantsEvents`). */
  wantsEvents(): boolean {
    return this.staging.wantsEvents();
  }

  /** Watching resumed: anything written while it was paused is staged now. */
  onResume(): void {
    this.staging.onResume();
  }

  /** LogFeeder: before a shipper seals and uploads, the files must still be ours, and what is committed is staged. */
  prepare(): boolean {
    if (this.stopped || this.state !== "replicating" || !this.checkIdentity()) return false;
    if (this.stageAll()) this.stager.checkPageOne();
    return this.state === "replicating";
  }

  /** The stager found the WAL swapped: which of the files changed decides (deleted, or replaced). */
  fileReplaced(): void {
    this.checkIdentity();
  }

  /** Stages until everything committed is in the log (for `sync` and checkpoints); false when the WAL is being rewritten. */
  stageAll(): boolean {
    return this.staging.stageAll();
  }

  // ------------------------------------------------------------------------------------
  // The file under us

  /**
   * The database and WAL must still be the files our connections opened. A deleted
   * database stops replication (reported, nothing uploaded) until it is back; a
   * replaced one (another inode, or its WAL swapped) starts a new lineage.
   */
  private checkIdentity(): boolean {
    const c = this.connections;
    if (c === undefined) return false;
    const now = fileIdentity(this.path);
    if (now === undefined) {
      this.markMissing();
      return false;
    }
    if (!sameFile(now, c.identity)) {
      this.lineageBroken(`${this.path} was replaced by another file (inode ${c.identity.ino} → ${now.ino})`, true);
      return false;
    }
    const wal = fileIdentity(`${this.path}-wal`);
    if (c.walIdentity !== undefined && !sameFile(wal, c.walIdentity)) {
      this.lineageBroken(`${this.path}-wal was ${wal === undefined ? "deleted" : "replaced"} under open connections`, true);
      return false;
    }
    return true;
  }

  private markMissing(): void {
    if (this.state === "missing") return;
    this.state = "missing";
    this.lastError = `${this.path} was deleted while it was replicated: nothing is uploaded until it exists again (then as a new lineage, with a snapshot)`;
    this.logger.error("database deleted", { db: this.path, error: this.lastError });
    this.services.metrics.missing.set({ db: this.path }, 1);
    this.services.emit("error", { path: this.path, error: new BackupError("missing", this.lastError, { path: this.path }) });
    this.closeConnections();
  }

  /**
   * The database is not what the log says: replaced (`reopen`: the connections follow
   * the new file), written outside SQLite, or its WAL lost track of. A new lineage starts
   * from what the database holds now; every replica snapshots it.
   */
  lineageBroken(reason: string, reopen = false): void {
    if (this.stopped) return;
    const wasMissing = this.state === "missing";
    this.lineageWork = this.lineageWork
      .then(() =>
        this.lock.withExclusive(async () => {
          if (this.stopped) return;
          if (reopen || this.connections === undefined) {
            this.closeConnections();
            try {
              this.open();
            } catch (err) {
              this.state = "missing";
              this.lastError = `${reason}; the new file cannot be replicated yet: ${describeError(err)}`;
              this.logger.error("database replaced but not usable", { db: this.path, error: this.lastError });
              return;
            }
          }
          this.state = "replicating";
          this.lastError = reason;
          this.services.metrics.missing.set({ db: this.path }, 0);
          this.services.metrics.lineages.inc({ db: this.path });
          if (!wasMissing) this.logger.error(reopen ? "database replaced" : "database changed outside the replicated history", { db: this.path, reason });
          this.services.emit("error", { path: this.path, error: new BackupError("replaced", reason, { path: this.path }) });
          await this.stager.newLineage(reason, this.signal);
        }),
      )
      .catch((err: unknown) => this.logger.error("cannot start a new lineage", { db: this.path, error: describeError(err) }));
    void this.lineageWork.then(() => this.staging.stageNow());
  }

  private closeConnections(): void {
    this.connections?.close();
    this.connections = undefined;
    this.wal.close();
    this.db.close();
    this.shm.close();
  }

  /** The fallback poll: the files' identity and a stat of the WAL and database; also where interval checkpoints are noticed. */
  private poll(): void {
    if (this.stopped || this.stopping) return;
    if (this.state === "missing") {
      if (existsSync(this.path)) this.lineageBroken(`${this.path} exists again after it was deleted`, true);
    } else {
      const stat = `${statKey(this.wal.path)};${statKey(this.path)}`;
      if (stat !== this.lastStat) {
        if (this.lastStat !== "") this.onChange();
        this.lastStat = stat;
      } else if (this.checkIdentity()) {
        // Nothing changed: the time-based checkpoint may be due, and page 1 must still be ours.
        if (this.stagerValue?.checkPageOne() !== false) {
          this.checkpoints.runIfDue();
        }
      }
    }
    this.pollTimer = this.services.scheduler.schedule(this.options.monitorInterval, () => this.poll());
  }

  // ------------------------------------------------------------------------------------
  // Read transaction and checkpoints

  /**
   * Moves the read transaction to the WAL's end, when everything up to it is staged. An
   * application's checkpoint that waits for our read mark then proceeds: its copy writes
   * the database file, whose change event brings the next hand-off (on read mark 0 once
   * everything is copied), which lets it restart the WAL.
   */
  handOff(): void {
    const c = this.connections;
    if (this.stopped || c === undefined || this.state !== "replicating") return;
    if (!c.readerHeld) {
      try {
        c.reopen();
      } catch (err) {
        this.readerLost(err);
      }
      return;
    }
    if (this.stager.caughtUpEpoch !== c.epoch) return;
    if (!c.handOff()) this.logger.debug("read transaction hand-off postponed", { db: this.path });
  }

  walBytesStaged(bytes: number): void {
    this.services.metrics.totalWalBytes.inc({ db: this.path }, bytes);
  }

  readerLost(err: unknown): void {
    this.stagerValue?.distrustResets();
    this.logger.error("cannot reopen the read transaction; WAL resets will need snapshots until it is back", { db: this.path, error: describeError(err) });
  }

  // ------------------------------------------------------------------------------------
  // Sync, status, stop

  /** Stages what is committed and resolves once every replica holds it. */
  async sync(signal?: AbortSignal): Promise<{ path: string; replica: string; txid: number }[]> {
    if (this.state === "missing") throw new BackupError("missing", this.lastError ?? `${this.path} was deleted`, { path: this.path });
    for (let i = 0; !this.stageAll() && i < 250; i++) await new Promise((r) => setTimeout(r, BUSY_RETRY_MS));
    this.log.seal(this.options.maxBatchBytes);
    const target = this.log.tip?.txid ?? 0;
    const results = await Promise.allSettled(this.shippers.map((s) => s.waitFor(target, signal)));
    const failed = failedReplicas(this.shippers, results);
    if (failed.length > 0) {
      const aborted = failed.find((f) => (f.error as { code?: string }).code === "aborted");
      if (aborted !== undefined && signal?.aborted) throw new BackupError("aborted", "sync aborted", { path: this.path, cause: aborted.error });
      throw replicasFailed(this.path, undefined, failed);
    }
    return this.shippers.map((s) => ({ path: this.path, replica: s.name, txid: s.txid }));
  }

  /**
   * A snapshot on every replica now, of what is committed (staged first), even if nothing
   * changed since the last one. Rejects with BackupError "sync" naming the replicas that failed.
   */
  async snapshot(signal?: AbortSignal): Promise<{ path: string; replica: string; txid: number }[]> {
    if (this.state === "missing") throw new BackupError("missing", this.lastError ?? `${this.path} was deleted`, { path: this.path });
    for (let i = 0; !this.stageAll() && i < 250; i++) await new Promise((r) => setTimeout(r, BUSY_RETRY_MS));
    const txids = await onEveryReplica(this.path, this.shippers, "snapshot", (s) => s.snapshotNow(signal));
    return this.shippers.map((s, i) => ({ path: this.path, replica: s.name, txid: txids[i]! }));
  }

  /** Retention on every replica now, whatever its schedule. Rejects with BackupError "sync" naming the replicas that failed. */
  async enforceRetention(): Promise<{ path: string; replica: string; deleted: number }[]> {
    const deleted = await onEveryReplica(this.path, this.shippers, "retention", (s) => s.enforceRetention());
    return this.shippers.map((s, i) => ({ path: this.path, replica: s.name, deleted: deleted[i]! }));
  }

  status(): DatabaseStatus {
    this.staging.noticeUnseenCommits();
    return {
      path: this.path,
      state: this.state,
      lastError: this.lastError,
      pageSize: this.pageSize,
      dbSize: this.db.size,
      walSize: this.wal.size,
      localTXID: this.logValue?.tip?.txid ?? 0,
      localLogBytes: this.logValue?.size ?? 0,
      lastCheckpointAt: this.checkpoints.lastAt,
      replicas: this.shippers.map((s) => this.replicaStatus(s)),
    };
  }
  /** A shipper's status, its lag counting commits noticed and not staged yet too (at least 1 ms, so "0" always means nothing is pending). */
  private replicaStatus(s: LtxShipper): ReplicaStatus {
    const status = s.status();
    if (this.staging.unstagedSince === undefined) return status;
    return { ...status, lagMs: Math.max(status.lagMs, Date.now() - this.staging.unstagedSince, 1) };
  }

  /** Sets the gauges of this database before the metrics are rendered. */
  updateGauges(): void {
    const { metrics } = this.services;
    const db = { db: this.path };
    metrics.dbSize.set(db, this.db.size);
    metrics.walSize.set(db, this.wal.size);
    metrics.txid.set(db, this.logValue?.tip?.txid ?? 0);
    metrics.missing.set(db, this.state === "missing" ? 1 : 0);
    for (const s of this.shippers) {
      const status = this.replicaStatus(s);
      const labels = { db: this.path, name: s.name };
      metrics.replicaTxid.set(labels, status.txid);
      metrics.replicaLag.set(labels, status.lagMs / 1000);
    }
  }

  /**
   * Graceful stop: what is committed goes to the log, then every replica gets it
   * (retried until `timeoutMs`), then everything closes. Resolves with what did not
   * reach a replica (it stays in the local log for the next start).
   */
  async stop(timeoutMs: number, retryIntervalMs?: number): Promise<UnshippedReport[]> {
    if (this.stopped || this.stopping) return [];
    // No more events or timers; the shippers' final passes still stage and check the files.
    this.stopping = true;
    this.staging.cancel();
    this.pollTimer?.cancel();
    await this.lineageWork;
    this.stageAll();
    const deadline = Date.now() + Math.max(1, timeoutMs);
    const report: UnshippedReport[] = [];
    await Promise.all(
      this.shippers.map(async (s) => {
        const { missing, lastError } = await s.flush(deadline, retryIntervalMs);
        if (missing === 0) return;
        const entries = this.logValue?.after(s.txid) ?? [];
        report.push({ path: this.path, replica: s.name, missingTXIDs: missing, transactions: countTransactions(entries), lastError });
      }),
    );
    this.stopped = true;
    if (!this.abort.signal.aborted) this.abort.abort(new BackupError("closed", "the engine stopped", { path: this.path }));
    await Promise.all(this.shippers.map((s) => s.close()));
    this.close();
    return report;
  }

  /** Where each replica's `RecentFilesClient` keeps its copies (`recent/<replica index>`). */
  private get recentDir(): string {
    return join(this.metaDir, "recent");
  }

  /** Closes connections, files and the lock at once (after `stop`, or when `start` fails). */
  close(): void {
    this.stopped = true;
    if (!this.abort.signal.aborted) this.abort.abort(new BackupError("closed", "the engine stopped", { path: this.path }));
    this.staging.cancel();
    this.pollTimer?.cancel();
    for (const s of this.shippers) void s.close();
    this.closeConnections();
    // The copies compaction reads serve only this run (the next start empties them anyway):
    // no disk held meanwhile. Only while holding the lock: without it they are another process's.
    if (this.processLock !== undefined) rmSync(this.recentDir, { recursive: true, force: true });
    this.processLock?.release();
    this.processLock = undefined;
  }
}
