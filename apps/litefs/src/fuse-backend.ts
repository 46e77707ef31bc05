// The FUSE mount's backend over the cluster engine: the mount asks, the node and its
// store answer (positions, role, lag, commits, halts), and the store writes a replica's
// transactions into the mount through the DatabaseIo hooks this module also provides.
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
import { memoryView, readCommittedImage, type WalMark } from "./committed-image.js";

/**
 * The engine's side of the mount. `io` goes to `Store.open` before the mount exists
 * (the store needs it, the mount needs the store): applies wait for `attach(mount)`.
 */
export class ClusterFuseBackend implements FuseBackend {
  readonly dataDir: string;
  private node: ClusterNode | undefined;
  private mount: FuseMount | undefined;
  private readonly marks = new Map<string, WalMark>();
  private mounted!: (mount: FuseMount) => void;
  private readonly mountReady = new Promise<FuseMount>((resolve) => (this.mounted = resolve));

  /** The hooks `Store.open` takes: applies and snapshot restores go through the mount's locks. */
  readonly io: DatabaseIo;

  constructor(dataDir: string) {
    this.dataDir = dataDir;
    this.io = {
      apply: async (name: string, tx: ApplyTransaction) => {
        const mount = this.mount ?? (await this.mountReady);
        this.marks.delete(name);
        await mount.apply(name, tx);
      },
      withWriteLock: async <T>(name: string, fn: () => Promise<T>) => {
        // Before the mount exists (opening the store) nobody else can touch the files.
        const mount = this.mount;
        this.marks.delete(name);
        return mount === undefined ? fn() : mount.withWriteLock(name, fn);
      },
      openView: async (name: string, state: ViewState): Promise<PageView> => {
        const files = databaseFiles(this.dataDir, name);
        return memoryView(state, readCommittedImage(name, files, state, this.marks.get(name)));
      },
    };
  }

  /** The node behind the mount; set once, before mounting. */
  bind(node: ClusterNode): void {
    this.node = node;
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
