// The conformance suite every lease backend runs (like @sqlrep/replica's): mutual exclusion
// across processes, freezing, release, handoff, store outages, cluster IDs, a dead store.
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { Lease, Leaser, NodeIdentity, PrimaryInfo } from "../contract.js";
import { isLeaseError, type LeaseError } from "../errors.js";
import { exclusionViolations, monotonicNow, tenures, type ChildEvent } from "./events.js";
import { Contender } from "./processes.js";

export { exclusionViolations, monotonicNow, tenures, type ChildEvent, type Tenure } from "./events.js";

/** What a backend gives the suite. */
export interface LeaseConformanceHarness {
  /**
   * Absolute path of an ESM module (plain JS: child processes import it with `node`)
   * exporting `createLeaser(options, node): Promise<Leaser>`.
   */
  module: string;
  /** JSON options for `createLeaser`: a cluster on lease key `key` (fresh per test) with this TTL. */
  options(args: { key: string; ttlMs: number }): unknown;
  /** The TTL most tests run with (2 s where the store allows). */
  ttlMs: number;
  /**
   * The longest the store may keep refusing other nodes after the holder's last renew:
   * etcd, the TTL plus its 0.5 s expiry sweep; Consul, twice the TTL (its session timer)
   * plus the lock-delay.
   */
  takeoverBoundMs(ttlMs: number): number;
  /** Where the cluster ID of `key` lives, as messages name it. */
  clusterIdKey(key: string): string;
  /** Options whose store does not answer, and the endpoints the error must name. */
  unreachable: { options: unknown; endpoints: string[] };
  /**
   * Stops and starts the store, keeping its data and its address; enables the outage
   * tests. `ttlMs`: the TTL of the "restarted within the TTL" test (default 5 s).
   */
  store?: { stop(): Promise<void>; start(): Promise<void>; ttlMs?: number };
}

type CreateLeaser = (options: unknown, node: NodeIdentity) => Promise<Leaser>;

const node = (name: string, candidate = true): NodeIdentity => ({ hostname: name, advertiseURL: `http://${name}.test:20202`, candidate });
const hostOf = (p: PrimaryInfo | undefined) => p?.hostname;

