// The Leaser/Lease contract every lease backend implements (etcd, Consul, static).

/** What a node publishes about itself when it becomes primary (LiteFS's `{"hostname", "advertise-url"}`). */
export interface PrimaryInfo {
  hostname: string;
  advertiseURL: string;
  /** The holder's fencing epoch, when the backend has one (not the static lease). */
  epoch?: number;
}

/** Who this node is, as every leaser is configured (`lease.hostname`, `advertise-url`, `candidate`). */
export interface NodeIdentity {
  hostname: string;
  advertiseURL: string;
  /** May become primary (default true). */
  candidate?: boolean;
}

/** Options every async lease call takes. */
export interface LeaseCallOptions {
  signal?: AbortSignal;
}

/** What `Lease.handoff()` returns: pass `leaseId` to the target, which calls `acquireExisting(leaseId)`. */
export interface HandoffTicket {
  leaseId: string;
  /** The node the lease is meant for (as the caller named it). */
  toNode: string;
  /** The epoch the old holder had; the target's will be larger. */
  fromEpoch: number;
}

/**
 * A held primary lease. Act as primary only while `signal` has not fired: it fires the
 * moment this node must stop (lease lost or not renewed in time, released, handed off,
 * leaser closed), with a `LeaseError` as its reason. Reading `signal.aborted` also
 * consults the clock, so a process that was frozen past its deadline sees `true` before
 * any timer of its has run.
 */
export interface Lease {
  /** The store's lease handle (etcd lease ID in decimal, Consul session ID, `static`). */
  readonly id: string;
  /** Fencing token: strictly larger for every new holder of the key, ever. */
  readonly epoch: number;
  readonly ttlMs: number;
  /** When the store may expire the lease: start of the last successful renew + TTL. */
  readonly expiresAt: Date;
  /** Start of the last successful renew (or of the acquisition). */
  readonly renewedAt: Date;
  readonly signal: AbortSignal;
  /** Renews now; `LeaseError("lost")` when the lease is gone. Renewal also runs by itself. */
  renew(options?: LeaseCallOptions): Promise<void>;
  /**
   * Stops renewing and acting (the signal fires, reason `handed-off`) without releasing:
   * the target takes the same lease over with `acquireExisting(ticket.leaseId)` (which
   * renews it) before it expires, so no third node can win in between. Renews once more
   * first only when less than half the TTL is left (a renew is late or failing).
   */
  handoff(toNode: string, options?: LeaseCallOptions): Promise<HandoffTicket>;
  /** Stops acting (the signal fires, reason `released`) and gives the lease up so another node can take it at once. */
  release(options?: LeaseCallOptions): Promise<void>;
}

/** Elects the primary of one cluster through a lease store. */
export interface Leaser {
  /** `etcd`, `consul`, `static`. */
  readonly type: string;
  readonly hostname: string;
  readonly advertiseURL: string;
  readonly candidate: boolean;
  /** The lease TTL; `Infinity` for the static lease. */
  readonly ttlMs: number;
  /**
   * Becomes primary, or throws `LeaseError("primary-exists")` with `primary` set, or
   * `"lock-delay"` (retry after `retryAfterMs`), `"not-candidate"`, `"unreachable"`.
   */
  acquire(options?: LeaseCallOptions): Promise<Lease>;
  /** Takes over a lease another node handed off (`HandoffTicket.leaseId`); `LeaseError("lost")` when it is gone. */
  acquireExisting(leaseId: string, options?: LeaseCallOptions): Promise<Lease>;
  /** The current primary, or undefined when none holds the lease. */
  primary(options?: LeaseCallOptions): Promise<PrimaryInfo | undefined>;
  /**
   * The current primary first, then every change, pushed by the store (an etcd watch,
   * Consul blocking queries), never polled. Ends when `signal` fires or the leaser closes.
   */
  watchPrimary(options?: LeaseCallOptions): AsyncIterable<PrimaryInfo | undefined>;
  /** The cluster ID stored with the lease, or undefined before the first primary set it. */
  clusterId(options?: LeaseCallOptions): Promise<string | undefined>;
  /** Stores the cluster ID once; the same ID again is a no-op, another is `LeaseError("cluster-id-mismatch")`. */
  setClusterId(id: string, options?: LeaseCallOptions): Promise<void>;
  /** Releases a held lease (graceful shutdown), ends the watches, closes the client. Idempotent. */
  close(): Promise<void>;
}
