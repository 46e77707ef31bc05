// The FUSE mount's backend over the cluster engine: the mount asks, the node and its
// store answer (positions, role, lag, commits, halts), and the store writes a replica's
// transactions into the mount through the DatabaseIo hooks this module also provides.
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, statSync, truncateSync, writeSync } from "node:fs";
import { ClusterError, databaseFiles, isClusterError, type ApplyTransaction, type ClusterNode, type DatabaseIo, type PageView, type ViewState } from "@sqlrep/cluster";
import {
  FuseError,
  type BackendChange,
  type CommitTransaction,
  type DatabasePaths,
  type DatabasePosition,
  type FuseBackend,
  type FuseMount,
  type LagState,
  type RequestContext,
} from "@sqlrep/fuse";
import { silentLogger, type Logger } from "@sqlrep/runtime";
import { memoryView, readCommittedImage, type WalMark } from "./committed-image.js";
import { foldWalInto, rollBackJournal } from "./startup-recovery.js";

/**
 * The engine's side of the mount. `io` goes to `Store.open` before the mount exists
 * (the store needs it, the mount needs the store): applies wait for `attach(mount)`.
 */
export class ClusterFuseBackend implements FuseBackend {
  readonly dataDir: string;
  private node: ClusterNode | undefined;
  private mount: FuseMount | undefined;
  private readonly marks = new Map<string, WalMark>();
  private readonly settling = new Set<Promise<unknown>>();
  private mounted!: (mount: FuseMount) => void;
  private readonly mountReady = new Promise<FuseMount>((resolve) => (this.mounted = resolve));

  /** The hooks `Store.open` takes: applies and snapshot restores go through the mount's locks. */
  readonly io: DatabaseIo;

  constructor(
    dataDir: string,
    private readonly logger: Logger = silentLogger,
  ) {
    this.dataDir = dataDir;
    this.io = {
      apply: async (name: string, tx: ApplyTransaction) => {
        const mount = this.mount ?? (await this.mountReady);
        this.marks.delete(name);
        if (this.node?.isPrimary) return this.applyOnPrimary(mount, name, tx);
        await mount.apply(name, tx);
      },
      withWriteLock: async <T>(name: string, fn: () => Promise<T>) => {
        // Before the mount exists (opening the store) nobody else can touch the files.
        const mount = this.mount;
        this.marks.delete(name);
        if (mount === undefined) return fn();
        // The file now holds the whole state (a snapshot): frames left in the WAL are
        // obsolete, and SQLite would lay them over it when it next rebuilds its index.
        return mount.withWriteLock(name, async () => {
          const result = await fn();
          emptyWal(databaseFiles(this.dataDir, name).wal);
          return result;
        });
      },
      openView: async (name: string, state: ViewState): Promise<PageView> => {
        const files = databaseFiles(this.dataDir, name);
        return memoryView(state, readCommittedImage(name, files, state, this.marks.get(name)));
      },
    };
  }

  /**
   * A transaction a replica forwarded under the halt lock, written on the primary: the
   * WAL (if any) is folded into the file first — its frames would otherwise hide the new
   * pages, and the WAL-index header the mount rewrites says the WAL is empty — then the
   * pages and the size, all under SQLite's write locks; the mount then drops every
   * cached page.
   */
  private async applyOnPrimary(mount: FuseMount, name: string, tx: ApplyTransaction): Promise<void> {
    const files = databaseFiles(this.dataDir, name);
    const before = this.node?.store.get(name)?.position;
    await mount.withWriteLock(name, async () => {
      if (before !== undefined && before.txid > 0 && existsSync(files.wal) && statSync(files.wal).size > 0) {
        const folded = foldWalInto(files, new Set([before.checksum]));
        if (folded === "no-match")
          throw new ClusterError("corrupt", `${name}: the WAL adds up to no state this node logged; cannot write the forwarded transaction`, { db: name, file: files.wal });
        emptyWal(files.wal);
      }
      writePagesInto(files.database, tx);
    });
  }

