// The etcd leaser: a granted etcd lease kept alive by the shared renewal timing, the primary
// key written only if absent and bound to that lease, epochs from etcd revisions, primary
// changes from an etcd watch, handoff by passing the etcd lease ID.
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { noop, ExponentialBackoff } from "cockatiel";
import { Etcd3, isRecoverableError, type IKeyValue } from "etcd3";
import {
  checkIdentity,
  clusterIdMismatch,
  createManagedLease,
  describeError,
  formatPrimaryValue,
  isLeaseError,
  LeaseError,
  LeaserLifecycle,
  parsePrimaryValue,
  primaryFeed,
  systemClock,
  type Clock,
  type Lease,
  type LeaseCallOptions,
  type Leaser,
  type ManagedLease,
  type NodeIdentity,
  type PrimaryInfo,
  type RenewOutcome,
} from "@sqlrep/lease";
import { checkEtcdLeaseOptions, type CheckedEtcdOptions, type EtcdLeaseOptions } from "./options.js";

/** LiteFS's reconnect-delay: how long a watch waits before asking a store that is down again. */
const RETRY_MS = 1_000;

/** Extra options of {@link openEtcdLeaser}. */
export interface EtcdLeaserOptions {
  /** How long one etcd call may take before it counts as failed (default 5 s, at most the TTL). */
  callTimeoutMs?: number;
  /** For tests of the timing; the system clock by default. */
  clock?: Clock;
}

/**
 * Connects to etcd (one read of the lease key, so a dead or misconfigured store fails here
 * with `LeaseError("unreachable")` naming the endpoints) and returns the leaser.
 */
export async function openEtcdLeaser(options: EtcdLeaseOptions, node: NodeIdentity, extra: EtcdLeaserOptions = {}): Promise<Leaser> {
  const config = checkEtcdLeaseOptions(options);
  const me = checkIdentity(node, "lease");
  const leaser = new EtcdLeaser(config, me, extra);
  try {
    await leaser.primary();
  } catch (error) {
    await leaser.close();
    throw error;
  }
  return leaser;
}

class EtcdLeaser implements Leaser {
  readonly type = "etcd";
  readonly hostname: string;
  readonly advertiseURL: string;
  readonly candidate: boolean;
  readonly ttlMs: number;
  private readonly client: Etcd3;
  private readonly life: LeaserLifecycle;
  private readonly clock: Clock;
  private readonly callTimeoutMs: number;
  private readonly key: string;
  private readonly clusterIdKey: string;
  private readonly endpoints: string[];

