/** HTTP answers and socket errors of a WebDAV server → `ReplicaError`s naming the resource. */
import { isReplicaError, ReplicaError } from "@sqlrep/replica";

const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "ERR_STREAM_PREMATURE_CLOSE",
]);

/** True for a status worth retrying: 5xx (but 501), 408, 429. */
export function isTransientStatus(status: number): boolean {
  return (status >= 500 && status !== 501 && status !== 505) || status === 408 || status === 429;
}

/** True for a network fault worth retrying (fetch wraps the socket error in `cause`). */
export function isTransientError(err: unknown, depth = 0): boolean {
  if (typeof err !== "object" || err === null || depth > 8) return false;
  const e = err as { name?: string; code?: string; cause?: unknown; retryable?: boolean };
  if (e.name === "AbortError") return false;
  if (isReplicaError(err)) return err.retryable;
  return TRANSIENT_CODES.has(e.code ?? "") || (e.name === "TypeError" && e.cause !== undefined && isTransientError(e.cause, depth + 1)) || isTransientError(e.cause, depth + 1);
}

/** A failed request (thrown by fetch, or an unexpected status) as a ReplicaError. */
export function toReplicaError(err: unknown, op: string, target: string, key: string, signal?: AbortSignal): ReplicaError {
  if (isReplicaError(err)) return err;
  const e = (typeof err === "object" && err !== null ? err : { message: String(err) }) as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === "AbortError" || signal?.aborted) return new ReplicaError("aborted", `${op} ${target} aborted`, { key, cause: signal?.reason ?? err });
  const reason = e.cause?.code ? `${e.cause.code}: ${e.cause.message ?? ""}` : (e.message ?? "error");
  return new ReplicaError("io", `cannot ${op} ${target}: ${reason}`, { key, cause: err, retryable: isTransientError(err) });
}

/** An unexpected HTTP status as a ReplicaError (404 → not-found, 401/403 say so). */
export function statusError(status: number, statusText: string, op: string, target: string, key: string): ReplicaError {
  if (status === 404) return new ReplicaError("not-found", `cannot ${op}: ${target} does not exist`, { key });
  const hint =
    status === 401 ? " (check webdav-username and webdav-password)" : status === 403 ? " (the server forbids it)" : status === 507 ? " (the server is out of space)" : "";
  return new ReplicaError("io", `cannot ${op} ${target}: HTTP ${status} ${statusText}${hint}`, { key, retryable: isTransientStatus(status) });
}