/** Registers the suite. Call it from the backend's test file with its harness. */
export function describeLeaser(name: string, harness: LeaseConformanceHarness): void {
  describe(`Leaser conformance: ${name}`, () => {
    const run = randomBytes(3).toString("hex");
    let counter = 0;
    let leasers: Leaser[] = [];
    let children: Contender[] = [];
    let create: CreateLeaser | undefined;
    const ttl = harness.ttlMs;
    const bound = harness.takeoverBoundMs(ttl);

    const freshKey = () => `conformance-${run}-${++counter}`;
    const leaser = async (key: string, who: string, options: { candidate?: boolean; ttlMs?: number } = {}) => {
      create ??= ((await import(pathToFileURL(harness.module).href)) as { createLeaser: CreateLeaser }).createLeaser;
      const made = await create(harness.options({ key, ttlMs: options.ttlMs ?? ttl }), node(who, options.candidate));
      leasers.push(made);
      return made;
    };
    const contender = async (key: string, who: string) => {
      const child = new Contender(who, harness.module, harness.options({ key, ttlMs: ttl }), node(who));
      children.push(child);
      await child.waitFor("ready", 20_000);
      return child;
    };
    const eventsOf = (list: Contender[]) => new Map<string, ChildEvent[]>(list.map((c) => [c.name, c.events]));

    afterEach(async () => {
      for (const child of children) child.kill();
      children = [];
      await Promise.all(leasers.map((l) => l.close().catch(() => {})));
      leasers = [];
    }, 30_000);

    it("acquires, publishes itself, refuses a second holder, renews, releases", async () => {
      const key = freshKey();
      const a = await leaser(key, "a");
      const b = await leaser(key, "b");
      expect(await b.primary()).toBeUndefined();
      const lease = await a.acquire();
      expect(lease.id).not.toBe("");
      expect(lease.epoch).toBeGreaterThan(0);
      expect(lease.ttlMs).toBe(ttl);
      expect(lease.signal.aborted).toBe(false);
      expect(lease.expiresAt.getTime()).toBeGreaterThan(Date.now());
      expect(await b.primary()).toEqual({ hostname: "a", advertiseURL: "http://a.test:20202", epoch: lease.epoch });
      const busy = await b.acquire().catch((e: unknown) => e);
      expect(isLeaseError(busy, "primary-exists")).toBe(true);
      expect((busy as LeaseError).primary).toMatchObject({ hostname: "a", advertiseURL: "http://a.test:20202" });

      const before = lease.expiresAt.getTime();
      await sleep(30);
      await lease.renew();
      expect(lease.expiresAt.getTime()).toBeGreaterThan(before);

      await lease.release();
      expect(lease.signal.aborted).toBe(true);
      expect((lease.signal.reason as LeaseError).code).toBe("released");
      expect(await b.primary()).toBeUndefined();
      await expect(lease.renew()).rejects.toSatisfy((e: unknown) => isLeaseError(e, "released"));
      const next = await b.acquire();
      expect(next.epoch).toBeGreaterThan(lease.epoch);
      expect(hostOf(await a.primary())).toBe("b");
    });

    it("renews by itself past the TTL, and pushes primary changes to watchers", async () => {
      const key = freshKey();
      const a = await leaser(key, "a");
      const b = await leaser(key, "b");
      const seen: (string | undefined)[] = [];
      const stop = new AbortController();
      const watching = (async () => {
        for await (const p of b.watchPrimary({ signal: stop.signal })) seen.push(hostOf(p));
      })();
      await expect.poll(() => seen, { timeout: 5_000 }).toEqual([undefined]);
      const lease = await a.acquire();
      await expect.poll(() => seen, { timeout: 5_000 }).toEqual([undefined, "a"]);
      await sleep(ttl * 1.5);
      expect(lease.signal.aborted).toBe(false);
      expect((await b.primary())?.epoch).toBe(lease.epoch);
      await lease.release();
      await expect.poll(() => seen, { timeout: 5_000 }).toEqual([undefined, "a", undefined]);
      stop.abort();
      await watching;
    });

    it("never lets a non-candidate acquire", async () => {
      const replica = await leaser(freshKey(), "r", { candidate: false });
      expect(replica.candidate).toBe(false);
      await expect(replica.acquire()).rejects.toSatisfy((e: unknown) => isLeaseError(e, "not-candidate"));
    });

    it("mutual exclusion: 5 contenders in separate processes, never two holders, epochs strictly increase", async () => {
      const key = freshKey();
      const list = await Promise.all(["c1", "c2", "c3", "c4", "c5"].map((who) => contender(key, who)));
      const forMs = 4_000;
      for (const c of list) c.send({ cmd: "contend", forMs, holdMs: [20, 80] });
      await Promise.all(list.map((c) => c.waitFor("done", forMs + bound + 10_000, (e) => e.cmd === "contend")));
      const all = tenures(eventsOf(list));
      expect(exclusionViolations(all)).toEqual([]);
      expect(all.length).toBeGreaterThanOrEqual(10);
      expect(new Set(all.map((t) => t.holder)).size).toBeGreaterThanOrEqual(3);
      expect(all.reduce((n, t) => n + t.acts, 0)).toBeGreaterThan(all.length);
    }, 60_000);

    it("a holder frozen with SIGSTOP: another holds within the store's bound + 1 s; resumed, it finds its signal fired and does not act", async () => {
      const key = freshKey();
      const [a, b] = await Promise.all([contender(key, "a"), contender(key, "b")]);
      await a.run({ cmd: "acquire" }, 10_000);
      const held = await a.waitFor("acquired", 1_000);
      b.send({ cmd: "contend" });
      await b.waitFor("busy", 10_000);
      await a.waitFor("act", 5_000);
      a.signal("SIGSTOP");
      const frozenAt = monotonicNow();
      const taken = await b.waitFor("acquired", bound + 5_000);
      expect(taken.t - frozenAt).toBeLessThanOrEqual(bound + 1_000);
      expect(taken.epoch).toBeGreaterThan(held.epoch);
      await sleep(100);
      const resumedAt = monotonicNow();
      a.signal("SIGCONT");
      const from = a.events.length;
      a.send({ cmd: "status" });
      const status = await a.waitFor("status", 5_000, () => true, from);
      expect(status.aborted).toBe(true);
      expect(status.holding).toBe(false);
      const down = await a.waitFor("stepped-down", 5_000);
      expect(down.reason).toBe("lost");
      await sleep(100);
      expect(a.events.filter((e) => e.ev === "act" && e.t >= resumedAt)).toEqual([]);
      expect(exclusionViolations(tenures(eventsOf([a, b])))).toEqual([]);
    }, 60_000);

    it("release: a waiting contender holds at once (pushed by the store, not after the TTL)", async () => {
      const key = freshKey();
      const [a, b] = await Promise.all([contender(key, "a"), contender(key, "b")]);
      await a.run({ cmd: "acquire" }, 10_000);
      b.send({ cmd: "contend" });
      await b.waitFor("busy", 10_000);
      await a.run({ cmd: "release" }, 10_000);
      const releasing = await a.waitFor("releasing", 1_000);
      const taken = await b.waitFor("acquired", ttl * 2);
      expect(taken.t - releasing.t).toBeLessThan(ttl / 2);
      expect(exclusionViolations(tenures(eventsOf([a, b])))).toEqual([]);
    }, 30_000);

    it("handoff: the target holds the same lease with a larger epoch, and a third contender never gets in", async () => {
      const key = freshKey();
      const [a, b, c] = await Promise.all([contender(key, "a"), contender(key, "b"), contender(key, "c")]);
      await a.run({ cmd: "acquire" }, 10_000);
      const held = await a.waitFor("acquired", 1_000);
      c.send({ cmd: "contend" });
      await c.waitFor("busy", 10_000);
      await c.waitFor("primary", 5_000, (e) => e.hostname === "a");
      await a.run({ cmd: "handoff", to: "b" }, 10_000);
      const ticket = await a.waitFor("handed-off", 1_000);
      expect(ticket.leaseId).toBe(held.id);
      await b.run({ cmd: "acquire-existing", id: ticket.leaseId }, 10_000);
      const taken = await b.waitFor("acquired", 1_000);
      expect(taken.id).toBe(held.id);
      expect(taken.epoch).toBeGreaterThan(held.epoch);
      const down = await a.waitFor("stepped-down", 1_000);
      expect(down.reason).toBe("handed-off");
      await c.waitFor("primary", 5_000, (e) => e.hostname === "b");
      await sleep(ttl); // past any renew of the old holder's: the lease stays alive under b
      expect(c.events.some((e) => e.ev === "acquired")).toBe(false);
      const hosts = c.events.filter((e): e is Extract<ChildEvent, { ev: "primary" }> => e.ev === "primary").map((e) => e.hostname);
      expect(hosts.slice(hosts.indexOf("a"))).toEqual(["a", "b"]); // never "no primary" in between
      await b.run({ cmd: "release" }, 10_000);
      await c.waitFor("acquired", ttl * 2);
      expect(exclusionViolations(tenures(eventsOf([a, b, c])))).toEqual([]);
    }, 60_000);

    it("acquireExisting refuses a lease that is gone", async () => {
      const key = freshKey();
      const a = await leaser(key, "a");
      const b = await leaser(key, "b");
      const lease = await a.acquire();
      await lease.release();
      await expect(b.acquireExisting(lease.id)).rejects.toSatisfy((e: unknown) => isLeaseError(e, "lost"));
      expect(await b.primary()).toBeUndefined();
    });

    it("close() releases a held lease (graceful shutdown) so another node takes over at once", async () => {
      const key = freshKey();
      const a = await leaser(key, "a");
      const b = await leaser(key, "b");
      const lease = await a.acquire();
      await a.close();
      expect(lease.signal.aborted).toBe(true);
      expect((lease.signal.reason as LeaseError).code).toBe("closed");
      expect(await b.primary()).toBeUndefined();
      const next = await b.acquire();
      expect(next.epoch).toBeGreaterThan(lease.epoch);
      await expect(a.primary()).rejects.toSatisfy((e: unknown) => isLeaseError(e, "closed"));
    });

    it("stores the cluster ID once and refuses a second cluster on the same key, naming both IDs and the key", async () => {
      const key = freshKey();
      const a = await leaser(key, "a");
      const b = await leaser(key, "b");
      expect(await a.clusterId()).toBeUndefined();
      await a.setClusterId("LFSC0123456789ABCDEF");
      await a.setClusterId("LFSC0123456789ABCDEF");
      expect(await b.clusterId()).toBe("LFSC0123456789ABCDEF");
      const refused = await b.setClusterId("LFSCFFFFFFFFFFFFFFFF").catch((e: unknown) => e);
      expect(isLeaseError(refused, "cluster-id-mismatch")).toBe(true);
      const message = (refused as Error).message;
      expect(message).toContain("LFSC0123456789ABCDEF");
      expect(message).toContain("LFSCFFFFFFFFFFFFFFFF");
      expect(message).toContain(harness.clusterIdKey(key));
      expect(message).toMatch(/its own lease key/);
      expect(await a.clusterId()).toBe("LFSC0123456789ABCDEF");
    });

    it("an unreachable store at start is a clear error naming the endpoints", async () => {
      create ??= ((await import(pathToFileURL(harness.module).href)) as { createLeaser: CreateLeaser }).createLeaser;
      const error = await create(harness.unreachable.options, node("a")).then(
        async (made) => {
          leasers.push(made);
          return made.acquire().catch((e: unknown) => e);
        },
        (e: unknown) => e,
      );
      expect(isLeaseError(error, "unreachable")).toBe(true);
      expect((error as LeaseError).retryable).toBe(true);
      for (const endpoint of harness.unreachable.endpoints) expect((error as Error).message).toContain(endpoint);
    }, 30_000);

    const store = harness.store;
    describe.skipIf(!store)(`store outages${store ? "" : " (skipped: this harness cannot stop and restart its store)"}`, () => {
      it("store stopped and restarted within the TTL: the lease is kept", async () => {
        const restartTtl = store!.ttlMs ?? 5_000;
        const key = freshKey();
        const a = await leaser(key, "a", { ttlMs: restartTtl });
        const b = await leaser(key, "b", { ttlMs: restartTtl });
        const lease = await a.acquire();
        await lease.renew();
        await store!.stop();
        const stoppedAt = Date.now();
        await sleep(restartTtl / 5);
        await store!.start();
        await expect.poll(() => lease.renewedAt.getTime() > stoppedAt, { timeout: restartTtl, interval: 50 }).toBe(true);
        expect(lease.signal.aborted).toBe(false);
        expect((await b.primary())?.epoch).toBe(lease.epoch);
      }, 60_000);

      it("store down past the TTL: the holder's signal fires, a new epoch follows once it is back, and watches resume", async () => {
        const key = freshKey();
        const a = await leaser(key, "a");
        const b = await leaser(key, "b");
        const c = await leaser(key, "c");
        const lease = await a.acquire();
        const seen: (string | undefined)[] = [];
        const stopWatch = new AbortController();
        const watching = (async () => {
          for await (const p of c.watchPrimary({ signal: stopWatch.signal })) seen.push(hostOf(p));
        })();
        await expect.poll(() => seen.at(-1), { timeout: 5_000 }).toBe("a");
        await store!.stop();
        const stoppedAt = Date.now();
        try {
          await expect.poll(() => lease.signal.aborted, { timeout: ttl + 1_000, interval: 20 }).toBe(true);
          expect((lease.signal.reason as LeaseError).code).toBe("lost");
          expect(Date.now() - stoppedAt).toBeLessThanOrEqual(ttl + 1_000);
          await sleep(Math.max(0, ttl + 200 - (Date.now() - stoppedAt)));
        } finally {
          await store!.start();
        }
        let next: Lease | undefined;
        const deadline = Date.now() + bound + 10_000;
        while (!next && Date.now() < deadline) {
          next = await b.acquire().catch(async (e: unknown) => {
            if (!isLeaseError(e)) throw e;
            await sleep(100);
            return undefined;
          });
        }
        expect(next?.epoch).toBeGreaterThan(lease.epoch);
        // The replica's watch outlived the outage and reports the new primary.
        await expect.poll(() => seen.at(-1), { timeout: 10_000 }).toBe("b");
        stopWatch.abort();
        await watching;
      }, 60_000);
    });
  });
}