  constructor(config: CheckedEtcdOptions, me: { hostname: string; advertiseURL: string; candidate: boolean }, extra: EtcdLeaserOptions) {
    this.hostname = me.hostname;
    this.advertiseURL = me.advertiseURL;
    this.candidate = me.candidate;
    this.ttlMs = config.ttlMs;
    this.key = config.key;
    this.clusterIdKey = `${config.key}/clusterid`;
    this.endpoints = config.endpoints;
    this.clock = extra.clock ?? systemClock;
    this.callTimeoutMs = Math.min(extra.callTimeoutMs ?? 5_000, config.ttlMs);
    this.life = new LeaserLifecycle(`etcd lease ${this.key} at ${this.endpoints.join(", ")}`);
    const read = (path: string | undefined) => (path === undefined ? undefined : readFileSync(path));
    this.client = new Etcd3({
      hosts: config.endpoints,
      ...(config.auth ? { auth: config.auth } : {}),
      ...(config.tls ? { credentials: { rootCertificate: read(config.tls.ca) ?? Buffer.alloc(0), privateKey: read(config.tls.key), certChain: read(config.tls.cert) } } : {}),
      // The renewal timing does its own retrying against the lease deadline: the
      // client's retries and circuit breaker (5 s open) would only push past it.
      faultHandling: { host: () => noop, global: noop, watchBackoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1_000 }).next() },
      // gRPC's default first reconnect waits a second: too long against a 2 s TTL.
      grpcOptions: { "grpc.initial_reconnect_backoff_ms": 100, "grpc.max_reconnect_backoff_ms": 1_000 },
      dialTimeout: this.callTimeoutMs,
    });
  }

  async acquire(options: LeaseCallOptions = {}): Promise<Lease> {
    this.life.assertOpen("acquire");
    if (!this.candidate) throw new LeaseError("not-candidate", `${this.hostname} is not a candidate (lease.candidate: false): it never becomes primary`);
    return this.call("acquire the lease", options.signal, async (deadline) => {
      const started = this.clock.now();
      const grant = await this.client.leaseClient.leaseGrant({ TTL: this.ttlMs / 1_000 }, { deadline });
      const leaseId = String(grant.ID);
      const txn = await this.client
        .if(this.key, "Create", "==", 0)
        .then(this.client.put(this.key).value(this.value()).lease(leaseId))
        .else(this.client.get(this.key))
        .options({ deadline })
        .commit();
      if (!txn.succeeded) {
        this.revoke(leaseId).catch(() => {});
        const kv = txn.responses[0]?.response_range?.kvs[0];
        const primary = kv ? this.primaryOf(kv) : undefined;
        throw new LeaseError("primary-exists", `etcd key ${this.key}: ${primary ? `${primary.hostname} (${primary.advertiseURL}) is primary` : "held by another node"}`, {
          key: this.key,
          primary,
        });
      }
      return this.hold(leaseId, revision(txn.header.revision), started);
    });
  }

  async acquireExisting(leaseId: string, options: LeaseCallOptions = {}): Promise<Lease> {
    this.life.assertOpen("acquireExisting");
    if (!/^[0-9]+$/.test(leaseId)) throw new LeaseError("lost", `etcd key ${this.key}: ${JSON.stringify(leaseId)} is not an etcd lease ID`, { key: this.key });
    return this.call("take over a handed-off lease", options.signal, async (deadline) => {
      const started = this.clock.now();
      // The keepalive and the rewrite of the key go out together: one round trip in a
      // handoff's write gap, not two. Both must succeed; the lease counts as renewed at
      // `started`, before the keepalive was sent (its expiry at the store is later).
      const [renewed, txn] = await Promise.allSettled([
        this.keepAlive(leaseId, deadline),
        this.client.if(this.key, "Lease", "==", leaseId).then(this.client.put(this.key).value(this.value()).lease(leaseId)).options({ deadline }).commit(),
      ]);
      if (renewed.status === "rejected") throw renewed.reason;
      if (renewed.value === "gone") {
        throw new LeaseError("lost", `etcd lease ${leaseId} no longer exists (expired or released before the handoff completed)`, { key: this.key });
      }
      if (txn.status === "rejected") {
        // A put bound to a lease the store no longer has fails: the lease is gone.
        if (/lease not found/i.test(describeError(txn.reason))) throw new LeaseError("lost", `etcd lease ${leaseId} no longer exists`, { key: this.key, cause: txn.reason });
        throw txn.reason;
      }
      if (!txn.value.succeeded) throw new LeaseError("lost", `etcd key ${this.key} is no longer bound to lease ${leaseId}`, { key: this.key });
      return this.hold(leaseId, revision(txn.value.header.revision), started);
    });
  }

  async primary(options: LeaseCallOptions = {}): Promise<PrimaryInfo | undefined> {
    this.life.assertOpen("primary");
    return this.call("read the primary", options.signal, async (deadline) => {
      const res = await this.client.get(this.key).options({ deadline }).exec();
      const kv = res.kvs[0];
      return kv ? this.primaryOf(kv) : undefined;
    });
  }

  watchPrimary(options: LeaseCallOptions = {}): AsyncIterable<PrimaryInfo | undefined> {
    this.life.assertOpen("watchPrimary");
    return primaryFeed(
      async (sink, signal) => {
        // Read, then watch from the next revision: no change can fall in between. A store
        // that is down is asked again every second (LiteFS's reconnect-delay); once the
        // watcher exists, the client resumes it by itself after a disconnect.
        let res: Awaited<ReturnType<ReturnType<Etcd3["get"]>["exec"]>> | undefined;
        while (!res) {
          try {
            res = await this.call("read the primary", signal, (deadline) => this.client.get(this.key).options({ deadline }).exec());
          } catch (error) {
            if (signal.aborted) return;
            if (!isLeaseError(error, "unreachable")) throw error;
            await sleep(RETRY_MS, undefined, { signal }).catch(() => {});
          }
        }
        const kv = res.kvs[0];
        sink.push(kv ? this.primaryOf(kv) : undefined);
        const watcher = await this.client
          .watch()
          .key(this.key)
          .startRevision(String(BigInt(res.header.revision) + 1n))
          .create();
        const stop = () => void watcher.cancel().catch(() => {});
        if (signal.aborted) return stop();
        signal.addEventListener("abort", stop, { once: true });
        // After a disconnect the client resumes the watch from the last revision it saw,
        // and etcd replays every change since in one response: an old primary's delete,
        // then the put of the one elected meanwhile. Only a response's last event is the
        // present; passing on the ones before it would tell a replica that already
        // follows the new primary that there is none, and it would drop its stream.
        watcher.on("data", (res) => {
          const last = res.events[res.events.length - 1];
          if (last === undefined) return;
          try {
            sink.push(String(last.type).toLowerCase() === "put" ? this.primaryOf(last.kv) : undefined);
          } catch (error) {
            sink.fail(error);
          }
        });
        // Without a listener an "error" event would throw; the watch ends with it instead.
        watcher.on("error", (error) => sink.fail(new LeaseError("store", `etcd watch of ${this.key} failed: ${describeError(error)}`, { cause: error, key: this.key })));
      },
      { signal: options.signal, closed: this.life.closed },
    );
  }

  async clusterId(options: LeaseCallOptions = {}): Promise<string | undefined> {
    this.life.assertOpen("clusterId");
    return this.call("read the cluster ID", options.signal, async (deadline) => {
      const value = await this.client.get(this.clusterIdKey).options({ deadline }).string();
      return value ?? undefined;
    });
  }

  async setClusterId(id: string, options: LeaseCallOptions = {}): Promise<void> {
    this.life.assertOpen("setClusterId");
    if (id === "") throw new LeaseError("invalid-config", "setClusterId: the cluster ID is empty");
    await this.call("store the cluster ID", options.signal, async (deadline) => {
      const txn = await this.client
        .if(this.clusterIdKey, "Create", "==", 0)
        .then(this.client.put(this.clusterIdKey).value(id))
        .else(this.client.get(this.clusterIdKey))
        .options({ deadline })
        .commit();
      if (txn.succeeded) return;
      const stored = txn.responses[0]?.response_range?.kvs[0]?.value.toString();
      if (stored !== id) throw clusterIdMismatch(`etcd key ${this.clusterIdKey}`, stored ?? "", id);
    });
  }

  async close(): Promise<void> {
    await this.life.close(() => this.client.close());
  }

  private value(): string {
    return formatPrimaryValue(this);
  }

  private primaryOf(kv: IKeyValue): PrimaryInfo {
    return { ...parsePrimaryValue(kv.value.toString(), `etcd key ${this.key}`), epoch: revision(kv.mod_revision) };
  }

  private hold(leaseId: string, epoch: number, started: number): ManagedLease {
    const describe = `etcd lease ${leaseId} on ${this.key}`;
    const lease = createManagedLease({
      id: leaseId,
      epoch,
      ttlMs: this.ttlMs,
      renewedAt: started,
      describe,
      clock: this.clock,
      onEnd: this.life.forget,
      driver: {
        renew: (signal) => this.call(`renew ${describe}`, signal, (deadline) => this.keepAlive(leaseId, deadline)),
        // Revoking the lease deletes the key bound to it, in the same step.
        release: (signal) => this.call(`release ${describe}`, signal, (deadline) => this.revoke(leaseId, deadline)),
      },
    });
    this.life.track(lease);
    return lease;
  }

  /** One keepalive on a short-lived stream (etcd has no unary keepalive). */
  private async keepAlive(leaseId: string, deadline: Date): Promise<RenewOutcome> {
    const stream = await this.client.leaseClient.leaseKeepAlive({ deadline });
    try {
      const res = await new Promise<{ TTL: string }>((resolve, reject) => {
        stream.on("data", resolve);
        stream.on("error", reject);
        stream.on("end", () => reject(new Error("keepalive stream ended without an answer")));
        stream.write({ ID: leaseId });
      });
      return Number(res.TTL) > 0 ? "renewed" : "gone";
    } finally {
      stream.end();
    }
  }

  private async revoke(leaseId: string, deadline = new Date(Date.now() + this.callTimeoutMs)): Promise<void> {
    try {
      await this.client.leaseClient.leaseRevoke({ ID: leaseId }, { deadline });
    } catch (error) {
      if (/lease not found/.test(describeError(error))) return; // expired already: nothing to give up
      throw error;
    }
  }

  /**
   * Runs one store operation with a deadline and the caller's signal, and turns the
   * client's failures into `LeaseError`s that name the endpoints.
   */
  private async call<T>(what: string, signal: AbortSignal | undefined, fn: (deadline: Date) => Promise<T>): Promise<T> {
    const combined = this.life.callSignal(signal);
    if (combined.aborted) throw abortError(what, combined);
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(abortError(what, combined));
      combined.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([fn(new Date(Date.now() + this.callTimeoutMs)), aborted]);
    } catch (error) {
      if (isLeaseError(error)) throw error;
      const message = describeError(error);
      if (isRecoverableError(error as Error) || /deadline|unavailable|connect|ECONNREFUSED|No connection/i.test(message)) {
        throw new LeaseError("unreachable", `etcd at ${this.endpoints.join(", ")} did not answer (${what}): ${message}`, {
          cause: error,
          endpoints: this.endpoints,
          key: this.key,
        });
      }
      throw new LeaseError("store", `etcd at ${this.endpoints.join(", ")}: ${what} failed: ${message}`, { cause: error, endpoints: this.endpoints, key: this.key });
    } finally {
      combined.removeEventListener("abort", onAbort!);
      aborted.catch(() => {});
    }
  }
}

function abortError(what: string, signal: AbortSignal): LeaseError {
  return isLeaseError(signal.reason) && signal.reason.code === "closed" ? signal.reason : new LeaseError("aborted", `${what}: aborted`, { cause: signal.reason });
}

/** An etcd revision (int64 as a string) as a number; beyond 2^53 would be a silent rounding. */
function revision(value: string | number): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new LeaseError("store", `etcd revision ${value} is not a positive safe integer`);
  return n;
}
