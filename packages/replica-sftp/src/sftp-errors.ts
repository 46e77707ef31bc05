/** SSH and SFTP failures as ReplicaErrors: what is missing, what is refused, what is worth retrying. */
import { isReplicaError, ReplicaError } from "@sqlrep/replica";

/** SFTP v3 status codes (draft-ietf-secsh-filexfer-02). */
export const SFTP_STATUS = {
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;

const STATUS_NAMES: Record<number, string> = Object.fromEntries(Object.entries(SFTP_STATUS).map(([name, code]) => [code, name]));

/** Socket-level codes of a connection that broke or never came up: worth retrying. */
const TRANSIENT_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "ECONNABORTED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENETDOWN", "EAI_AGAIN"]);

/** What ssh2 and Node put on their errors. */
interface SshErrorLike {
  name?: string;
  message?: string;
  code?: unknown;
  level?: string;
}

/** True when the error is the SFTP status `code`. */
export function hasStatus(err: unknown, code: number): boolean {
  return typeof err === "object" && err !== null && (err as SshErrorLike).code === code;
}

/**
 * True for faults of the connection rather than of the request: the server went away,
 * the socket broke, the handshake timed out, requests went unanswered. A new connection
 * may succeed.
 */
export function isConnectionFault(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const e = err as SshErrorLike;
  if (e.level === "client-authentication") return false;
  if (typeof e.code === "string" && TRANSIENT_CODES.has(e.code)) return true;
  if (e.code === SFTP_STATUS.NO_CONNECTION || e.code === SFTP_STATUS.CONNECTION_LOST) return true;
  if (e.level === "client-socket" || e.level === "client-timeout") return true;
  return /No response from server|Not connected|Channel is not open|connection (lost|closed)|Timed out while waiting for handshake|keepalive timeout|socket hang up/i.test(
    e.message ?? "",
  );
}

/**
 * An SSH/SFTP error as a ReplicaError naming the operation and the remote path:
 * `not-found` for a missing file, `aborted`, else `io` (retryable when the connection
 * broke rather than the server refusing the request).
 */
export function toReplicaError(err: unknown, op: string, target: string, key: string | undefined, signal?: AbortSignal): ReplicaError {
  if (isReplicaError(err)) return err;
  if (signal?.aborted || (err as SshErrorLike | undefined)?.name === "AbortError") {
    return new ReplicaError("aborted", `${op} ${target} aborted`, { key, cause: signal?.reason ?? err });
  }
  if (hasStatus(err, SFTP_STATUS.NO_SUCH_FILE)) return new ReplicaError("not-found", `cannot ${op}: ${target} does not exist`, { key, cause: err });
  return new ReplicaError("io", `cannot ${op} ${target}: ${describeError(err)}`, { key, cause: err, retryable: isConnectionFault(err) });
}

/** `PERMISSION_DENIED: Permission denied`, `ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:22`. */
export function describeError(err: unknown): string {
  const e = (typeof err === "object" && err !== null ? err : { message: String(err) }) as SshErrorLike;
  const label = typeof e.code === "number" ? (STATUS_NAMES[e.code] ?? `SFTP status ${e.code}`) : typeof e.code === "string" ? e.code : undefined;
  const message = e.message ?? "error";
  return label !== undefined && !message.startsWith(label) ? `${label}: ${message}` : message;
}
