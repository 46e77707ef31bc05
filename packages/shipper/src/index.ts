/**
 * @sqlrep/shipper — the LTX shipper: a local log of LTX files (what an engine staged)
 * uploaded to replicas with Litestream's policy, retries, snapshots, compaction,
 * retention and validation. Fed by the backup engine from the WAL and by the cluster
 * from its commits; it does not know where the changes came from.
 */

/** The local log. */
export { LtxLog, type AppendInit, type LogEntry, type LogPage, type LogPosition, type LtxLogOptions, type WalMark } from "./ltx-log.js";

/** The shipper and what it asks of its feeder. */
export { LtxShipper, describe as describeError, type ShipperContext, type ShipperOptions } from "./shipper.js";
export type { LogFeeder, SnapshotState } from "./feeder.js";
export type { ShipperEvent, ShipperStatus } from "./status.js";

/** A replica's tip and chain, read without a shipper. */
export { readReplicaTip, verifyReplicaChain, type ChainEnd, type ReplicaTip } from "./replica-tip.js";

/** Time, logging and the upload policy. */
export { ManualClock, Scheduler, type Clock, type Timer } from "./clock.js";
export { silentLogger, type Logger } from "./logger.js";
export { UploadPolicy } from "./policy.js";