  /** The node behind the mount; set once, before mounting. */
  bind(node: ClusterNode): void {
    this.node = node;
    let wasPrimary = false;
    node.events.subscribe((event) => {
      if (event.type !== "primaryChange") return;
      if (event.isPrimary) wasPrimary = true;
      else if (wasPrimary) {
        wasPrimary = false;
        this.settleAfterDemotion(node);
      }
    });
  }

  /**
   * LiteFS's recovery on leaving the primary role: each WAL database's captured frames
   * are folded into its file and the WAL emptied, under SQLite's locks and the
   * database's engine lock (applies as a replica wait), so replica applies land on a
   * file that is the whole state and no later WAL-index rebuild lays old frames over them.
   */
  private settleAfterDemotion(node: ClusterNode): void {
    for (const name of node.store.databases()) {
      const db = node.store.get(name);
      const mount = this.mount;
      if (db === undefined || mount === undefined) continue;
      const settling = db
        .exclusive(() =>
          mount.withWriteLock(name, async () => {
            const files = databaseFiles(this.dataDir, name);
            if (!existsSync(files.wal) || statSync(files.wal).size === 0 || db.position.txid === 0) {
              this.logger.debug("no WAL frames to fold after losing the primary role", { db: name });
              return;
            }
            const result = foldWalInto(files, new Set([db.position.checksum]));
            if (result === "no-match") {
              this.logger.error("after losing the primary role, the WAL adds up to no state the node logged; left as it is", { db: name });
              return;
            }
            emptyWal(files.wal);
            this.marks.delete(name);
            this.logger.info("WAL folded into the database after losing the primary role", { db: name, transactions: result.folded });
          }),
        )
        .catch((err: unknown) => this.logger.error("settling the WAL after losing the primary role failed", { db: name, error: (err as Error).message }))
        .finally(() => this.settling.delete(settling));
      this.settling.add(settling);
    }
  }

  /** Resolves once the WAL settling after a demotion is done (before unmounting). */
  async idle(): Promise<void> {
    while (this.settling.size > 0) await Promise.all([...this.settling]);
  }

  /** The mount, once it is up: replica applies wait for it. */
  attach(mount: FuseMount): void {
    this.mount = mount;
    this.mounted(mount);
  }

  private get engine(): ClusterNode {
    if (this.node === undefined) throw new FuseError("not-mounted", "the backend has no cluster node yet");
    return this.node;
  }

  databases(): readonly string[] {
    return this.engine.store.databases();
  }

  paths(name: string): DatabasePaths {
    const files = databaseFiles(this.dataDir, name);
    return { database: files.database, journal: files.journal, wal: files.wal, shm: files.shm };
  }

  writable(name: string): boolean {
    return this.engine.writable(name);
  }

  position(name: string): DatabasePosition {
    const db = this.engine.store.get(name);
    if (db === undefined) return { txid: 0, checksum: 0n, timestamp: 0 };
    const pos = db.position;
    return { txid: pos.txid, checksum: pos.txid === 0 ? 0n : pos.checksum, timestamp: pos.timestamp };
  }

  primaryHostname(): string | null {
    return this.engine.primaryHostname();
  }

  lag(): LagState {
    return this.engine.lag();
  }

  async createDatabase(name: string, ctx: RequestContext): Promise<void> {
    try {
      await this.engine.create(name);
    } catch (err) {
      throw toFuseError(err, name, ctx);
    }
  }

  async dropDatabase(name: string, ctx: RequestContext): Promise<void> {
    try {
      await this.engine.drop(name);
      this.marks.delete(name);
    } catch (err) {
      throw toFuseError(err, name, ctx);
    }
  }

