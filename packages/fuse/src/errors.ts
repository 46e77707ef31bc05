// The one error family of @sqlrep/fuse, and how a backend's errors become the errno a
// process using the mount sees.

/** Every way a mount operation can fail; callers branch on `code`. */
export type FuseErrorCode =
  | "native-unavailable" // the addon is not built, or /dev/fuse or libfuse is missing
  | "mount-failed" // the kernel refused the mount (not root, directory busy, stale mount)
  | "mount-in-use" // a live mount is at the mount point (clearStaleMount), or a stale one cannot be cleared
  | "not-mounted" // the mount was unmounted
  | "no-database" // no database of that name is mounted
  | "exists" // a database of that name exists already
  | "read-only" // this node may not write the database (a replica): EACCES to the process
  | "lock-timeout" // SQLite's locks were not free in time (a long read transaction)
  | "apply-failed" // writing a transaction into the database file failed
  | "invalid-argument"
  | "no-space" // the data directory is full: ENOSPC to the process
  | "aborted";

export interface FuseErrorOptions {
  cause?: unknown;
  /** The database the error is about. */
  database?: string | undefined;
  /** A file path the error is about. */
  file?: string | undefined;
  /** Whether retrying the same call may succeed. */
  retryable?: boolean;
}

/** The single error type of `@sqlrep/fuse`. Backends may throw it too (see `errnoOf`). */
export class FuseError extends Error {
  override readonly name = "FuseError";
  readonly code: FuseErrorCode;
  readonly database: string | undefined;
  readonly file: string | undefined;
  readonly retryable: boolean;

  constructor(code: FuseErrorCode, message: string, options: FuseErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.database = options.database;
    this.file = options.file;
    this.retryable = options.retryable ?? false;
  }
}

/** True for a `FuseError`, including one from another copy of this package. */
export function isFuseError(err: unknown, code?: FuseErrorCode): err is FuseError {
  return err instanceof Error && err.name === "FuseError" && typeof (err as { code?: unknown }).code === "string" && (code === undefined || (err as FuseError).code === code);
}

const ERRNO: Record<string, number> = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  EAGAIN: 11,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  EINVAL: 22,
  ENOSPC: 28,
  EROFS: 30,
  ENOSYS: 38,
  ETIMEDOUT: 110,
};

const FROM_CODE: Partial<Record<FuseErrorCode, number>> = {
  "read-only": ERRNO.EACCES,
  exists: ERRNO.EEXIST,
  "no-database": ERRNO.ENOENT,
  "lock-timeout": ERRNO.EAGAIN,
  "no-space": ERRNO.ENOSPC,
  "invalid-argument": ERRNO.EINVAL,
  aborted: ERRNO.EINTR,
};

/**
 * The errno a backend's rejection becomes for the process that made the request: a
 * FuseError by its code, a Node system error (`code: "ENOSPC"`) by name, anything
 * else EIO.
 */
export function errnoOf(err: unknown): number {
  if (isFuseError(err)) return FROM_CODE[err.code] ?? ERRNO.EIO!;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && ERRNO[code] !== undefined) return ERRNO[code]!;
  return ERRNO.EIO!;
}
