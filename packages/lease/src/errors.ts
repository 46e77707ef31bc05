// LeaseError: the one error family of @sqlrep/lease and its backends; callers branch on `code`.
import type { PrimaryInfo } from "./contract.js";

/** Every way a lease operation can fail; also the reason a lease's signal fired. */
export type LeaseErrorCode =
  | "unreachable" // the lease store did not answer (the message names the endpoints)
  | "store" // the store answered, but not as expected (permissions, a malformed value)
  | "lost" // the lease is gone: expired, revoked, or not renewed in time
  | "primary-exists" // another node holds the lease (`primary` says who)
  | "lock-delay" // nobody holds the key, but the store refuses it for a while (Consul's lock-delay)
  | "not-candidate" // this node is configured never to become primary
  | "cluster-id-mismatch" // the lease key belongs to another cluster
  | "invalid-config" // options missing, misspelled or out of range
  | "unsupported" // the backend cannot do this (the static lease has no handoff)
  | "released" // the holder released the lease (a signal's reason)
  | "handed-off" // the holder handed the lease to another node (a signal's reason)
  | "aborted" // the caller's AbortSignal fired
  | "closed"; // the leaser was closed

/** Options of {@link LeaseError}. */
export interface LeaseErrorOptions {
  cause?: unknown;
  /** Whether the same call may succeed later (a store that is down, a lock-delay). */
  retryable?: boolean;
  /** The lease key, or the store key, the error is about. */
  key?: string | undefined;
  /** The store endpoints that were tried (`unreachable`). */
  endpoints?: readonly string[] | undefined;
  /** Who holds the lease (`primary-exists`). */
  primary?: PrimaryInfo | undefined;
  /** How long to wait before trying again (`lock-delay`). */
  retryAfterMs?: number | undefined;
}

/** The single error type of `@sqlrep/lease` and its backends. */
export class LeaseError extends Error {
  override readonly name = "LeaseError";
  readonly code: LeaseErrorCode;
  readonly retryable: boolean;
  readonly key: string | undefined;
  readonly endpoints: readonly string[] | undefined;
  readonly primary: PrimaryInfo | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(code: LeaseErrorCode, message: string, options: LeaseErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? (code === "unreachable" || code === "lock-delay");
    this.key = options.key;
    this.endpoints = options.endpoints;
    this.primary = options.primary;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** True for a `LeaseError` (with this `code`, when given), including one from another copy of this package. */
export function isLeaseError(err: unknown, code?: LeaseErrorCode): err is LeaseError {
  return err instanceof Error && err.name === "LeaseError" && typeof (err as { code?: unknown }).code === "string" && (code === undefined || (err as LeaseError).code === code);
}

/** Throws `LeaseError("aborted")` when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new LeaseError("aborted", `${what}: aborted`, { cause: signal.reason });
}

/**
 * The error for a lease key that already carries another cluster's ID. LiteFS said only
 * "lease already initialized with different ID" (LiteFS #331, #393); this one says which
 * IDs, where, and the two ways out.
 */
export function clusterIdMismatch(where: string, stored: string, local: string): LeaseError {
  return new LeaseError(
    "cluster-id-mismatch",
    `${where} belongs to cluster ${stored}, but this node has cluster ID ${local}. ` +
      `Two clusters must not share a lease key: if this node belongs to another cluster, give it its own lease key; ` +
      `if it should join cluster ${stored}, clear its data directory (its databases come back from the primary) so it adopts ${stored}; ` +
      `if cluster ${stored} no longer exists, delete ${where} from the lease store.`,
    { key: where },
  );
}

/** `what` of an unknown error, for messages. */
export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
