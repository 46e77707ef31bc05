/** Every way a replica operation can fail; callers branch on `code`. */
export type ReplicaErrorCode =
  | "not-found" // the object or file does not exist
  | "unsupported-scheme" // a replica URL scheme we do not serve (yet)
  | "invalid-url" // a replica URL or spec that cannot be used
  | "invalid-config" // options that contradict each other or are missing
  | "io" // the storage backend failed (network, disk, permissions)
  | "corrupt" // a file's bytes are not what they claim (checksum, format, size)
  | "non-contiguous" // a gap in the TXID chain
  | "no-backup" // nothing to restore from
  | "txid-not-available" // the requested TXID or time cannot be reached
  | "exists" // the output of a restore already exists
  | "conflict" // the replica holds files another writer made: its chain is not ours
  | "timeout" // a bounded wait (a shutdown's final upload) ran out
  | "aborted";

export interface ReplicaErrorOptions {
  cause?: unknown;
  /** The key, path or URL the error is about. */
  key?: string | undefined;
  /** Whether retrying the same call may succeed (transient backend faults). */
  retryable?: boolean;
  /** Byte offset in the object or file where the fault was found. */
  offset?: number | undefined;
}

/** The single error type of `@sqlrep/replica` and its backends. */
export class ReplicaError extends Error {
  override readonly name = "ReplicaError";
  readonly code: ReplicaErrorCode;
  readonly key: string | undefined;
  readonly retryable: boolean;
  readonly offset: number | undefined;

  constructor(code: ReplicaErrorCode, message: string, options: ReplicaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.key = options.key;
    this.retryable = options.retryable ?? false;
    this.offset = options.offset;
  }
}

/** True for a `ReplicaError`, including one from another copy of this package. */
export function isReplicaError(err: unknown, code?: ReplicaErrorCode): err is ReplicaError {
  return err instanceof Error && err.name === "ReplicaError" && typeof (err as { code?: unknown }).code === "string" && (code === undefined || (err as ReplicaError).code === code);
}

/** Throws a ReplicaError("aborted") if the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ReplicaError("aborted", "operation aborted", { cause: signal.reason });
}
