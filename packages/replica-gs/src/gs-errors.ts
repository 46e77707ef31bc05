/** `@google-cloud/storage` (and socket) errors → `ReplicaError`s that name `gs://bucket/object`. */
import { isReplicaError, ReplicaError } from "@sqlrep/replica";

interface GcsErrorLike {
  name?: string;
  code?: number | string;
  message?: string;
  cause?: unknown;
}

const TRANSIENT_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "ECONNABORTED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ERR_STREAM_PREMATURE_CLOSE"]);

/** True for faults worth retrying: 5xx, 408, 429, resets, refused connections. */
export function isTransient(err: unknown, depth = 0): boolean {
  if (typeof err !== "object" || err === null || depth > 8) return false;
  const e = err as GcsErrorLike;
  if (e.name === "AbortError") return false;
  if (typeof e.code === "number") return (e.code >= 500 && e.code !== 501) || e.code === 408 || e.code === 429;
  return TRANSIENT_CODES.has(e.code ?? "") || /ECONNREFUSED|ECONNRESET|socket hang up/.test(e.message ?? "") || isTransient(e.cause, depth + 1);
}

/**
 * Maps an SDK error: 404 → "not-found", 412 (a create-only write with `ifGenerationMatch: 0`
 * over an existing object) → "exists", an abort → "aborted", anything else "io"
 * (retryable when transient).
 */
export function toReplicaError(err: unknown, op: string, target: string, key: string, signal?: AbortSignal): ReplicaError {
  if (isReplicaError(err)) return err;
  const e = (typeof err === "object" && err !== null ? err : { message: String(err) }) as GcsErrorLike;
  if (e.name === "AbortError" || signal?.aborted) return new ReplicaError("aborted", `${op} ${target} aborted`, { key, cause: signal?.reason ?? err });
  if (e.code === 412) return new ReplicaError("exists", `cannot ${op}: ${target} exists (create-only write)`, { key, cause: err });
  if (e.code === 404) return new ReplicaError("not-found", `cannot ${op}: ${target} does not exist`, { key, cause: err });
  const status = typeof e.code === "number" ? ` (HTTP ${e.code})` : typeof e.code === "string" ? ` (${e.code})` : "";
  return new ReplicaError("io", `cannot ${op} ${target}${status}: ${(e.message ?? "").split("\n")[0]}`, { key, cause: err, retryable: isTransient(e) });
}
