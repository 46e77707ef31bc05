// The static lease (LiteFS `lease.type: static`): no store, no election, no failover. The
// candidate is the primary for as long as it runs; every other node names it in its config.
import type { HandoffTicket, Lease, LeaseCallOptions, Leaser, NodeIdentity, PrimaryInfo } from "./contract.js";
import { clusterIdMismatch, LeaseError, throwIfAborted } from "./errors.js";
import { checkIdentity, LeaserLifecycle } from "./leaser-support.js";
import { primaryFeed } from "./primary-feed.js";

/** LiteFS's static lease "expires" in the year 3000. */
const STATIC_EXPIRY = new Date(Date.UTC(3000, 0, 1));

/**
 * A leaser without a store. `candidate: true`: this node is always the primary (acquire
 * always succeeds, `primary()` is this node). `candidate: false`: `hostname` and
 * `advertiseURL` are the *primary's*, as in LiteFS, and `acquire()` says that primary
 * exists. No failover and no handoff: moving the primary means changing the config of
 * every node and restarting them. The cluster ID lives in this process only.
 */
export function createStaticLeaser(node: NodeIdentity): Leaser {
  const me = checkIdentity(node, "lease");
  const life = new LeaserLifecycle(`static lease (${me.candidate ? "primary" : "replica of"} ${me.hostname})`);
  const primary: PrimaryInfo = { hostname: me.hostname, advertiseURL: me.advertiseURL };
  let clusterId: string | undefined;
  const leases = new Set<AbortController>();

  return {
    type: "static",
    hostname: me.hostname,
    advertiseURL: me.advertiseURL,
    candidate: me.candidate,
    ttlMs: Infinity,
    async acquire(options: LeaseCallOptions = {}) {
      life.assertOpen("acquire");
      throwIfAborted(options.signal, "acquire the static lease");
      if (!me.candidate) {
        throw new LeaseError("primary-exists", `static lease: ${me.hostname} (${me.advertiseURL}) is the primary by configuration`, {
          primary: { ...primary },
        });
      }
      return staticLease(leases, life.closed);
    },
    async acquireExisting(leaseId: string) {
      life.assertOpen("acquireExisting");
      throw new LeaseError("unsupported", `static lease: no handoff (lease ID ${JSON.stringify(leaseId)}); change the configuration of every node to move the primary`);
    },
    async primary(options: LeaseCallOptions = {}) {
      life.assertOpen("primary");
      throwIfAborted(options.signal, "read the static primary");
      return { ...primary };
    },
    watchPrimary(options: LeaseCallOptions = {}) {
      life.assertOpen("watchPrimary");
      // The primary never changes: one value, then quiet until the watch ends.
      return primaryFeed((sink) => sink.push({ ...primary }), { signal: options.signal, closed: life.closed });
    },
    async clusterId() {
      life.assertOpen("clusterId");
      return clusterId;
    },
    async setClusterId(id: string) {
      life.assertOpen("setClusterId");
      if (clusterId !== undefined && clusterId !== id) throw clusterIdMismatch("the static lease of this process", clusterId, id);
      clusterId = id;
    },
    async close() {
      await life.close(() => {
        for (const controller of leases) controller.abort(new LeaseError("closed", "static lease: leaser closed"));
        leases.clear();
      });
    },
  };
}

function staticLease(leases: Set<AbortController>, closed: AbortSignal): Lease {
  const controller = new AbortController();
  if (closed.aborted) controller.abort(closed.reason);
  leases.add(controller);
  return {
    id: "static",
    epoch: 1,
    ttlMs: Infinity,
    expiresAt: STATIC_EXPIRY,
    renewedAt: new Date(0),
    signal: controller.signal,
    async renew() {
      if (controller.signal.aborted) throw controller.signal.reason;
    },
    async handoff(toNode: string): Promise<HandoffTicket> {
      throw new LeaseError("unsupported", `static lease: cannot hand off to ${toNode}; change the configuration of every node to move the primary`);
    },
    async release() {
      leases.delete(controller);
      if (!controller.signal.aborted) controller.abort(new LeaseError("released", "static lease: released"));
    },
  };
}
