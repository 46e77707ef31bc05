// Mounting: starts the FUSE threads of the addon, keeps its table of databases and
// virtual files in step with the backend, and answers what the FUSE threads ask of
// JavaScript (commits, creates, drops, halts), one database's commits in order.
import type { BackendChange, CommitTransaction, FuseBackend, RequestContext } from "./backend.js";
import { errnoOf, FuseError, isFuseError } from "./errors.js";
import { loadNative, type NativeBinding, type NativeEvent, type NativeHandle, type NativeTransaction } from "./native.js";
import { formatPosition, LAG_NOT_SYNCED } from "./virtual-files.js";

/** Where the mount reports what it refused or failed at; passed in, never global. */
export interface FuseLogger {
  debug?(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Options of {@link mount}. */
export interface MountOptions {
  /** An existing empty directory. */
  mountpoint: string;
  backend: FuseBackend;
  logger?: FuseLogger;
  /**
   * Seconds the kernel may cache names and attributes (default 1). Changes made
   * through the mount and the daemon's own writes are invalidated explicitly, so this
   * only bounds how long a missed invalidation could matter.
   */
  entryTimeout?: number;
  attrTimeout?: number;
  /** Extra `-o` mount options for libfuse. */
  fuseOptions?: string;
  /** Print every refusal on stderr too. */
  debug?: boolean;
  /** Aborting it unmounts. */
  signal?: AbortSignal;
}

/** A transaction for {@link FuseMount.apply}: the pages to write, sorted. */
export interface ApplyTransaction {
  readonly pageSize: number;
  /** Database size in pages afterwards: the file is cut or extended to it. */
  readonly commit: number;
  readonly pgnos: Uint32Array;
  readonly data: Uint8Array;
}

/** Options of {@link FuseMount.apply} and {@link FuseMount.withWriteLock}. */
export interface WriteLockOptions {
  /** How long to wait for SQLite readers to leave a gap (default 10 000 ms). */
  timeoutMs?: number;
  /** fdatasync the database file before releasing the locks (apply only). */
  sync?: boolean;
}

/** Operation counts since the mount started (what reached the daemon). */
export type FuseStats = Record<
  | "lookup"
  | "getattr"
  | "setattr"
  | "open"
  | "create"
  | "read"
  | "write"
  | "flush"
  | "release"
  | "fsync"
  | "unlink"
  | "setlk"
  | "getlk"
  | "readdir"
  | "other"
  | "commit"
  | "apply"
  /** total nanoseconds FUSE requests waited for JavaScript's answer, and how many did */
  | "jsWaitNs"
  | "jsWaits",
  number
>;

/** A mounted filesystem. */
export interface FuseMount {
  readonly mountpoint: string;
  /**
   * Writes a transaction into database `name` as a replica receives it: takes
   * SQLite's write locks (waiting for readers to leave a gap, never across network
   * I/O: the pages are in memory), writes and sizes the file, invalidates the
   * kernel's cached pages of what changed, rewrites the WAL-index header so WAL
   * readers drop their caches, releases the locks. Readers see all of it or none.
   */
  apply(name: string, tx: ApplyTransaction, options?: WriteLockOptions): Promise<void>;
  /**
   * Runs `fn` holding SQLite's write locks on `name` (for a snapshot restore or a
   * recovery that rewrites the file itself), then invalidates every cached page and
   * rewrites the WAL-index header. Keep network I/O out of `fn`.
   */
  withWriteLock<T>(name: string, fn: () => Promise<T>, options?: WriteLockOptions): Promise<T>;
  /** Re-reads every database, position, `.primary` and `.lag` from the backend. */
  refresh(): void;
  stats(): FuseStats;
  /** Unmounts (lazily: files still open keep working up to 5 s, then are cut off). */
  unmount(): Promise<void>;
  /** Settles when the mount is gone. */
  readonly closed: Promise<void>;
}

const EIO = 5;
const ENOENT = 2;

const noop = () => {};
const silentLogger: FuseLogger = { info: noop, warn: noop, error: noop };

/**
 * Mounts `backend`'s databases at `mountpoint`. Requires root (or a fuse group setup)
 * and /dev/fuse. Never open a database of the mount from this process: the addon
 * serves files on its own threads, but a synchronous SQLite call here would block the
 * JavaScript thread that commits wait for (DESIGN.md, process boundaries).
 */
export async function mount(options: MountOptions): Promise<FuseMount> {
  const native = loadNative();
  const mounted = new Mount(native, options);
  await mounted.start();
  return mounted;
}

class Mount implements FuseMount {
  readonly mountpoint: string;
  readonly closed: Promise<void>;
  private handle: NativeHandle | undefined;
  private readonly backend: FuseBackend;
  private readonly logger: FuseLogger;
  private readonly names = new Map<number, string>();
  private readonly ids = new Map<string, number>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly halts = new Map<number, AbortController>();
  private unwatch: (() => void) | undefined;
  private resolveClosed!: () => void;
  private unmounting: Promise<void> | undefined;

  constructor(
    private readonly native: NativeBinding,
    private readonly options: MountOptions,
  ) {
    this.mountpoint = options.mountpoint;
    this.backend = options.backend;
    this.logger = options.logger ?? silentLogger;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  async start(): Promise<void> {
    const { options } = this;
    if (options.signal?.aborted) throw new FuseError("aborted", `mount of ${this.mountpoint} aborted`, { cause: options.signal.reason });
    try {
      this.handle = this.native.mount(
        this.mountpoint,
        {
          statfsPath: this.backend.dataDir,
          entryTimeout: options.entryTimeout ?? 1,
          attrTimeout: options.attrTimeout ?? 1,
          debug: options.debug ? 1 : 0,
          options: options.fuseOptions ?? "",
        },
        (event) => this.onEvent(event),
      );
    } catch (error) {
      throw new FuseError("mount-failed", `cannot mount ${this.mountpoint}: ${(error as Error).message}`, { cause: error, file: this.mountpoint });
    }
    try {
      this.unwatch = this.backend.watch((change) => this.onChange(change));
      this.refresh();
    } catch (error) {
      await this.unmount();
      throw error;
    }
    options.signal?.addEventListener("abort", () => void this.unmount().catch(noop), { once: true });
  }

  private live(): NativeHandle {
    if (!this.handle || this.unmounting) throw new FuseError("not-mounted", `${this.mountpoint} is not mounted`);
    return this.handle;
  }

  refresh(): void {
    this.syncDatabases();
    for (const name of this.ids.keys()) this.syncDatabase(name);
    this.syncRole();
  }

  private onChange(change: BackendChange): void {
    if (!this.handle || this.unmounting) return;
    try {
      if (change.type === "databases") this.syncDatabases();
      else if (change.type === "database") this.syncDatabase(change.name);
      else if (change.type === "lag") this.syncLag();
      else this.refresh();
    } catch (error) {
      this.logger.error(`cannot follow a backend change (${change.type}): ${(error as Error).message}`);
    }
  }

  private syncDatabases(): void {
    const handle = this.live();
    const wanted = new Set(this.backend.databases());
    for (const name of wanted) if (!this.ids.has(name)) this.add(name);
    for (const name of [...this.ids.keys()]) {
      if (wanted.has(name)) continue;
      this.native.removeDatabase(handle, name);
      this.forget(name);
    }
  }

  private add(name: string): void {
    const paths = this.backend.paths(name);
    const pos = this.backend.position(name);
    const id = this.native.addDatabase(
      this.live(),
      name,
      [paths.database, paths.journal, paths.wal, paths.shm],
      this.backend.writable(name),
      formatPosition(pos.txid, pos.checksum),
      pos.timestamp,
    );
    this.ids.set(name, id);
    this.names.set(id, name);
  }

  private forget(name: string): void {
    const id = this.ids.get(name);
    this.ids.delete(name);
    if (id !== undefined) this.names.delete(id);
  }

  private syncDatabase(name: string): void {
    if (!this.ids.has(name)) return;
    const pos = this.backend.position(name);
    this.native.updateDatabase(this.live(), name, this.backend.writable(name), formatPosition(pos.txid, pos.checksum), pos.timestamp);
  }

  private syncRole(): void {
    this.native.setPrimary(this.live(), this.backend.primaryHostname());
    this.syncLag();
  }

  private syncLag(): void {
    const lag = this.backend.lag();
    if (lag.kind === "primary") this.native.setLag(this.live(), 0, 0);
    else if (lag.kind === "syncing") this.native.setLag(this.live(), 0, LAG_NOT_SYNCED);
    else this.native.setLag(this.live(), 1, lag.timestamp);
  }

  private complete(token: number, errno: number): void {
    if (this.handle) this.native.complete(this.handle, token, errno);
  }

  /** Runs `task` after everything queued for database `name`. */
  private enqueue(name: string, task: () => Promise<void>): void {
    const next = (this.chains.get(name) ?? Promise.resolve()).then(task, task);
    this.chains.set(name, next);
    void next.then(() => {
      if (this.chains.get(name) === next) this.chains.delete(name);
    });
  }

  private onEvent(event: NativeEvent): void {
    switch (event.type) {
      case "log":
        this.log(event.level, event.message);
        return;
      case "commit":
        return this.onCommit(event);
      case "create":
        return this.onCreate(event);
      case "drop":
        return this.onDrop(event);
      case "halt":
        return this.onHalt(event);
      case "sync":
        return this.onSync(event);
      case "unhalt": {
        const name = this.names.get(event.db);
        if (name) this.enqueue(name, () => this.backend.unhalt(name).catch((error: unknown) => this.logger.error(`unhalt of ${name} failed: ${String(error)}`)));
        return;
      }
      case "interrupt": {
        const halt = this.halts.get(event.token);
        if (halt) halt.abort(new FuseError("aborted", "the process waiting for the halt lock was interrupted"));
        else if (this.handle) this.native.interrupt(this.handle, event.token);
        return;
      }
    }
  }

  private log(level: number, message: string): void {
    if (level >= 3) this.logger.error(message);
    else if (level === 2) this.logger.warn(message);
    else if (level === 1) this.logger.info(message);
    else this.logger.debug?.(message);
  }

  private context(pid: number, signal?: AbortSignal): RequestContext {
    return { pid, signal: signal ?? new AbortController().signal };
  }

  private onCommit(event: Extract<NativeEvent, { type: "commit" }>): void {
    const name = this.names.get(event.db);
    if (!name) {
      this.complete(event.token, ENOENT);
      return;
    }
    this.enqueue(name, async () => {
      try {
        for (const tx of event.transactions) await this.backend.commit(name, toCommit(tx), this.context(tx.pid));
        this.complete(event.token, 0);
      } catch (error) {
        this.logger.error(`commit of ${name} failed: ${(error as Error).message ?? String(error)}`);
        this.complete(event.token, errnoOf(error) || EIO);
      }
    });
  }

  private onSync(event: Extract<NativeEvent, { type: "sync" }>): void {
    const name = this.names.get(event.db);
    if (!name) {
      this.complete(event.token, 0);
      return;
    }
    this.enqueue(name, async () => {
      try {
        await this.backend.sync(name);
        this.complete(event.token, 0);
      } catch (error) {
        this.logger.error(`sync of ${name}'s log failed: ${(error as Error).message ?? String(error)}`);
        this.complete(event.token, errnoOf(error) || EIO);
      }
    });
  }

  private onCreate(event: Extract<NativeEvent, { type: "create" }>): void {
    const { name } = event;
    this.enqueue(name, async () => {
      try {
        await this.backend.createDatabase(name, this.context(event.pid));
        if (!this.ids.has(name)) this.add(name);
        this.complete(event.token, 0);
      } catch (error) {
        if (!isFuseError(error, "read-only")) this.logger.warn(`create of ${name} failed: ${(error as Error).message ?? String(error)}`);
        else this.logger.warn(`create of ${name} refused (pid ${event.pid}): ${(error as Error).message}`);
        this.complete(event.token, errnoOf(error));
      }
    });
  }

  private onDrop(event: Extract<NativeEvent, { type: "drop" }>): void {
    const { name } = event;
    this.enqueue(name, async () => {
      try {
        await this.backend.dropDatabase(name, this.context(event.pid));
        if (this.ids.has(name) && this.handle) {
          this.native.removeDatabase(this.handle, name);
          this.forget(name);
        }
        this.complete(event.token, 0);
      } catch (error) {
        this.logger.warn(`drop of ${name} failed: ${(error as Error).message ?? String(error)}`);
        this.complete(event.token, errnoOf(error));
      }
    });
  }

  private onHalt(event: Extract<NativeEvent, { type: "halt" }>): void {
    const name = this.names.get(event.db);
    if (!name) {
      this.complete(event.token, ENOENT);
      return;
    }
    const controller = new AbortController();
    this.halts.set(event.token, controller);
    this.enqueue(name, async () => {
      try {
        await this.backend.halt(name, this.context(event.pid, controller.signal));
        this.syncDatabase(name);
        this.complete(event.token, 0);
      } catch (error) {
        this.logger.warn(`halt of ${name} failed (pid ${event.pid}): ${(error as Error).message ?? String(error)}`);
        this.complete(event.token, errnoOf(error));
      } finally {
        this.halts.delete(event.token);
      }
    });
  }

  async apply(name: string, tx: ApplyTransaction, options: WriteLockOptions = {}): Promise<void> {
    checkApply(name, tx);
    try {
      await this.native.apply(this.live(), name, tx.pageSize, tx.commit, tx.pgnos, tx.data, options.timeoutMs ?? 10_000, options.sync ?? false);
    } catch (error) {
      throw nativeError(error, name);
    }
  }

  async withWriteLock<T>(name: string, fn: () => Promise<T>, options: WriteLockOptions = {}): Promise<T> {
    const handle = this.live();
    let id: number;
    try {
      id = await this.native.lockDatabase(handle, name, options.timeoutMs ?? 10_000);
    } catch (error) {
      throw nativeError(error, name);
    }
    try {
      return await fn();
    } finally {
      await this.native.unlockDatabase(handle, name, id);
    }
  }

  stats(): FuseStats {
    return this.native.stats(this.live()) as FuseStats;
  }

  unmount(): Promise<void> {
    if (!this.unmounting) {
      const handle = this.handle;
      this.unwatch?.();
      this.unmounting = (async () => {
        for (const controller of this.halts.values()) controller.abort(new FuseError("not-mounted", "unmounting"));
        if (handle) await this.native.unmount(handle);
        this.resolveClosed();
      })();
    }
    return this.unmounting;
  }
}

function toCommit(tx: NativeTransaction): CommitTransaction {
  return {
    pageSize: tx.pageSize,
    commit: tx.commit,
    pgnos: tx.pgnos,
    data: tx.data,
    mode: tx.mode,
    wal: tx.mode === "wal" ? { offset: tx.walOffset, size: tx.walSize, salt1: tx.walSalt1, salt2: tx.walSalt2 } : undefined,
    durable: tx.durable,
    pid: tx.pid,
  };
}

function checkApply(name: string, tx: ApplyTransaction): void {
  const { pageSize, commit, pgnos, data } = tx;
  const bad = (why: string) => new FuseError("invalid-argument", `apply to ${name}: ${why}`, { database: name });
  if (!Number.isInteger(pageSize) || pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) throw bad(`page size ${pageSize}`);
  if (!Number.isInteger(commit) || commit < 0) throw bad(`commit ${commit}`);
  if (data.length !== pgnos.length * pageSize) throw bad(`${data.length} bytes of data for ${pgnos.length} pages of ${pageSize}`);
  for (let i = 0; i < pgnos.length; i++) {
    const pgno = pgnos[i]!;
    if (pgno < 1 || pgno > commit || (i > 0 && pgno <= pgnos[i - 1]!)) throw bad(`page ${pgno} at index ${i} (pages must ascend within 1..${commit})`);
  }
}

function nativeError(error: unknown, name: string): FuseError {
  const code = (error as { code?: string }).code;
  const message = (error as Error).message ?? String(error);
  if (code === "ETIMEDOUT") return new FuseError("lock-timeout", message, { cause: error, database: name, retryable: true });
  if (code === "ENOENT") return new FuseError("no-database", message, { cause: error, database: name });
  return new FuseError("apply-failed", message, { cause: error, database: name });
}
