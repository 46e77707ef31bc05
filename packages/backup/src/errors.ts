/** Every way the backup engine can fail; callers branch on `code`, never on the message. */
export type BackupErrorCode =
  | "not-wal" // the database is not in WAL mode
  | "not-found" // the database file does not exist
  | "open" // SQLite could not open the database, or its files cannot be read
  | "sync" // turning WAL frames into an LTX file or uploading it failed
  | "snapshot" // a snapshot could not be read or uploaded
  | "checkpoint" // a checkpoint failed
  | "replica" // the replica could not be listed, read or written
  | "validation" // the replica's checksum chain disagrees with the database
  | "invalid-config" // options that cannot work
  | "locked" // another replicator holds the database's lock
  | "missing" // the database file was deleted while it was replicated
  | "replaced" // the database file was replaced: a new lineage starts
  | "closed" // the engine is stopped (or was never started)
  | "timeout" // a bounded wait ran out
  | "aborted"; // the AbortSignal fired

export interface BackupErrorOptions {
  /** The database the error is about. */
  path?: string | undefined;
  /** The replica the error is about (its name). */
  replica?: string | undefined;
  /** Whether trying again later may succeed (the engine retries these by itself). */
  retryable?: boolean | undefined;
  cause?: unknown;
}

/** The single error type of `@sqlrep/backup`. */
export class BackupError extends Error {
  override readonly name = "BackupError";
  readonly code: BackupErrorCode;
  readonly path: string | undefined;
  readonly replica: string | undefined;
  readonly retryable: boolean;

  constructor(code: BackupErrorCode, message: string, options: BackupErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.path = options.path;
    this.replica = options.replica;
    this.retryable = options.retryable ?? false;
  }
}

/** True for a `BackupError`, including one from another copy of this package. */
export function isBackupError(err: unknown, code?: BackupErrorCode): err is BackupError {
  return err instanceof Error && err.name === "BackupError" && typeof (err as { code?: unknown }).code === "string" && (code === undefined || (err as BackupError).code === code);
}

/** Throws BackupError("aborted") when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, path?: string): void {
  if (signal?.aborted === true) throw new BackupError("aborted", "operation aborted", { path, cause: signal.reason });
}

/** A short text for status and logs: the message, with the cause's when it adds something. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause.message : undefined;
  return cause !== undefined && !err.message.includes(cause) ? `${err.message}: ${cause}` : err.message;
}
