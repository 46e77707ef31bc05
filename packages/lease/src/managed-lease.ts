// The Lease every backend hands out: the shared renewal timing (LeaseKeeper) around a small
// driver of store calls, so handoff, release and step-down behave the same on every store.
import type { Clock } from "./clock.js";
import { systemClock } from "./clock.js";
import type { HandoffTicket, Lease, LeaseCallOptions } from "./contract.js";
import { LeaseError, throwIfAborted } from "./errors.js";
import { LeaseKeeper, type RenewOutcome } from "./renewal.js";

/** The store calls behind a lease. */
export interface LeaseDriver {
  /** One renew (etcd keepalive, Consul session renew); "gone" when the store no longer knows the lease. */
  renew(signal: AbortSignal): Promise<RenewOutcome>;
  /** Gives the lease up: deletes the primary key and ends the store's lease/session. */
  release(signal: AbortSignal): Promise<void>;
}

/** Options of {@link createManagedLease}. */
export interface ManagedLeaseOptions {
  id: string;
  epoch: number;
  ttlMs: number;
  /** `clock.now()` at the start of the request that acquired or renewed the lease. */
  renewedAt: number;
  driver: LeaseDriver;
  /** Names the lease in messages: `etcd lease 7587 on /litefs/a`. */
  describe: string;
  clock?: Clock;
  /** Called once when the lease ends for any reason (the leaser forgets it). */
  onEnd?(lease: ManagedLease): void;
}

/** A `Lease` with the handle its leaser needs to end it on close. */
export interface ManagedLease extends Lease {
  /** Ends the lease from the leaser's side (close): stops acting and releases, best effort. */
  shutdown(reason: LeaseError): Promise<void>;
}

const RELEASE_TIMEOUT_MS = 5_000;

/** Builds the shared `Lease` over a backend's driver; renewal starts at once. */
export function createManagedLease(options: ManagedLeaseOptions): ManagedLease {
  const clock = options.clock ?? systemClock;
  const { driver, describe } = options;
  let ended = false;
  const finish = () => {
    if (ended) return;
    ended = true;
    options.onEnd?.(lease);
  };
  const bestEffortRelease = () => {
    // Stopped acting already; ending the store's lease early lets another node in
    // sooner than the TTL. The store may be the reason we stepped down: ignore failures.
    driver.release(AbortSignal.timeout(RELEASE_TIMEOUT_MS)).catch(() => {});
  };
  const keeper = new LeaseKeeper({
    ttlMs: options.ttlMs,
    renewedAt: options.renewedAt,
    renew: (signal) => driver.renew(signal),
    describe,
    clock,
    onLost: () => {
      bestEffortRelease();
      finish();
    },
  });
  const wall = (monotonic: number) => new Date(clock.wallNow() + (monotonic - clock.now()));

  const lease: ManagedLease = {
    id: options.id,
    epoch: options.epoch,
    ttlMs: options.ttlMs,
    signal: keeper.signal,
    get expiresAt() {
      return wall(keeper.expiresAt);
    },
    get renewedAt() {
      return wall(keeper.renewedAt);
    },
    async renew(call: LeaseCallOptions = {}) {
      throwIfAborted(call.signal, `renew ${describe}`);
      await keeper.renewNow();
    },
    async handoff(toNode: string, call: LeaseCallOptions = {}): Promise<HandoffTicket> {
      throwIfAborted(call.signal, `hand off ${describe}`);
      // The target renews the lease itself as it takes it over; it needs only enough time
      // left to do so. Renewals run every TTL/2, so less than half the TTL left means one
      // is late or failing: renew first then (a lease the store no longer has throws here).
      // Otherwise the store round trip would only lengthen the handoff's write gap.
      if (keeper.expiresAt - clock.now() < options.ttlMs / 2) await keeper.renewNow();
      keeper.stop(new LeaseError("handed-off", `${describe}: handed off to ${toNode}`));
      finish();
      return { leaseId: options.id, toNode, fromEpoch: options.epoch };
    },
    async release(call: LeaseCallOptions = {}) {
      if (keeper.ended) return; // handed off or lost: nothing of ours left to give up
      keeper.stop(new LeaseError("released", `${describe}: released`));
      finish();
      const signal = call.signal ? AbortSignal.any([call.signal, AbortSignal.timeout(RELEASE_TIMEOUT_MS)]) : AbortSignal.timeout(RELEASE_TIMEOUT_MS);
      await driver.release(signal);
    },
    async shutdown(reason: LeaseError) {
      if (keeper.ended) return;
      keeper.stop(reason);
      finish();
      await driver.release(AbortSignal.timeout(RELEASE_TIMEOUT_MS)).catch(() => {});
    },
  };
  return lease;
}
