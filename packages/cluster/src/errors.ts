// ClusterError: the one error family of @sqlrep/cluster; callers branch on `code`.

/** Every way a cluster operation can fail. */
export type ClusterErrorCode =
  | "invalid-name" // a database name that cannot be a path under the data directory
  | "invalid-argument" // a commit or option that cannot be right (pages out of order, a short page)
  | "not-found" // no such database
  | "exists" // the database already exists
  | "not-primary" // writes go to the primary; this node is not it (or stopped being it)
  | "read-only" // a replica without the halt lock
  | "corrupt" // a database file or LTX file is not what its checksums say
  | "verify-failed" // the background check of a database found it differs from its position
  | "position-mismatch" // an LTX file does not continue the database's position
  | "epoch-stale" // a primary with a lower lease epoch than one already seen
  | "cluster-id-mismatch" // the other node, or the lease, belongs to another cluster
  | "self-connection" // a node tried to stream from itself
  | "unauthorized" // missing or wrong auth token
  | "protocol" // a malformed stream frame or request
  | "halt" // the halt lock could not be taken, expired, or is not held
  | "handoff" // a handoff could not be done
  | "unavailable" // a peer did not answer (retryable)
  | "io" // the file system failed
  | "closed" // the store or node is closed
  | "aborted"; // the caller's signal fired

/** Options of {@link ClusterError}. */
export interface ClusterErrorOptions {
  cause?: unknown;
  /** Whether the same call may succeed later. */
  retryable?: boolean;
  /** The database the error is about. */
  db?: string | undefined;
  /** The file (database, LTX, position) the error is about. */
  file?: string | undefined;
  /** The byte offset in `file`, where it matters. */
  offset?: number | undefined;
  /** HTTP status of a peer's answer, where one came. */
  status?: number | undefined;
  /** The option or config key the error is about (`proxy.target`). */
  key?: string | undefined;
}

/** The single error type of `@sqlrep/cluster`. */
export class ClusterError extends Error {
  override readonly name = "ClusterError";
  readonly code: ClusterErrorCode;
  readonly retryable: boolean;
  readonly db: string | undefined;
  readonly file: string | undefined;
  readonly offset: number | undefined;
  readonly status: number | undefined;
  readonly key: string | undefined;

  constructor(code: ClusterErrorCode, message: string, options: ClusterErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? (code === "unavailable" || code === "not-primary");
    this.db = options.db;
    this.file = options.file;
    this.offset = options.offset;
    this.status = options.status;
    this.key = options.key;
  }
}

/** True for a `ClusterError` (with this `code`, when given), including one from another copy of this package. */
export function isClusterError(err: unknown, code?: ClusterErrorCode): err is ClusterError {
  return err instanceof Error && err.name === "ClusterError" && typeof (err as { code?: unknown }).code === "string" && (code === undefined || (err as ClusterError).code === code);
}

/** Throws `ClusterError("aborted")` when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new ClusterError("aborted", `${what}: aborted`, { cause: signal.reason });
}

/** A short text for any thrown value (logs, status). */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The HTTP status an error maps to when an endpoint fails. */
export function httpStatusOf(err: unknown): number {
  if (!isClusterError(err)) return 500;
  switch (err.code) {
    case "invalid-name":
    case "invalid-argument":
    case "protocol":
    case "self-connection":
      return 400;
    case "unauthorized":
      return 401;
    case "not-found":
      return 404;
    case "exists":
    case "position-mismatch":
    case "halt":
    case "handoff":
    case "cluster-id-mismatch":
    case "epoch-stale":
      return 409;
    case "not-primary":
    case "read-only":
    case "unavailable":
    case "closed":
      return 503;
    default:
      return 500;
  }
}
