// S3 SDK errors mapped into ReplicaError: transient or not, not-found, and messages that
// name the operation and the s3://bucket/key.
import { ReplicaError, isReplicaError } from "@sqlrep/replica";

/** What the SDK (and Node's sockets) put on the errors they throw. */
interface SdkErrorLike {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
  cause?: unknown;
}

const NOT_FOUND = new Set(["NoSuchKey", "NotFound", "NoSuchBucket"]);
const THROTTLING = new Set(["SlowDown", "Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "BandwidthLimitExceeded"]);
const TRANSIENT_NAMES = new Set(["TimeoutError", "RequestTimeout", "RequestTimeoutException", "InternalError", "ServiceUnavailable"]);
const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "ERR_STREAM_PREMATURE_CLOSE",
  "UND_ERR_SOCKET",
]);

/**
 * True for faults worth retrying: throttling, 5xx, timeouts, resets, refused or dropped
 * connections, a body cut short. Looks through `cause` chains.
 */
export function isTransient(err: unknown, depth = 0): boolean {
  if (typeof err !== "object" || err === null || depth > 8) return false;
  const e = err as SdkErrorLike;
  if (e.name === "AbortError") return false;
  const status = e.$metadata?.httpStatusCode ?? 0;
  return (
    (status >= 500 && status !== 501) ||
    status === 429 ||
    e.$retryable !== undefined ||
    THROTTLING.has(e.name ?? "") ||
    TRANSIENT_NAMES.has(e.name ?? "") ||
    TRANSIENT_CODES.has(e.code ?? "") ||
    isTransient(e.cause, depth + 1)
  );
}

/** True when the object (or the bucket) does not exist. */
export function isNotFound(err: unknown): boolean {
  const e = err as SdkErrorLike;
  return NOT_FOUND.has(e?.name ?? "") || e?.$metadata?.httpStatusCode === 404;
}

/**
 * Maps an SDK or socket error to a ReplicaError naming the operation and `s3://bucket/key`:
 * missing objects are "not-found", an abort is "aborted", anything else "io" (retryable
 * when transient).
 */
export function toReplicaError(err: unknown, op: string, target: string, key?: string, signal?: AbortSignal): ReplicaError {
  if (isReplicaError(err)) return err;
  const e = (typeof err === "object" && err !== null ? err : { message: String(err) }) as SdkErrorLike;
  if (e.name === "AbortError" || signal?.aborted) {
    return new ReplicaError("aborted", `${op} ${target} aborted`, { key, cause: signal?.reason ?? err });
  }
  if (e.name === "PreconditionFailed" || e.$metadata?.httpStatusCode === 412) {
    return new ReplicaError("exists", `cannot ${op}: ${target} exists (create-only write)`, { key, cause: err });
  }
  if (isNotFound(e)) {
    const what = e.name === "NoSuchBucket" ? `bucket of ${target} does not exist` : `${target} does not exist`;
    return new ReplicaError("not-found", `cannot ${op}: ${what}`, { key, cause: err });
  }
  return new ReplicaError("io", `cannot ${op} ${target}: ${describeError(e)}`, { key, cause: err, retryable: isTransient(e) });
}

/** `SlowDown (HTTP 503): message`, `ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9`. */
export function describeError(err: unknown): string {
  const e = err as SdkErrorLike;
  const status = e?.$metadata?.httpStatusCode;
  const label = e?.code ?? e?.name ?? "Error";
  const message = e?.message && e.message !== label ? `: ${e.message}` : "";
  return `${label}${status ? ` (HTTP ${status})` : ""}${message}`;
}
