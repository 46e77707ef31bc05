// The Consul leaser, LiteFS's behaviour and keys: a session without health checks (behaviour
// delete, TTL, lock-delay), a KV acquire of <prefix>/<key> with the primary's JSON, the
// session renewed by the shared timing; better than LiteFS, replicas follow the primary with
// blocking queries.
import { EventEmitter } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import Consul from "consul";
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
} from "@sqlrep/lease";
import { checkConsulLeaseOptions, type CheckedConsulOptions, type ConsulLeaseOptions } from "./options.js";

/** Extra options of {@link openConsulLeaser}. */
export interface ConsulLeaserOptions {
  /** How long one Consul call may take before it counts as failed (default 5 s, at most the TTL). */
  callTimeoutMs?: number;
  /** How long one blocking query waits for a change (default 5 min, Consul's). */
  watchWaitMs?: number;
  clock?: Clock;
}

/** One KV entry as Consul returns it (the client decodes `Value`). */
interface KvEntry {
  ModifyIndex: number;
  LockIndex: number;
  Key: string;
  Value: string | null;
  Session?: string;
}

/** LiteFS names its sessions so. */
const SESSION_NAME = "litefs";
/** LiteFS's reconnect-delay: how long a failed watch waits before asking again. */
const RETRY_MS = 1_000;

/**
 * Connects to Consul (registering the catalog node `<prefix>/litefs` when the URL has a
 * path, as LiteFS does; else reading the leader), so a dead store fails here with
 * `LeaseError("unreachable")` naming the URL (token hidden), and returns the leaser.
 */
export async function openConsulLeaser(options: ConsulLeaseOptions, node: NodeIdentity, extra: ConsulLeaserOptions = {}): Promise<Leaser> {
  const config = checkConsulLeaseOptions(options);
  const leaser = new ConsulLeaser(config, checkIdentity(node, "lease"), extra);
  try {
    await leaser.open();
  } catch (error) {
    await leaser.close();
    throw error;
  }
  return leaser;
}

type Call = { ctx: EventEmitter; timeout: number };

/**
 * The part of the `consul` client used here. Its own typings leave out the per-call
 * `ctx` (cancellation, response headers) and `timeout` options that it supports.
 */
interface ConsulApi {
  catalog: { register(options: object): Promise<unknown> };
  status: { leader(options: object): Promise<unknown> };
  session: {
    create(options: object): Promise<{ ID: string }>;
    renew(options: object): Promise<unknown>;
    destroy(options: object): Promise<unknown>;
  };
  kv: { get(options: object): Promise<unknown>; set(options: object): Promise<boolean> };
  destroy(): void;
}

class ConsulLeaser implements Leaser {
  readonly type = "consul";
  readonly hostname: string;
  readonly advertiseURL: string;
  readonly candidate: boolean;
  readonly ttlMs: number;
  private readonly consul: ConsulApi;
  private readonly life: LeaserLifecycle;
  private readonly clock: Clock;
  private readonly callTimeoutMs: number;
  private readonly watchWaitMs: number;
  private readonly clusterIdKey: string;

  constructor(
    private readonly config: CheckedConsulOptions,
    me: { hostname: string; advertiseURL: string; candidate: boolean },
    extra: ConsulLeaserOptions,
  ) {
    this.hostname = me.hostname;
    this.advertiseURL = me.advertiseURL;
    this.candidate = me.candidate;
    this.ttlMs = config.ttlMs;
    this.clock = extra.clock ?? systemClock;
    this.callTimeoutMs = Math.min(extra.callTimeoutMs ?? 5_000, config.ttlMs);
    this.watchWaitMs = extra.watchWaitMs ?? 5 * 60_000;
    this.clusterIdKey = `${config.kvKey}/clusterid`;
    this.life = new LeaserLifecycle(`Consul lease ${config.kvKey} at ${config.endpoint}`);
    this.consul = new Consul({
      host: config.host,
      port: config.port,
      secure: config.secure,
      ...(config.token ? { defaults: { token: config.token } } : {}),
    }) as unknown as ConsulApi;
  }

  async open(): Promise<void> {
    const nodeName = this.config.nodeName;
    await this.call("connect", undefined, (c) => (nodeName ? this.consul.catalog.register({ node: nodeName, address: "localhost", ...c }) : this.consul.status.leader(c)));
  }

