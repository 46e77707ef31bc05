/** NATS and JetStream failures as ReplicaErrors: what is missing, what is refused, what is worth retrying. */
import { isReplicaError, ReplicaError } from "@sqlrep/replica";

/** JetStream's "wrong last sequence" (a create-only put that found the name taken). */
export const WRONG_LAST_SEQUENCE = 10071;

interface NatsErrorLike {
  name?: string;
  message?: string;
  code?: unknown;
  cause?: unknown;
}

/** Names and codes of a connection that broke, is re-establishing, or never came up. */
const TRANSIENT_NAMES = new Set(["TimeoutError", "ClosedConnectionError", "DrainingConnectionError", "ConnectionError", "NoRespondersError", "RequestError"]);
const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "TIMEOUT",
  "CONNECTION_REFUSED",
  "CONNECTION_CLOSED",
  "DISCONNECT",
]);

/** True for faults of the connection or the server's availability, not of the request: a retry may succeed. */
export function isTransient(err: unknown, depth = 0): boolean {
  if (typeof err !== "object" || err === null || depth > 6) return false;
  const e = err as NatsErrorLike;
  if (e.name === "AuthorizationError" || e.name === "PermissionViolationError" || e.name === "UserAuthenticationExpiredError") return false;
  // A certificate the other side does not accept stays unaccepted.
  if (/certificate|altnames|self[- ]signed|unable to verify|handshake failure|alert/i.test(e.message ?? "")) return false;
  if (TRANSIENT_NAMES.has(e.name ?? "") || (typeof e.code === "string" && TRANSIENT_CODES.has(e.code))) return true;
  if (/timeout|timed out|connection (closed|refused|lost)|disconnect|no responders|reconnect/i.test(e.message ?? "")) return true;
  return isTransient(e.cause, depth + 1);
}

/** True when JetStream refused a put because the object's revision moved (create-only found it taken). */
export function isWrongLastSequence(err: unknown): boolean {
  const e = err as NatsErrorLike | undefined;
  return e?.code === WRONG_LAST_SEQUENCE || /wrong last sequence/i.test(e?.message ?? "");
}

/**
 * A NATS error as a ReplicaError naming the operation and `nats://server/bucket/name`:
 * `aborted`, else `io` (retryable when the connection or the server's availability is
 * at fault, not when the request was refused).
 */
export function toReplicaError(err: unknown, op: string, target: string, key: string | undefined, signal?: AbortSignal): ReplicaError {
  if (isReplicaError(err)) return err;
  if (signal?.aborted || (err as NatsErrorLike | undefined)?.name === "AbortError") {
    return new ReplicaError("aborted", `${op} ${target} aborted`, { key, cause: signal?.reason ?? err });
  }
  return new ReplicaError("io", `cannot ${op} ${target}: ${describeError(err)}`, { key, cause: err, retryable: isTransient(err) });
}

/** `TimeoutError: timeout`, `JetStreamApiError (10071): wrong last sequence: 4`. */
export function describeError(err: unknown): string {
  const e = (typeof err === "object" && err !== null ? err : { message: String(err) }) as NatsErrorLike;
  const label = `${e.name && e.name !== "Error" ? e.name : "error"}${e.code !== undefined ? ` (${String(e.code)})` : ""}`;
  return `${label}: ${e.message ?? ""}`;
}
