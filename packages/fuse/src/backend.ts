// The contract between the filesystem and the engine behind it (@sqlrep/cluster):
// what the mount asks of the engine. The mount holds no replication logic.

/** Where a database's real files live under the data directory. */
export interface DatabasePaths {
  /** The SQLite database file; it exists (possibly empty) while the database does. */
  readonly database: string;
  /** The rollback journal, `-wal` and `-shm`: created and removed by SQLite through the mount. */
  readonly journal: string;
  readonly wal: string;
  readonly shm: string;
}

/** A database's replication position, shown by `<db>-pos` as `%016x/%016x\n`. */
export interface DatabasePosition {
  /** The last transaction applied (0 before the first). */
  readonly txid: number;
  /** The database checksum after it (bit 63 set), 0n before the first transaction. */
  readonly checksum: bigint;
  /** Milliseconds since the epoch of that transaction: the mtime of `<db>-pos`. */
  readonly timestamp: number;
}

/**
 * What `.lag` shows (`%+010d\n`, milliseconds): 0 on the primary, int32 max while a
 * replica's first sync has not finished, then now − `timestamp`, the primary's clock
 * on the newest transaction or heartbeat received.
 */
export type LagState = { readonly kind: "primary" } | { readonly kind: "syncing" } | { readonly kind: "since"; readonly timestamp: number };

/** The WAL range a WAL-mode transaction came from (LTX header fields). */
export interface WalRange {
  /** Byte offset of the transaction's first frame in the `-wal` file. */
  readonly offset: number;
  /** Bytes of its frames. */
  readonly size: number;
  readonly salt1: number;
  readonly salt2: number;
}

/**
 * One committed transaction as the mount captured it: every page it changed, sorted,
 * the lock page left out, handed over in one piece (page `i` is
 * `data.subarray(i * pageSize, (i + 1) * pageSize)`).
 */
export interface CommitTransaction {
  readonly pageSize: number;
  /** The database size in pages after the transaction. */
  readonly commit: number;
  /** Page numbers, strictly ascending, each ≤ `commit`, never the lock page. */
  readonly pgnos: Uint32Array;
  /** `pgnos.length × pageSize` bytes. */
  readonly data: Uint8Array;
  /**
   * How it was detected: `wal` (the WAL write lock released), `rollback` (the journal
   * deleted, truncated or zeroed, or a journal-less write lock released), `raw` (a
   * file copied in with `cp`: every page of the database).
   */
  readonly mode: "wal" | "rollback" | "raw";
  /** WAL mode only. */
  readonly wal: WalRange | undefined;
  /**
   * SQLite made this transaction durable before committing it (rollback-journal mode
   * with `synchronous` NORMAL or FULL: the database was fsynced). An engine that
   * promises what SQLite promises makes its record durable now. WAL transactions are
   * captured before SQLite syncs its WAL, so this is false for them and `sync` follows.
   */
  readonly durable: boolean;
  /** The process that committed (0 when unknown). */
  readonly pid: number;
}

/** Who asked, for logs and refusals, and a signal that fires when they give up. */
export interface RequestContext {
  /** The process id of the caller, as the kernel reported it. */
  readonly pid: number;
  readonly signal: AbortSignal;
}

/** What changed in the backend: the mount re-reads the named parts. */
export type BackendChange =
  /** Databases appeared or went (a replica received a new one, or a drop). */
  | { readonly type: "databases" }
  /** One database's position or writability changed. */
  | { readonly type: "database"; readonly name: string }
  /** The node's role changed: writability of every database, `.primary`, `.lag`. */
  | { readonly type: "role" }
  /** `.lag`'s state changed (first sync done, a heartbeat arrived). */
  | { readonly type: "lag" };

/**
 * What the FUSE filesystem needs from the engine behind it. Getters are synchronous
 * and cheap (the mount calls them when `watch` reports a change); the async methods
 * answer a process waiting in a system call, so they should settle promptly. A
 * rejection becomes an errno for that process (`errnoOf`: a `FuseError("read-only")`
 * is EACCES, which SQLite reports as SQLITE_READONLY).
 */
export interface FuseBackend {
  /** The data directory; `statfs` on the mount reports its filesystem. */
  readonly dataDir: string;

  /** The databases this node has, by name: `app.db`, `tenants/a.db` (a `/` is a subdirectory). */
  databases(): readonly string[];
  /** Where `name`'s real files live. */
  paths(name: string): DatabasePaths;
  /** Whether SQLite on this node may write `name`: on the primary, and on a replica holding its halt lock. */
  writable(name: string): boolean;
  /** `name`'s position for `<db>-pos`. */
  position(name: string): DatabasePosition;
  /** `.primary`: the primary's hostname while this node is a replica connected to it, else null (no file). */
  primaryHostname(): string | null;
  /** `.lag`. */
  lag(): LagState;

  /**
   * A process created `name` in the mount: create the empty database file (and
   * whatever the engine keeps for it). Reject with `FuseError("read-only")` on a replica.
   */
  createDatabase(name: string, ctx: RequestContext): Promise<void>;
  /** A process deleted `name` on the primary: drop it (an LTX with commit 0 in LiteFS). */
  dropDatabase(name: string, ctx: RequestContext): Promise<void>;
  /**
   * Capture one committed transaction: resolve once it is in the engine's log (and
   * durable there if `tx.durable`). Called in commit order, one at a time per
   * database; SQLite's writer waits until it settles. A rejection makes SQLite roll
   * the transaction back (WAL mode: the write of its commit frame fails, ENOSPC as
   * SQLITE_FULL; rollback mode: the journal stays and rolls it back). Only a
   * transaction found at an unusual point (a journal-less mode, a writer that died
   * holding the WAL lock) is past rolling back: the database then refuses access
   * (EIO) until the engine recovers it and reports a role change.
   */
  commit(name: string, tx: CommitTransaction, ctx: RequestContext): Promise<void>;
  /**
   * SQLite fsynced `name`'s WAL (`synchronous=FULL`): make every transaction
   * committed so far durable in the engine's log too; SQLite waits for it.
   */
  sync(name: string): Promise<void>;
  /**
   * A process took the halt lock (write lock on byte 72 of `<db>-lock`): on a replica,
   * halt the primary and catch up to its position, then report `writable(name)` true
   * until `unhalt`. A no-op on the primary. `ctx.signal` fires if the process is
   * interrupted. Reject with `FuseError("lock-timeout")` (EAGAIN) when it cannot.
   */
  halt(name: string, ctx: RequestContext): Promise<void>;
  /** The halt lock was released (unlock, close, or the process died). */
  unhalt(name: string): Promise<void>;

  /** Subscribes to changes; returns the unsubscribe function. */
  watch(listener: (change: BackendChange) => void): () => void;
}
