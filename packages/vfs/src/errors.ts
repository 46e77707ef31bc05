// The error family of @sqlrep/vfs: one class with a string-literal code, and the SQLite
// result code each code becomes when the page server hands it back to the C shim.

/** Every way the VFS engine can fail; callers branch on `code`. */
export type VfsErrorCode =
  | "invalid-config" // options or environment that cannot be used (no replica URL, bad duration)
  | "empty-replica" // the replica holds no LTX file and write mode is off
  | "replica" // the replica could not be listed or read (network, permissions)
  | "corrupt" // an LTX file is not what its name, index or checksum says
  | "missing-file" // a planned LTX file is gone and re-planning did not help
  | "missing-page" // a page inside the database size is in no file of the plan
  | "snapshot-gone" // a read names a version the server no longer keeps
  | "time" // a litestream_time value that cannot be parsed or reached
  | "read-only" // a write without write mode, or while time travelling
  | "busy" // another connection holds the write lock, or another writer the write lease
  | "lease" // the write lease store did not answer, or the lease was lost: nothing is written meanwhile
  | "stale-snapshot" // a write transaction started on a snapshot that is no longer the newest
  | "conflict" // the replica moved under local commits: refusing to overwrite it
  | "buffer" // the local write buffer cannot be read or written
  | "hydration" // the background hydration failed
  | "closed" // the engine or session was closed
  | "aborted";

/** Options of a {@link VfsError}. */
export interface VfsErrorOptions {
  cause?: unknown;
  /** The LTX file (level and name, or object key), buffer or path the error is about. */
  file?: string | undefined;
  /** Whether retrying may succeed. */
  retryable?: boolean | undefined;
}

/** The single error type of `@sqlrep/vfs`. */
export class VfsError extends Error {
  override readonly name = "VfsError";
  readonly code: VfsErrorCode;
  readonly file: string | undefined;
  readonly retryable: boolean;

  constructor(code: VfsErrorCode, message: string, options: VfsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.file = options.file;
    this.retryable = options.retryable ?? false;
  }
}

/** True for a `VfsError`, including one from another copy of this package. */
export function isVfsError(err: unknown, code?: VfsErrorCode): err is VfsError {
  return err instanceof Error && err.name === "VfsError" && typeof (err as { code?: unknown }).code === "string" && (code === undefined || (err as VfsError).code === code);
}

/** SQLite result codes the engine's errors map to (sqlite3.h). */
export const SQLITE = {
  OK: 0,
  ERROR: 1,
  BUSY: 5,
  READONLY: 8,
  IOERR: 10,
  CORRUPT: 11,
  NOTFOUND: 12,
  CANTOPEN: 14,
  IOERR_READ: 10 | (1 << 8),
  IOERR_SHORT_READ: 10 | (2 << 8),
  IOERR_WRITE: 10 | (3 << 8),
  IOERR_FSYNC: 10 | (4 << 8),
  IOERR_TRUNCATE: 10 | (6 << 8),
  IOERR_LOCK: 10 | (15 << 8),
  BUSY_SNAPSHOT: 5 | (2 << 8),
  READONLY_DBMOVED: 8 | (4 << 8),
} as const;

/**
 * The SQLite result code for an error thrown by the engine while serving `op`.
 * Unknown errors are I/O errors: SQLite then reports "disk I/O error" and never uses the data.
 */
export function sqliteCodeOf(err: unknown, op: "open" | "read" | "lock" | "write" | "sync" | "pragma"): number {
  const code = isVfsError(err) ? err.code : undefined;
  switch (code) {
    case "busy":
    case "lease":
      return SQLITE.BUSY;
    case "stale-snapshot":
      return SQLITE.BUSY_SNAPSHOT;
    case "read-only":
      return SQLITE.READONLY;
    case "conflict":
      return SQLITE.READONLY_DBMOVED;
    case "time":
    case "invalid-config":
      return op === "pragma" ? SQLITE.ERROR : op === "open" ? SQLITE.CANTOPEN : SQLITE.IOERR;
    default:
      break;
  }
  switch (op) {
    case "open":
      return SQLITE.CANTOPEN;
    case "read":
      return SQLITE.IOERR_READ;
    case "lock":
      return SQLITE.IOERR_LOCK;
    case "write":
      return SQLITE.IOERR_WRITE;
    case "sync":
      return SQLITE.IOERR_FSYNC;
    case "pragma":
      return SQLITE.ERROR;
  }
}
