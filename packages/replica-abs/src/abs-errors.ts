/** Azure SDK (and socket) errors → `ReplicaError`s that name `abs://container/blob`. */
import { isReplicaError, ReplicaError } from "@sqlrep/replica";

/** What the SDK's RestError and Node's socket errors carry. */
interface AzureErrorLike {
  name?: string;
  code?: string;
  statusCode?: number;
  message?: string;
  details?: { errorCode?: string };
  cause?: unknown;
}

const NOT_FOUND = new Set(["BlobNotFound", "ContainerNotFound", "ResourceNotFound"]);
const EXISTS = new Set(["BlobAlreadyExists", "ConditionNotMet"]);
const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "REQUEST_SEND_ERROR",
  "ERR_STREAM_PREMATURE_CLOSE",
  "ServerBusy",
  "OperationTimedOut",
  "InternalError",
]);

function errorCode(e: AzureErrorLike): string | undefined {
  return e.details?.errorCode ?? e.code;
}

/** True for faults worth retrying: 5xx, 408, 429, resets, refused connections, a body cut short. */
export function isTransient(err: unknown, depth = 0): boolean {
  if (typeof err !== "object" || err === null || depth > 8) return false;
  const e = err as AzureErrorLike;
  if (e.name === "AbortError") return false;
  const status = e.statusCode ?? 0;
  return (status >= 500 && status !== 501) || status === 408 || status === 429 || TRANSIENT_CODES.has(errorCode(e) ?? "") || isTransient(e.cause, depth + 1);
}

/** HTTP 416: a range that starts past the end of the blob. */
export function isRangeNotSatisfiable(err: unknown): boolean {
  const e = err as AzureErrorLike;
  return e?.statusCode === 416 || errorCode(e ?? {}) === "InvalidRange";
}

/**
 * Maps an SDK error: a missing blob or container → "not-found", a refused create-only
 * write (409 BlobAlreadyExists, 412) → "exists", an abort → "aborted", anything else
 * "io" (retryable when transient), the message naming the operation and the blob.
 */
export function toReplicaError(err: unknown, op: string, target: string, key: string, signal?: AbortSignal): ReplicaError {
  if (isReplicaError(err)) return err;
  const e = (typeof err === "object" && err !== null ? err : { message: String(err) }) as AzureErrorLike;
  if (e.name === "AbortError" || signal?.aborted) return new ReplicaError("aborted", `${op} ${target} aborted`, { key, cause: signal?.reason ?? err });
  const code = errorCode(e);
  if (e.statusCode === 412 || (e.statusCode === 409 && EXISTS.has(code ?? ""))) {
    return new ReplicaError("exists", `cannot ${op}: ${target} exists (create-only write)`, { key, cause: err });
  }
  if (e.statusCode === 404 || NOT_FOUND.has(code ?? "")) {
    const what = code === "ContainerNotFound" ? `the container of ${target} does not exist` : `${target} does not exist`;
    return new ReplicaError("not-found", `cannot ${op}: ${what}`, { key, cause: err });
  }
  const status = e.statusCode ? ` (HTTP ${e.statusCode})` : "";
  const message = (e.message ?? "").split("\n")[0];
  return new ReplicaError("io", `cannot ${op} ${target}: ${code ?? e.name ?? "Error"}${status}${message ? `: ${message}` : ""}`, { key, cause: err, retryable: isTransient(e) });
}
