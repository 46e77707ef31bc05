/** BackupEngine, the object behind `litestream replicate`: starts, tracks and stops the databases, their timers and watchers, status and metrics. */
import { existsSync } from "node:fs";
import { EventEmitter } from "node:events";
import { resolve } from "node:path";
import { Scheduler } from "@sqlrep/shipper";
import { TrackedDatabase, type DatabaseStatus, type UnshippedReport } from "./database.js";
import { BackupError, describeError, isBackupError, throwIfAborted } from "./errors.js";
import type { BackupEvents } from "./events.js";
import { silentLogger, type Logger } from "./logger.js";
import { BackupMetrics } from "./metrics.js";
import type { Registry } from "prom-client";
import { resolveDatabaseOptions, type BackupEngineOptions, type DatabaseOptions, type ResolvedDatabaseOptions } from "./options.js";
import type { EngineServices } from "./services.js";
import type { Timer } from "@sqlrep/shipper";
import { DirectoryWatchers } from "./watchers.js";

/** The outcome of `BackupEngine.sync` for one replica. */
export interface SyncResult {
  path: string;
  replica: string;
  /** The replica's TXID once everything committed before the call was uploaded. */
  txid: number;
}

/** What `stop` reports: every replica that did not get everything before the timeout. */
export interface StopReport {
  unshipped: UnshippedReport[];
}

type State = "new" | "starting" | "running" | "stopping" | "stopped";

/**
 * The engine behind `litestream replicate`: watches WAL-mode databases, turns their
 * committed WAL frames into LTX files, uploads them to every replica, owns the
 * checkpoints, takes snapshots, and runs compaction, retention and validation on the
 * replicas. Several databases share one timer queue and one watcher per directory.
 *
 * Events: `synced`, `checkpoint`, `snapshot`, `error` (emitted only when someone
 * listens, so an unhandled `error` event never crashes the process).
 */
export class BackupEngine extends EventEmitter<BackupEvents> {
  private readonly logger: Logger;
  private readonly metricsRegistry: BackupMetrics;
  private readonly scheduler: Scheduler;
  private readonly watchers: DirectoryWatchers;
  private readonly configs: ResolvedDatabaseOptions[];
  private readonly databases = new Map<string, TrackedDatabase>();
  /** Databases whose file does not exist (or is not in WAL mode) yet, by path. */
  private readonly waiting = new Map<string, { config: ResolvedDatabaseOptions; reason: string; timer: Timer | undefined }>();
  /** Databases being removed while the engine runs: `stop` waits for their final sync. */
  private readonly removals = new Set<Promise<unknown>>();
  private services: EngineServices | undefined;
  private state: State = "new";

  constructor(options: BackupEngineOptions) {
    super();
    this.logger = options.logger ?? silentLogger;
    this.metricsRegistry = new BackupMetrics(options.registry, () => {
      for (const db of this.databases.values()) db.updateGauges();
    });
    if (!Array.isArray(options.databases)) throw new BackupError("invalid-config", "databases must be an array");
    this.configs = options.databases.map(resolveDatabaseOptions);
    const seen = new Set<string>();
    for (const c of this.configs) {
      if (seen.has(c.path)) throw new BackupError("invalid-config", `${c.path} is listed twice`, { path: c.path });
      seen.add(c.path);
    }
    this.scheduler = new Scheduler((err) => this.logger.error("timer callback failed", { error: describeError(err) }));
    this.watchers = new DirectoryWatchers((dir, err) => this.logger.warn("directory watch failed; relying on polling", { dir, error: describeError(err) }));
  }

