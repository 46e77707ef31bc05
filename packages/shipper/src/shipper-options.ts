/** What a shipper is given: the settings of its replica, and what it shares with the engine that feeds it. */
import type { LevelSchedule, ReplicaClient } from "@sqlrep/replica";
import type { Clock } from "./clock.js";
import type { LogFeeder } from "./feeder.js";
import type { Logger } from "./logger.js";
import type { LtxLog } from "./ltx-log.js";
import type { ShipperEvent } from "./status.js";

/** Settings of one replica (durations in ms; defaults are Litestream's). */
export interface ShipperOptions {
  /** Names the replica in status, events and logs; unique per database. */
  name: string;
  client: ReplicaClient;
  /** At most one upload per this many ms under sustained writes (1000). */
  syncInterval?: number;
  /** At most this many bytes of local files per level-0 upload (64 MiB); one entry is never split. */
  maxBatchBytes?: number;
  /**
   * Log entries one upload may merge into a TXID range (default 1: one level-0 file per
   * TXID, as Litestream writes them; the cluster, whose every commit is a TXID, merges
   * up to 256 as LiteFS did).
   */
  maxEntriesPerUpload?: number;
  /** Compaction levels (DEFAULT_LEVELS). */
  levels?: readonly LevelSchedule[];
  /** A new snapshot this often (24 h), jittered; skipped when nothing changed. */
  snapshotInterval?: number;
  snapshotRetention?: number;
  l0Retention?: number;
  retentionEnabled?: boolean;
  /** Verify the replica's chain this often; 0 never. */
  validationInterval?: number;
}

/** What a shipper works with, shared with the engine that feeds it. */
export interface ShipperContext {
  /** The database the log is of (for logs and errors). */
  readonly label: string;
  readonly log: LtxLog;
  readonly feeder: LogFeeder;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Fires when the engine stops (aborts uploads in flight). */
  readonly signal: AbortSignal;
  /** Hears of uploads, snapshots, failures and validations. */
  readonly onEvent?: ((event: ShipperEvent) => void) | undefined;
}