  async commit(name: string, tx: CommitTransaction, ctx: RequestContext): Promise<void> {
    try {
      // SQLite wrote the pages itself (into the file, or the WAL): only the log moves.
      await this.engine.commit(name, { pgnos: tx.pgnos, data: tx.data }, tx.commit, { written: true, durable: tx.durable });
    } catch (err) {
      throw toFuseError(err, name, ctx);
    }
    if (tx.wal !== undefined) this.marks.set(name, { salt1: tx.wal.salt1, salt2: tx.wal.salt2, end: tx.wal.offset + tx.wal.size });
    else this.marks.delete(name);
  }

  async sync(name: string): Promise<void> {
    await this.engine.store.get(name)?.syncLog();
  }

  async halt(name: string, ctx: RequestContext): Promise<void> {
    try {
      await this.engine.halt(name, ctx.signal);
    } catch (err) {
      if (isClusterError(err, "aborted")) throw new FuseError("aborted", `halt of ${name} interrupted (pid ${ctx.pid})`, { cause: err, database: name });
      throw new FuseError("lock-timeout", `cannot halt the primary for ${name} (pid ${ctx.pid}): ${(err as Error).message}`, { cause: err, database: name });
    }
  }

  async unhalt(name: string): Promise<void> {
    await this.engine.unhalt(name);
    await this.rollBackAbandoned(name);
  }

  /**
   * A rollback-journal writer that died (or gave up) inside a forwarded transaction
   * leaves its hot journal and its pages in this replica's file. SQLite's next reader
   * would roll it back but cannot here (the journal cannot be opened for writing on a
   * replica: "unable to open database file"), so it is rolled back here, under SQLite's
   * locks, and the mount drops the cached pages. WAL mode needs nothing: frames without
   * a commit frame are ignored by every reader.
   */
  private async rollBackAbandoned(name: string): Promise<void> {
    const files = databaseFiles(this.dataDir, name);
    if (this.mount === undefined || this.node?.isPrimary || !existsSync(files.journal)) return;
    const rolledBack = await this.mount.withWriteLock(name, async () => rollBackJournal(files.database, files.journal));
    if (rolledBack) this.logger.warn("rolled back a forwarded transaction whose writer left it unfinished when the halt lock was released", { db: name });
  }

  watch(listener: (change: BackendChange) => void): () => void {
    return this.engine.events.subscribe((event) => {
      switch (event.type) {
        case "tx":
          listener({ type: "database", name: event.db });
          break;
        case "databases":
          listener({ type: "databases" });
          break;
        case "primaryChange":
        case "ready":
          listener({ type: "role" });
          listener({ type: "lag" });
          break;
        case "lag":
          listener({ type: "lag" });
          break;
        case "refused":
          listener({ type: "database", name: event.db });
          break;
        default:
          break;
      }
    });
  }
}

/** Writes a transaction's pages into a database file and sets its size, then fsyncs it. */
function writePagesInto(file: string, tx: ApplyTransaction): void {
  const fd = openSync(file, "r+");
  try {
    for (let i = 0; i < tx.pgnos.length; i++) writeSync(fd, tx.data, i * tx.pageSize, tx.pageSize, (tx.pgnos[i]! - 1) * tx.pageSize);
    ftruncateSync(fd, tx.commit * tx.pageSize);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Cuts a WAL file to nothing (kept: a replica's SQLite needs it to exist to open read-only). */
function emptyWal(path: string): void {
  try {
    truncateSync(path, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

/** An engine refusal as the errno the writing process gets. */
function toFuseError(err: unknown, name: string, ctx: RequestContext): Error {
  if (isClusterError(err, "read-only") || isClusterError(err, "not-primary")) {
    return new FuseError("read-only", `${name}: pid ${ctx.pid}: ${(err as ClusterError).message}`, { cause: err, database: name });
  }
  if ((err as NodeJS.ErrnoException | null)?.code === "ENOSPC" || /ENOSPC/.test(String((err as Error | null)?.message))) {
    return new FuseError("no-space", `${name}: the data directory is full (pid ${ctx.pid})`, { cause: err, database: name });
  }
  return err instanceof Error ? err : new ClusterError("io", String(err), { db: name });
}
