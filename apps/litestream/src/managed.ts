/**
 * The databases a running `replicate` manages, by path: those of the config, those a
 * directory watch finds, those registered over the control socket. Each is running
 * (in the engine) or stopped (known, kept for `start`); this is what `list` shows.
 */
import type { BackupEngine, DatabaseOptions, UnshippedReport } from "@sqlrep/backup";
import type { ReplicaRegistry } from "@sqlrep/replica";
import type { DatabaseConfig } from "./config.js";
import { createClient } from "./context.js";

/** One managed database. */
export interface ManagedDatabase {
  config: DatabaseConfig;
  running: boolean;
}

/** The engine's databases as `replicate` manages them (add/remove/start/stop while running). */
export class ManagedDatabases {
  private readonly entries = new Map<string, ManagedDatabase>();

  constructor(
    private readonly engine: BackupEngine,
    private readonly registry: ReplicaRegistry,
  ) {}

  /** The engine options of a database config (a client per replica, from the registry). */
  options(db: DatabaseConfig): DatabaseOptions {
    return {
      path: db.path,
      ...db.settings,
      replicas: db.replicas.map((r) => ({ name: r.name, client: createClient(this.registry, r), ...(r.syncInterval !== undefined ? { syncInterval: r.syncInterval } : {}) })),
    };
  }

  /** Records a database the engine was constructed with (running once the engine starts). */
  adopt(db: DatabaseConfig): void {
    this.entries.set(db.path, { config: db, running: true });
  }

  /** Adds a database and starts replicating it; false when the path is already managed. */
  async add(db: DatabaseConfig): Promise<boolean> {
    if (this.entries.has(db.path)) return false;
    await this.registry.load(db.replicas.map((r) => r.spec.type));
    const options = this.options(db);
    const entry: ManagedDatabase = { config: db, running: true };
    this.entries.set(db.path, entry);
    try {
      await this.engine.addDatabase(options);
    } catch (err) {
      this.entries.delete(db.path);
      throw err;
    }
    return true;
  }

  /** Stops replicating a database (final sync) and forgets it; undefined when it was not managed. */
  async remove(path: string, timeoutMs?: number): Promise<UnshippedReport[] | undefined> {
    const entry = this.entries.get(path);
    if (entry === undefined) return undefined;
    const report = entry.running ? await this.engine.removeDatabase(path, timeoutMs !== undefined ? { timeoutMs } : {}) : [];
    this.entries.delete(path);
    return report;
  }

  /** Starts a stopped database again: "started", "already_running", or undefined when not managed. */
  async start(path: string): Promise<"started" | "already_running" | undefined> {
    const entry = this.entries.get(path);
    if (entry === undefined) return undefined;
    if (entry.running) return "already_running";
    await this.engine.addDatabase(this.options(entry.config));
    entry.running = true;
    return "started";
  }

  /** Stops a database (final sync) but keeps it for `start`: "stopped", "already_stopped", or undefined. */
  async stop(path: string, timeoutMs?: number): Promise<{ status: "stopped" | "already_stopped"; unshipped: UnshippedReport[] } | undefined> {
    const entry = this.entries.get(path);
    if (entry === undefined) return undefined;
    if (!entry.running) return { status: "already_stopped", unshipped: [] };
    entry.running = false;
    try {
      return { status: "stopped", unshipped: await this.engine.removeDatabase(path, timeoutMs !== undefined ? { timeoutMs } : {}) };
    } catch (err) {
      entry.running = true;
      throw err;
    }
  }

  get(path: string): ManagedDatabase | undefined {
    return this.entries.get(path);
  }

  /** Every managed database, in the order they were added. */
  list(): ManagedDatabase[] {
    return [...this.entries.values()];
  }
}