  /**
   * Opens every database, resumes each replica from its position (or snapshots it) and
   * runs a first sync. A database whose file does not exist yet is waited for (polled
   * every `monitorInterval`, state "waiting" in `status()`), as Litestream does, so an
   * application started next to the engine may create it; it must be in WAL mode once
   * created. Throws BackupError ("not-wal", "open") when an existing database cannot be
   * replicated; then nothing keeps running. Replica failures do not fail `start`: they
   * show in `status()` and are retried.
   */
  async start(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.state !== "new") throw new BackupError("closed", `the engine was already started (${this.state})`);
    this.state = "starting";
    const services: EngineServices = (this.services = {
      logger: this.logger,
      metrics: this.metricsRegistry,
      scheduler: this.scheduler,
      interestChanged: (dir) => this.watchers.update(dir),
      emit: (event, ...args) => {
        if (event !== "error" || this.listenerCount("error") > 0) (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
      },
    });
    const opened: TrackedDatabase[] = [];
    const onAbort = () => {
      for (const db of opened) db.close();
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      throwIfAborted(options.signal);
      for (const config of this.configs) {
        if (!existsSync(config.path)) {
          this.waiting.set(config.path, { config, reason: "the database file to be created", timer: undefined });
          continue;
        }
        const db = new TrackedDatabase(config, services);
        db.open();
        opened.push(db);
        this.databases.set(db.path, db);
      }
      for (const db of opened) {
        if (!this.watchers.add(db.dir, db.file, db)) {
          this.logger.warn("no file-system events for this database; polling only", { db: db.path, intervalMs: db.options.monitorInterval });
        }
      }
      await Promise.all(opened.map((db) => db.start()));
      throwIfAborted(options.signal);
      this.state = "running";
      this.logger.info("replication started", { databases: opened.length, waiting: this.waiting.size });
      for (const [path, w] of this.waiting) {
        this.logger.info("waiting for the database to be created", { db: path, pollMs: w.config.monitorInterval });
        this.scheduleArrivalCheck(path);
      }
    } catch (err) {
      this.watchers.close();
      this.scheduler.close();
      for (const db of opened) db.close();
      this.databases.clear();
      this.state = "stopped";
      throw err;
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Graceful stop: uploads everything committed to every replica (retrying failures for
   * at most `timeoutMs`, default 30 s, then aborting uploads still running), closes the
   * SQLite connections, watchers and timers. Resolves with what did not reach a replica
   * (kept in the local log, uploaded at the next start). `retryIntervalMs` (Litestream's
   * `shutdown-sync-interval`) retries a failed upload that often instead of on the back-off.
   */
  async stop(options: { timeoutMs?: number; retryIntervalMs?: number } = {}): Promise<StopReport> {
    if (this.state === "stopped" || this.state === "stopping" || this.state === "new") {
      this.state = "stopped";
      return { unshipped: [] };
    }
    this.state = "stopping";
    for (const w of this.waiting.values()) w.timer?.cancel();
    this.waiting.clear();
    this.watchers.close();
    await Promise.allSettled([...this.removals]);
    const reports = await Promise.all([...this.databases.values()].map((db) => db.stop(options.timeoutMs ?? 30_000, options.retryIntervalMs)));
    this.scheduler.close();
    this.state = "stopped";
    const unshipped = reports.flat();
    for (const u of unshipped) {
      this.logger.error("not every transaction reached the replica before the shutdown timeout", {
        db: u.path,
        replica: u.replica,
        txids: u.missingTXIDs,
        ...(u.transactions !== undefined ? { transactions: u.transactions } : {}),
        ...(u.lastError !== undefined ? { error: u.lastError } : {}),
      });
    }
    this.logger.info("replication stopped");
    return { unshipped };
  }

  /**
   * Adds a database. Before `start` it joins the databases `start` opens. While running it
   * is opened and resumed like those (resolves once its first sync has begun); a file that
   * does not exist yet, or is not in WAL mode yet, is waited for as at start (`state:
   * "waiting"`). Throws BackupError "invalid-config" (bad options, or a path the engine
   * already has), "locked", "open" (the file cannot be replicated; nothing is kept), or
   * "closed" once the engine is stopping.
   */
  async addDatabase(options: DatabaseOptions): Promise<void> {
    const config = resolveDatabaseOptions(options);
    if (this.state === "stopping" || this.state === "stopped") throw new BackupError("closed", `cannot add ${config.path}: the engine is ${this.state}`, { path: config.path });
    const known = this.state === "new" ? this.configs.some((c) => c.path === config.path) : this.databases.has(config.path) || this.waiting.has(config.path);
    if (known) {
      throw new BackupError("invalid-config", `${config.path} is already replicated by this engine`, { path: config.path });
    }
    if (this.state === "starting") throw new BackupError("closed", `cannot add ${config.path} while the engine is starting`, { path: config.path });
    if (this.state === "new") {
      this.configs.push(config);
      return;
    }
    if (!existsSync(config.path)) {
      this.waiting.set(config.path, { config, reason: "the database file to be created", timer: undefined });
      this.logger.info("waiting for the database to be created", { db: config.path, pollMs: config.monitorInterval });
      this.scheduleArrivalCheck(config.path);
      return;
    }
    const db = new TrackedDatabase(config, this.services!);
    try {
      db.open();
    } catch (err) {
      if (!isBackupError(err, "not-wal")) throw err;
      this.waiting.set(config.path, { config, reason: "the database to switch to WAL mode", timer: undefined });
      this.logger.warn("database not replicated yet", { db: config.path, waitingFor: "the database to switch to WAL mode" });
      this.scheduleArrivalCheck(config.path);
      return;
    }
    this.databases.set(db.path, db);
    if (!this.watchers.add(db.dir, db.file, db)) {
      this.logger.warn("no file-system events for this database; polling only", { db: db.path, intervalMs: db.options.monitorInterval });
    }
    try {
      await db.start();
    } catch (err) {
      this.forget(db);
      db.close();
      throw err;
    }
    this.logger.info("database added: replicating", { db: db.path });
  }

  /**
   * Stops replicating one database while the others go on: what is committed is staged
   * and uploaded to its replicas (retried for at most `timeoutMs`, default 30 s), then its
   * connections, lock and watch are released and it leaves `status()` and the metrics'
   * gauges. Resolves with what did not reach a replica (kept in its local log for the
   * next time it is replicated). A waited-for database is simply dropped, a deleted one
   * (`state: "missing"`) at once, reporting what it had not uploaded. Throws
   * BackupError "not-found" when the engine does not have the path.
   */
  async removeDatabase(path: string, options: { timeoutMs?: number } = {}): Promise<UnshippedReport[]> {
    const full = resolve(path);
    const before = this.configs.findIndex((c) => c.path === full);
    if (this.state === "new" && before >= 0) {
      this.configs.splice(before, 1);
      return [];
    }
    const w = this.waiting.get(full);
    if (w !== undefined) {
      w.timer?.cancel();
      this.waiting.delete(full);
      this.logger.info("database removed", { db: full });
      return [];
    }
    const db = this.databases.get(full);
    if (db === undefined) throw new BackupError("not-found", `${path} is not replicated by this engine`, { path: full });
    this.forget(db);
    // A deleted database uploads nothing more (see TrackedDatabase): its final sync could only wait out the timeout.
    const removal = db.stop(db.status().state === "missing" ? 0 : (options.timeoutMs ?? 30_000));
    this.removals.add(removal);
    try {
      const unshipped = await removal;
      this.logger.info("database removed", { db: full, ...(unshipped.length > 0 ? { unshippedReplicas: unshipped.map((u) => u.replica) } : {}) });
      return unshipped;
    } finally {
      this.removals.delete(removal);
      this.metricsRegistry.forget(
        full,
        db.options.replicas.map((r) => r.name),
      );
    }
  }

  /** Takes a database out of the engine's maps and watchers (it stays open). */
  private forget(db: TrackedDatabase): void {
    this.databases.delete(db.path);
    this.watchers.remove(db.dir, db.file);
  }

  /**
   * Syncs now and resolves once everything committed before the call is uploaded to
   * every replica of `path` (or of every database): like `litestream sync -wait`.
   * Rejects with BackupError("sync") naming the replicas that failed.
   */
  async sync(path?: string, options: { signal?: AbortSignal } = {}): Promise<SyncResult[]> {
    if (this.state !== "running") throw new BackupError("closed", `the engine is not running (${this.state})`);
    const targets = path === undefined ? [...this.databases.values()] : [this.database(path)];
    const results = await Promise.all(targets.map((db) => db.sync(options.signal)));
    return results.flat();
  }

  /**
   * A snapshot of every database (or of `path`) on each of its replicas now, even if
   * nothing changed since the last (`replicate -once -force-snapshot`). Rejects with
   * BackupError("sync") naming the replicas that failed.
   */
  async snapshot(path?: string, options: { signal?: AbortSignal } = {}): Promise<SyncResult[]> {
    if (this.state !== "running") throw new BackupError("closed", `the engine is not running (${this.state})`);
    const targets = path === undefined ? [...this.databases.values()] : [this.database(path)];
    return (await Promise.all(targets.map((db) => db.snapshot(options.signal)))).flat();
  }

  /**
   * Retention on every replica of every database (or of `path`) now, whatever its
   * schedule and `retentionEnabled` (`replicate -once -enforce-retention`). Resolves with
   * how many files each replica deleted; rejects with BackupError("sync") naming failures.
   */
  async enforceRetention(path?: string): Promise<{ path: string; replica: string; deleted: number }[]> {
    if (this.state !== "running") throw new BackupError("closed", `the engine is not running (${this.state})`);
    const targets = path === undefined ? [...this.databases.values()] : [this.database(path)];
    return (await Promise.all(targets.map((db) => db.enforceRetention()))).flat();
  }

  /** The status of every database and replica. */
  status(): DatabaseStatus[] {
    const waiting = [...this.waiting.values()].map(
      ({ config, reason }): DatabaseStatus => ({
        path: config.path,
        state: "waiting",
        waitingFor: reason,
        pageSize: 0,
        dbSize: 0,
        walSize: 0,
        localTXID: 0,
        localLogBytes: 0,
        replicas: config.replicas.map((r) => ({ name: r.name, type: r.client.type, location: r.client.location, txid: 0, lagMs: 0, pendingTXIDs: 0 })),
      }),
    );
    return [...[...this.databases.values()].map((db) => db.status()), ...waiting];
  }

  /**
   * Polls for a waited-for database. Once the file exists and opens in WAL mode it is
   * replicated like the others; in another journal mode it keeps waiting (an application
   * usually switches to WAL right after creating the file) and says so once.
   */
  private scheduleArrivalCheck(path: string): void {
    const w = this.waiting.get(path);
    if (w === undefined || this.services === undefined) return;
    w.timer = this.scheduler.schedule(w.config.monitorInterval, () => {
      void this.checkArrival(path);
    });
  }

  private async checkArrival(path: string): Promise<void> {
    const w = this.waiting.get(path);
    if (w === undefined || this.state !== "running" || this.services === undefined) return;
    if (!existsSync(path)) return this.scheduleArrivalCheck(path);
    const db = new TrackedDatabase(w.config, this.services);
    try {
      db.open();
    } catch (err) {
      const reason = isBackupError(err, "not-wal") ? "the database to switch to WAL mode" : `the database to open: ${describeError(err)}`;
      if (reason !== w.reason) this.logger.warn("database not replicated yet", { db: path, waitingFor: reason });
      w.reason = reason;
      return this.scheduleArrivalCheck(path);
    }
    this.waiting.delete(path);
    this.databases.set(db.path, db);
    if (!this.watchers.add(db.dir, db.file, db)) {
      this.logger.warn("no file-system events for this database; polling only", { db: db.path, intervalMs: db.options.monitorInterval });
    }
    this.logger.info("database created: replicating", { db: path });
    try {
      await db.start();
    } catch (err) {
      this.logger.error("cannot start replicating a database", { db: path, error: describeError(err) });
    }
  }

  /**
   * Prometheus text exposition of the engine's registry (Litestream's names, plus replica
   * TXID, lag and verification; and whatever else the app registered on it).
   */
  metrics(): Promise<string> {
    return this.metricsRegistry.render();
  }

  /** The prom-client registry the engine's families are on (`options.registry`, or its own). */
  get registry(): Registry {
    return this.metricsRegistry.registry;
  }

  private database(path: string): TrackedDatabase {
    const db = this.databases.get(resolve(path));
    if (db === undefined && this.waiting.has(resolve(path))) {
      throw new BackupError("not-found", `${path} does not exist yet: the engine is waiting for it to be created`, { path, retryable: true });
    }
    if (db === undefined) throw new BackupError("not-found", `${path} is not replicated by this engine`, { path });
    return db;
  }
}