  async acquire(options: LeaseCallOptions = {}): Promise<Lease> {
    this.life.assertOpen("acquire");
    if (!this.candidate) throw new LeaseError("not-candidate", `${this.hostname} is not a candidate (lease.candidate: false): it never becomes primary`);
    const { kvKey, nodeName, lockDelayMs } = this.config;
    const started = this.clock.now();
    const { ID: sessionId } = await this.call("create a session", options.signal, (c) =>
      this.consul.session.create({
        name: SESSION_NAME,
        ...(nodeName ? { node: nodeName } : {}),
        behavior: "delete",
        lockdelay: `${lockDelayMs}ms`,
        ttl: goDuration(this.ttlMs),
        checks: [], // no health checks: only the TTL ends the session
        ...c,
      }),
    );
    try {
      const acquired = await this.call("acquire the lease key", options.signal, (c) => this.consul.kv.set({ key: kvKey, value: this.value(), acquire: sessionId, ...c }));
      if (!acquired) {
        const entry = await this.entry(kvKey, options.signal);
        const primary = this.primaryOf(entry);
        if (primary) {
          throw new LeaseError("primary-exists", `Consul key ${kvKey}: ${primary.hostname} (${primary.advertiseURL}) is primary`, { key: kvKey, primary });
        }
        throw new LeaseError("lock-delay", `Consul key ${kvKey} is free but in its lock-delay after the last holder's session ended: retry in ${lockDelayMs} ms`, {
          key: kvKey,
          retryAfterMs: lockDelayMs,
        });
      }
      return await this.hold(sessionId, started, options.signal);
    } catch (error) {
      this.destroy(sessionId).catch(() => {});
      throw error;
    }
  }

  async acquireExisting(sessionId: string, options: LeaseCallOptions = {}): Promise<Lease> {
    this.life.assertOpen("acquireExisting");
    const started = this.clock.now();
    if ((await this.renew(sessionId, options.signal)) === "gone") {
      throw new LeaseError("lost", `Consul session ${sessionId} no longer exists (expired or released before the handoff completed)`, { key: this.config.kvKey });
    }
    // The session holds the lock already: acquiring again rewrites the value only.
    const acquired = await this.call("take over the lease key", options.signal, (c) =>
      this.consul.kv.set({ key: this.config.kvKey, value: this.value(), acquire: sessionId, ...c }),
    );
    if (!acquired) throw new LeaseError("lost", `Consul key ${this.config.kvKey} is no longer held by session ${sessionId}`, { key: this.config.kvKey });
    return this.hold(sessionId, started, options.signal);
  }

  async primary(options: LeaseCallOptions = {}): Promise<PrimaryInfo | undefined> {
    this.life.assertOpen("primary");
    return this.primaryOf(await this.entry(this.config.kvKey, options.signal));
  }

  watchPrimary(options: LeaseCallOptions = {}): AsyncIterable<PrimaryInfo | undefined> {
    this.life.assertOpen("watchPrimary");
    return primaryFeed(
      async (sink, signal) => {
        let index = 0;
        while (!signal.aborted) {
          const asked = Date.now();
          let answer: { entry: KvEntry | undefined; index: number };
          try {
            answer = await this.blockingGet(this.config.kvKey, index, signal);
          } catch (error) {
            if (signal.aborted) return;
            if (!isLeaseError(error, "unreachable")) throw error;
            await sleep(RETRY_MS, undefined, { signal }).catch(() => {});
            continue;
          }
          sink.push(this.primaryOf(answer.entry));
          // Consul's rules for blocking loops: restart when the index goes backwards, never
          // block on an index below 1, and do not spin when answers come back at once.
          const unchanged = answer.index === index;
          index = answer.index < index ? 0 : Math.max(1, answer.index);
          if (unchanged && Date.now() - asked < 10) await sleep(50, undefined, { signal }).catch(() => {});
        }
      },
      { signal: options.signal, closed: this.life.closed },
    );
  }

  async clusterId(options: LeaseCallOptions = {}): Promise<string | undefined> {
    this.life.assertOpen("clusterId");
    const entry = await this.entry(this.clusterIdKey, options.signal);
    return entry?.Value ?? undefined;
  }

  async setClusterId(id: string, options: LeaseCallOptions = {}): Promise<void> {
    this.life.assertOpen("setClusterId");
    if (id === "") throw new LeaseError("invalid-config", "setClusterId: the cluster ID is empty");
    // cas=0 writes only a key that does not exist: two first primaries cannot both set it.
    const written = await this.call("store the cluster ID", options.signal, (c) => this.consul.kv.set({ key: this.clusterIdKey, value: id, cas: 0, ...c }));
    if (written) return;
    const stored = (await this.entry(this.clusterIdKey, options.signal))?.Value ?? "";
    if (stored !== id) throw clusterIdMismatch(`Consul key ${this.clusterIdKey}`, stored, id);
  }

  async close(): Promise<void> {
    await this.life.close(() => this.consul.destroy());
  }

  private value(): string {
    return formatPrimaryValue(this);
  }

  /** The primary an entry names: none when the key is absent, unlocked (released) or empty. */
  private primaryOf(entry: KvEntry | undefined): PrimaryInfo | undefined {
    if (!entry || !entry.Session || !entry.Value) return undefined;
    return { ...parsePrimaryValue(entry.Value, `Consul key ${entry.Key}`), epoch: entry.ModifyIndex };
  }

