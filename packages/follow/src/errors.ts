/** The error family of `@sqlrep/follow`: why a follow stopped or must start over from a fresh restore. */

/** Codes of {@link FollowError}. */
export type FollowErrorCode =
  | "gap" // no file continues the copy (compacted or retained away), or no backup left to restore afresh from
  | "lineage" // the replica's files do not continue this copy (a new snapshot behind it, another database's checksums)
  | "deleted" // the replica's database was deleted (an LTX file with commit 0)
  | "bad-file" // an LTX file, the progress file or the fresh restore cannot be followed (failed checks, v0.3, page size)
  | "exists" // the output exists but is not a followed copy (no `<output>-txid`)
  | "invalid-argument" // a caller passed something impossible (no replicas, a start naming a replica not given)
  | "aborted";

export interface FollowErrorOptions {
  cause?: unknown;
  /** The file the error is about: the copy, its `-txid` file, or the LTX file that failed. */
  file?: string | undefined;
  /** Byte offset in that file where the fault was found, when known. */
  offset?: number | undefined;
  /**
   * Whether calling again may succeed on its own. False for every code today: the follow
   * loop answers a gap, a new lineage or a bad file with a fresh restore, not a retry, and
   * a replica that cannot be read fails with the replica's own (retryable) `ReplicaError`.
   */
  retryable?: boolean;
}

/** The single error type of `@sqlrep/follow`. */
export class FollowError extends Error {
  override readonly name = "FollowError";
  readonly code: FollowErrorCode;
  readonly file: string | undefined;
  readonly offset: number | undefined;
  readonly retryable: boolean;

  constructor(code: FollowErrorCode, message: string, options: FollowErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.file = options.file;
    this.offset = options.offset;
    this.retryable = options.retryable ?? false;
  }
}

/** True for a {@link FollowError} (also from another copy of this package), with `code` when given. */
export function isFollowError(err: unknown, code?: FollowErrorCode): err is FollowError {
  return err instanceof Error && err.name === "FollowError" && typeof (err as { code?: unknown }).code === "string" && (code === undefined || (err as FollowError).code === code);
}
