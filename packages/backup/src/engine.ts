import { EventEmitter } from "node:events";
import { resolve } from "node:path";
import { TrackedDatabase, type DatabaseStatus } from "./database.js";
import { BackupError, describeError, throwIfAborted } from "./errors.js";
import type { BackupEvents } from "./events.js";
import { silentLogger, type Logger } from "./logger.js";
import { BackupMetrics } from "./metrics.js";
import { resolveDatabaseOptions, type BackupEngineOptions, type ResolvedDatabaseOptions } from "./options.js";
import { DirectoryWatchers, Scheduler } from "./scheduler.js";
import type { EngineServices, SyncResult } from "./stream.js";

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
  private readonly metricsRegistry = new BackupMetrics();
  private readonly scheduler: Scheduler;
  private readonly watchers: DirectoryWatchers;
  private readonly configs: ResolvedDatabaseOptions[];
  private readonly databases = new Map<string, TrackedDatabase>();
  private state: State = "new";

  constructor(options: BackupEngineOptions) {
    super();
    this.logger = options.logger ?? silentLogger;
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
   * runs a first sync. Throws BackupError ("not-found", "not-wal", "open") when a
   * database cannot be replicated; then nothing keeps running. Replica failures do not
   * fail `start`: they show in `status()` and are retried.
   */
  async start(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.state !== "new") throw new BackupError("closed", `the engine was already started (${this.state})`);
    this.state = "starting";
    const services: EngineServices = {
      logger: this.logger,
      metrics: this.metricsRegistry,
      scheduler: this.scheduler,
      interestChanged: (dir) => this.watchers.update(dir),
      emit: (event, ...args) => {
        if (event !== "error" || this.listenerCount("error") > 0) (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
      },
    };
    const opened: TrackedDatabase[] = [];
    const onAbort = () => {
      for (const db of opened) db.close();
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      throwIfAborted(options.signal);
      for (const config of this.configs) {
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
      this.logger.info("replication started", { databases: opened.length });
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
   * Graceful stop: uploads everything committed to every replica (waiting at most
   * `timeoutMs`, default 30 s, then aborting uploads still running), closes the SQLite
   * connections, watchers and timers.
   */
  async stop(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.state === "stopped" || this.state === "stopping" || this.state === "new") {
      this.state = "stopped";
      return;
    }
    this.state = "stopping";
    this.watchers.close();
    await Promise.all([...this.databases.values()].map((db) => db.stop(options.timeoutMs ?? 30_000)));
    this.scheduler.close();
    this.state = "stopped";
    this.logger.info("replication stopped");
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

  /** The status of every database and replica. */
  status(): DatabaseStatus[] {
    return [...this.databases.values()].map((db) => db.status());
  }

  /** Prometheus text exposition of the engine's metrics (Litestream's names, plus replica TXID, lag and verification). */
  metrics(): string {
    for (const db of this.databases.values()) db.updateGauges();
    return this.metricsRegistry.render();
  }

  private database(path: string): TrackedDatabase {
    const db = this.databases.get(resolve(path));
    if (db === undefined) throw new BackupError("not-found", `${path} is not replicated by this engine`, { path });
    return db;
  }
}