  private async hold(sessionId: string, started: number, signal: AbortSignal | undefined): Promise<ManagedLease> {
    const { kvKey } = this.config;
    // The acquiring write's ModifyIndex is the epoch: Consul's index only grows, so a later holder's is larger.
    const entry = await this.entry(kvKey, signal);
    if (entry?.Session !== sessionId) throw new LeaseError("lost", `Consul key ${kvKey} was lost right after acquiring it (session ${sessionId})`, { key: kvKey });
    const describe = `Consul session ${sessionId} on ${kvKey}`;
    const lease = createManagedLease({
      id: sessionId,
      epoch: entry.ModifyIndex,
      ttlMs: this.ttlMs,
      renewedAt: started,
      describe,
      clock: this.clock,
      onEnd: this.life.forget,
      driver: {
        renew: (s) => this.renew(sessionId, s),
        // As LiteFS: release the key first (no lock-delay applies to a released key), then end the session.
        release: async (s) => {
          try {
            await this.call(`release ${kvKey}`, s, (c) => this.consul.kv.set({ key: kvKey, value: "", release: sessionId, ...c }));
          } finally {
            await this.destroy(sessionId, s);
          }
        },
      },
    });
    this.life.track(lease);
    return lease;
  }

  private async renew(sessionId: string, signal: AbortSignal | undefined): Promise<"renewed" | "gone"> {
    try {
      await this.call(`renew session ${sessionId}`, signal, (c) => this.consul.session.renew({ id: sessionId, ...c }));
      return "renewed";
    } catch (error) {
      if (isLeaseError(error, "store") && statusOf(error.cause) === 404) return "gone";
      throw error;
    }
  }

  private destroy(sessionId: string, signal?: AbortSignal): Promise<unknown> {
    return this.call(`destroy session ${sessionId}`, signal, (c) => this.consul.session.destroy({ id: sessionId, ...c }));
  }

  private async entry(key: string, signal: AbortSignal | undefined): Promise<KvEntry | undefined> {
    const entry = await this.call(`read ${key}`, signal, (c) => this.consul.kv.get({ key, ...c }));
    return (entry ?? undefined) as KvEntry | undefined;
  }

  /** A blocking query (`?index`, `?wait`): returns the entry and Consul's `X-Consul-Index`. */
  private async blockingGet(key: string, index: number, signal: AbortSignal): Promise<{ entry: KvEntry | undefined; index: number }> {
    const res = await this.call(
      `watch ${key}`,
      signal,
      (c) => this.consul.kv.get({ key, index: String(index), wait: `${Math.round(this.watchWaitMs / 1000)}s`, ...c, timeout: this.watchWaitMs * 1.1 + 5_000 }),
      true,
    );
    const [response, entry] = res as [{ headers: Record<string, string | undefined> }, KvEntry | undefined];
    return { entry: entry ?? undefined, index: Number(response.headers["x-consul-index"] ?? 0) };
  }

  /**
   * Runs one Consul request with a timeout and the caller's signal (cancelling the HTTP
   * request), and turns the client's failures into `LeaseError`s naming the URL.
   */
  private async call<T>(what: string, signal: AbortSignal | undefined, fn: (c: Call) => Promise<T>, includeResponse = false): Promise<T> {
    const combined = this.life.callSignal(signal);
    if (combined.aborted) throw abortError(what, combined);
    const ctx = Object.assign(new EventEmitter(), { includeResponse });
    const cancel = () => ctx.emit("cancel");
    combined.addEventListener("abort", cancel, { once: true });
    try {
      return await fn({ ctx, timeout: this.callTimeoutMs });
    } catch (error) {
      if (combined.aborted) throw abortError(what, combined);
      const status = statusOf(error);
      const message = describeError(error);
      const where = `Consul at ${this.config.endpoint}`;
      if (status === undefined) {
        throw new LeaseError("unreachable", `${where} did not answer (${what}): ${message}`, { cause: error, endpoints: [this.config.endpoint], key: this.config.kvKey });
      }
      const hint = status === 403 ? " (check the ACL token: the password of lease.consul.url)" : "";
      throw new LeaseError("store", `${where}: ${what} failed with HTTP ${status}: ${message}${hint}`, { cause: error, endpoints: [this.config.endpoint], key: this.config.kvKey });
    } finally {
      combined.removeEventListener("abort", cancel);
    }
  }
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === "number" ? status : undefined;
}

function abortError(what: string, signal: AbortSignal): LeaseError {
  return isLeaseError(signal.reason) && signal.reason.code === "closed" ? signal.reason : new LeaseError("aborted", `${what}: aborted`, { cause: signal.reason });
}

/** A Go duration as Consul takes it: `10s`, `2500ms`. */
function goDuration(ms: number): string {
  return ms % 1_000 === 0 ? `${ms / 1_000}s` : `${ms}ms`;
}
