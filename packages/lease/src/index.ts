// @sqlrep/lease: the contract that elects a LiteFS primary, the shared renewal timing, the static leaser.
export type { HandoffTicket, Lease, LeaseCallOptions, Leaser, NodeIdentity, PrimaryInfo } from "./contract.js";
export { clusterIdMismatch, describeError, isLeaseError, LeaseError, throwIfAborted, type LeaseErrorCode, type LeaseErrorOptions } from "./errors.js";
export { systemClock, type Clock } from "./clock.js";
export { LeaseKeeper, renewalTiming, type LeaseKeeperOptions, type RenewalTiming, type RenewOutcome } from "./renewal.js";
export { createManagedLease, type LeaseDriver, type ManagedLease, type ManagedLeaseOptions } from "./managed-lease.js";
export { checkIdentity, LeaserLifecycle, type CheckedIdentity } from "./leaser-support.js";
export { formatPrimaryValue, parsePrimaryValue, primaryFeed, samePrimary, type PrimarySink } from "./primary-feed.js";
export { createStaticLeaser } from "./static-leaser.js";
