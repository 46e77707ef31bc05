/**
 * The store: every database of a data directory, opened at start (fast: no database is
 * hashed), created and dropped by name, made durable shortly after each change, pruned
 * by `data.retention`, and verified in the background. One event stream for the node.
 */
import { type Dirent, readdirSync, rmSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { silentLogger, type LogEntry, type Logger } from "@sqlrep/shipper";
import { ClusterError, describeError } from "../errors.js";
import { DataDir } from "./data-dir.js";
import { Database, type DatabasePosition } from "./database.js";
import type { DatabaseIo } from "./io.js";
import { checkDatabaseName } from "./names.js";
import { applyRetention, holdForRetention } from "./retention.js";
import { verifyFailure, verifyView } from "./verify.js";

/** Options of {@link Store.open} (durations in ms). */
export interface StoreOptions {
  /** `data.dir`. */
  dataDir: string;
  /** The mount's hooks (apps/litefs); without them the engine writes database files itself. */
  io?: DatabaseIo | undefined;
  logger?: Logger | undefined;
  /** `data.retention`: LTX files are kept at least this long (default 10 minutes). */
  retention?: number | undefined;
  /** `data.retention-monitor-interval` (default 1 minute). */
  retentionMonitorInterval?: number | undefined;
  /** A change is made durable (database and checksum table fsynced, position written) within this long (default 1000). */
  syncInterval?: number | undefined;
  /** Bytes of LTX files kept per database at most (default 1 GiB). */
  maxLogBytes?: number | undefined;
  /** Verify every database against its position in the background after opening (default true). */
  verifyOnOpen?: boolean | undefined;
  /** The node ID (default: a new random one). */
  nodeId?: string | undefined;
}

/** What happened in the store. */
export type StoreEvent =
  /** A transaction was committed or applied (`entry`: its LTX file), or a snapshot restored. */
  | { type: "position"; name: string; position: DatabasePosition; entry: LogEntry | undefined }
  /** A database appeared. */
  | { type: "created"; name: string }
  /** A database was dropped. */
  | { type: "dropped"; name: string }
  /** A database is refused (verification or a write failed). */
  | { type: "failed"; name: string; error: ClusterError }
  /** A snapshot replaced a database. */
  | { type: "restored"; name: string; position: DatabasePosition };

/**
 * Every database of one data directory. Names are paths (`tenants/acme.db`); each
 * lives in `dbs/<name>/`.
 */
export class Store {
  readonly dataDir: DataDir;
  readonly logger: Logger;
  private readonly options: StoreOptions;
  private readonly dbs = new Map<string, Database>();
  private readonly opening = new Map<string, Promise<Database>>();
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private readonly syncTimers = new Map<string, NodeJS.Timeout>();
  private retentionTimer: NodeJS.Timeout | undefined;
  private readonly verifyQueue: string[] = [];
  private verifying: Promise<void> | undefined;
  private readonly stop = new AbortController();
  private closed = false;

  private constructor(options: StoreOptions) {
    this.options = options;
    this.logger = options.logger ?? silentLogger;
    this.dataDir = new DataDir(options.dataDir, options.nodeId);
  }

  /** Opens every database under `<data>/dbs` (re-applying what a crash left), then starts retention and background verification. */
  static async open(options: StoreOptions): Promise<Store> {
    const store = new Store(options);
    for (const name of findDatabases(join(options.dataDir, "dbs"))) await store.openDatabase(name, false);
    const interval = options.retentionMonitorInterval ?? 60_000;
    store.retentionTimer = setInterval(() => store.runRetention(), interval);
    store.retentionTimer.unref();
    if (options.verifyOnOpen ?? true) for (const name of store.databases()) store.scheduleVerify(name);
    return store;
  }

  /** The node ID of this process. */
  get nodeId(): string {
    return this.dataDir.nodeId;
  }

  /** Database names, sorted. */
  databases(): string[] {
    return [...this.dbs.keys()].sort();
  }

  /** A database, if it exists. */
  get(name: string): Database | undefined {
    return this.dbs.get(name);
  }

  /** A database, or `ClusterError("not-found")`. */
  require(name: string): Database {
    const db = this.dbs.get(name);
    if (db === undefined) throw new ClusterError("not-found", `no database ${JSON.stringify(name)} on this node`, { db: name });
    return db;
  }

  /** The database `name`, created empty (TXID 0) when missing. */
  async create(name: string): Promise<Database> {
    checkDatabaseName(name);
    return this.dbs.get(name) ?? this.openDatabase(name, true);
  }

  /** Removes a database and every file of it. */
  async drop(name: string): Promise<void> {
    const db = this.require(name);
    this.dbs.delete(name);
    clearTimeout(this.syncTimers.get(name));
    this.syncTimers.delete(name);
    await db.remove();
    this.emit({ type: "dropped", name });
  }

  /** Calls `listener` on every event; returns the unsubscribe. */
  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Makes every database's position durable now. */
  async syncAll(): Promise<void> {
    for (const db of this.dbs.values()) await db.sync();
  }

  /** Queues a background verification of `name` (after open, or a suspect page). */
  scheduleVerify(name: string): void {
    if (this.closed || this.verifyQueue.includes(name)) return;
    this.verifyQueue.push(name);
    this.verifying ??= this.verifyLoop().finally(() => (this.verifying = undefined));
  }

  /**
   * Verifies one database now: every page of a consistent view against its checksum,
   * the total against the position. A mismatch refuses the database (the error names
   * both checksums and the file) and is returned.
   */
  async verify(name: string, signal?: AbortSignal): Promise<ClusterError | undefined> {
    const db = this.require(name);
    if (db.failed !== undefined) return db.failed;
    const { view, expected } = await db.exclusive(async () => ({ view: await db.openViewNow(), expected: db.frozenChecksums() }));
    let result: Awaited<ReturnType<typeof verifyView>>;
    try {
      result = await verifyView(view, expected, signal);
    } finally {
      view.release();
    }
    if (result.actual === result.expected && result.badPages.length === 0) {
      this.logger.debug("database verified", { db: name, txid: result.txid, pages: result.pages });
      return undefined;
    }
    const error = verifyFailure(name, db.files.database, result);
    db.fail(error);
    return error;
  }

  /** Runs retention over every database now (also runs every `retentionMonitorInterval`). */
  runRetention(now = Date.now()): void {
    const before = now - (this.options.retention ?? 10 * 60_000);
    for (const db of this.dbs.values()) {
      try {
        applyRetention(db.log, before, db.durablePosition.txid);
      } catch (err) {
        this.logger.warn("retention failed", { db: db.name, error: describeError(err) });
      }
    }
  }

  /** Stops timers and background work, makes every position durable, closes every file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop.abort(new ClusterError("closed", "the store is closing"));
    clearInterval(this.retentionTimer);
    for (const timer of this.syncTimers.values()) clearTimeout(timer);
    this.syncTimers.clear();
    this.verifyQueue.length = 0;
    await this.verifying?.catch(() => undefined);
    for (const db of this.dbs.values()) await db.close();
  }

  private async openDatabase(name: string, create: boolean): Promise<Database> {
    const pending = this.opening.get(name);
    if (pending !== undefined) return pending;
    const opening = (async () => {
      const db = await Database.open({ dataDir: this.options.dataDir, name, io: this.options.io, logger: this.logger, maxLogBytes: this.options.maxLogBytes, create });
      holdForRetention(db.log);
      db.subscribe((change) => {
        switch (change.type) {
          case "position":
            this.scheduleSync(db);
            this.emit({ type: "position", name, position: change.position, entry: change.entry });
            break;
          case "failed":
            this.emit({ type: "failed", name, error: change.error });
            break;
          case "restored":
            holdForRetention(db.log);
            this.emit({ type: "restored", name, position: change.position });
            break;
          case "suspect":
            this.logger.warn("database page not what its checksum says; verifying the database", { db: name, detail: change.message });
            this.scheduleVerify(name);
            break;
        }
      });
      this.dbs.set(name, db);
      if (create) this.emit({ type: "created", name });
      return db;
    })();
    this.opening.set(name, opening);
    try {
      return await opening;
    } finally {
      this.opening.delete(name);
    }
  }

  private scheduleSync(db: Database): void {
    if (this.closed || this.syncTimers.has(db.name)) return;
    const timer = setTimeout(() => {
      this.syncTimers.delete(db.name);
      db.sync().catch((err: unknown) => this.logger.error("making the position durable failed", { db: db.name, error: describeError(err) }));
    }, this.options.syncInterval ?? 1000);
    timer.unref();
    this.syncTimers.set(db.name, timer);
  }

  private async verifyLoop(): Promise<void> {
    while (!this.closed && this.verifyQueue.length > 0) {
      const name = this.verifyQueue.shift()!;
      if (!this.dbs.has(name)) continue;
      try {
        const error = await this.verify(name, this.stop.signal);
        if (error !== undefined) this.logger.error("database verification failed", { db: name, error: error.message });
      } catch (err) {
        if (!this.closed) this.logger.warn("database verification could not run", { db: name, error: describeError(err) });
      }
    }
  }

  private emit(event: StoreEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger.error("store listener failed", { event: event.type, error: describeError(err) });
      }
    }
  }
}

/** Database names under `dbs/`: every directory holding a `pos` or `database` file, as a `/` path. */
function findDatabases(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    if (dir !== root && entries.some((e) => e.isFile() && (e.name === "database" || e.name === "pos"))) out.push(relative(root, dir).split(sep).join("/"));
    for (const e of entries) if (e.isDirectory() && e.name !== "ltx") walk(join(dir, e.name));
  };
  walk(root);
  // Leftover temp files of an interrupted snapshot are not databases.
  for (const name of out) rmSync(join(root, ...name.split("/"), "database.tmp"), { force: true });
  return out.filter((name) => {
    try {
      checkDatabaseName(name);
      return statSync(join(root, ...name.split("/"))).isDirectory();
    } catch {
      return false;
    }
  });
}
