/** The engine's options (databases, replicas, intervals, levels): their types, Litestream's defaults, and validation into resolved options. */
import { resolve } from "node:path";
import { DEFAULT_LEVELS, MAX_COMPACTION_LEVEL, type LevelSchedule, type ReplicaClient } from "@sqlrep/replica";
import { BackupError } from "./errors.js";
import type { Logger } from "./logger.js";
import type { Registry } from "prom-client";

/** One destination of a database. */
export interface ReplicaTarget {
  /** Names the replica in status, metrics, events and logs; unique per database. */
  name: string;
  client: ReplicaClient;
  /** At most one upload per this many ms under sustained writes (default 1000). */
  syncInterval?: number;
}

/** One database to replicate. */
export interface DatabaseOptions {
  path: string;
  replicas: ReplicaTarget[];
  /** Fallback poll of the WAL, ms (1000); file-system events are the primary trigger. */
  monitorInterval?: number;
  /**
   * Under sustained writes, stage the WAL (and hand the read transaction on) at most this
   * often, ms. By default 1000 (at most the shortest sync interval) where the kernel's
   * lock table shows a checkpoint waiting for our read mark, which is then staged for at
   * once, and 250 where it cannot (no `/proc/locks`): there a checkpoint may wait up to
   * this long (README, "Staging").
   */
  stageInterval?: number;
  /** PASSIVE checkpoint at least this often while the WAL has frames, ms (60 000). */
  checkpointInterval?: number;
  /** PASSIVE checkpoint once the WAL holds this many frames (1000). */
  minCheckpointPageCount?: number;
  /** TRUNCATE checkpoint once the WAL file reaches this many pages (121 359); 0 disables. */
  truncatePageCount?: number;
  /** How long to wait for SQLite locks, ms (1000). */
  busyTimeout?: number;
  /** Compaction levels and intervals (DEFAULT_LEVELS: L1 30 s, L2 5 min, L3 1 h). */
  levels?: readonly LevelSchedule[];
  /** A new snapshot this often, ms (24 h), jittered per database; skipped when nothing changed. */
  snapshotInterval?: number;
  /** Keep snapshots (and what restores need) this long, ms (24 h). */
  snapshotRetention?: number;
  /** Keep level-0 files this long once level 1 covers them, ms (5 min). */
  l0Retention?: number;
  /** Delete what retention no longer needs (true); false leaves it to bucket lifecycle rules. */
  retentionEnabled?: boolean;
  /** Verify the replica's checksum chain this often, ms; 0 (default) never. */
  validationInterval?: number;
  /** At most this many bytes of WAL frames per level-0 file (64 MiB); a transaction is never split. */
  maxBatchBytes?: number;
  /** Where the local log and the lock live (default `<dir>/.<name>-sqlrep`; Litestream's `meta-path`). */
  metaDir?: string;
  /** Bytes of local LTX files kept for replicas that are behind (1 GiB); past it they snapshot later. */
  maxLocalBytes?: number;
}

/** The engine's options. */
export interface BackupEngineOptions {
  databases: DatabaseOptions[];
  logger?: Logger;
  /**
   * The prom-client registry the engine's metric families go on (an app's, served at its
   * `/metrics`); the engine makes its own when none is given. Never the global registry.
   */
  registry?: Registry;
}

/** A database's options with every default filled in. */
export interface ResolvedDatabaseOptions {
  readonly path: string;
  readonly replicas: readonly Required<ReplicaTarget>[];
  readonly monitorInterval: number;
  /** `undefined`: chosen by the engine (see `DatabaseOptions.stageInterval`). */
  readonly stageInterval: number | undefined;
  readonly checkpointInterval: number;
  readonly minCheckpointPageCount: number;
  readonly truncatePageCount: number;
  readonly busyTimeout: number;
  readonly levels: readonly LevelSchedule[];
  readonly snapshotInterval: number;
  readonly snapshotRetention: number;
  readonly l0Retention: number;
  readonly retentionEnabled: boolean;
  readonly validationInterval: number;
  readonly maxBatchBytes: number;
  readonly metaDir: string | undefined;
  readonly maxLocalBytes: number;
}

const HOUR = 60 * 60_000;

/** Fills in defaults and rejects what cannot work, naming the database and the option. */
export function resolveDatabaseOptions(options: DatabaseOptions): ResolvedDatabaseOptions {
  if (typeof options.path !== "string" || options.path === "") throw new BackupError("invalid-config", "a database needs a path");
  const path = resolve(options.path);
  const fail = (message: string): never => {
    throw new BackupError("invalid-config", `${path}: ${message}`, { path });
  };
  const duration = (name: keyof DatabaseOptions, value: number | undefined, fallback: number, min = 0): number => {
    const v = value ?? fallback;
    if (!Number.isFinite(v) || v < min) fail(`${name} must be a number of ms ≥ ${min}, got ${String(value)}`);
    return v;
  };
  const count = (name: keyof DatabaseOptions, value: number | undefined, fallback: number, min: number): number => {
    const v = value ?? fallback;
    if (!Number.isSafeInteger(v) || v < min) fail(`${name} must be an integer ≥ ${min}, got ${String(value)}`);
    return v;
  };
  if (!Array.isArray(options.replicas) || options.replicas.length === 0) fail("at least one replica is needed");
  const names = new Set<string>();
  const replicas = options.replicas.map((r, i) => {
    if (typeof r.name !== "string" || r.name === "") fail(`replica ${i} needs a name`);
    if (names.has(r.name)) fail(`two replicas are named ${JSON.stringify(r.name)}`);
    names.add(r.name);
    if (r.client === undefined || typeof r.client.writeLtxFile !== "function") fail(`replica ${JSON.stringify(r.name)} needs a client`);
    const syncInterval = r.syncInterval ?? 1000;
    if (!Number.isFinite(syncInterval) || syncInterval < 0) fail(`replica ${JSON.stringify(r.name)}: syncInterval must be ≥ 0 ms`);
    return { name: r.name, client: r.client, syncInterval };
  });
  const levels = options.levels ?? DEFAULT_LEVELS;
  let previous = 0;
  for (const l of levels) {
    if (!Number.isInteger(l.level) || l.level < 1 || l.level > MAX_COMPACTION_LEVEL || l.level <= previous) {
      fail(`levels must be ascending compaction levels 1…${MAX_COMPACTION_LEVEL}, got ${levels.map((x) => x.level).join(", ")}`);
    }
    if (!Number.isFinite(l.interval) || l.interval <= 0) fail(`level ${l.level} needs an interval > 0 ms`);
    previous = l.level;
  }
  return {
    path,
    replicas,
    monitorInterval: duration("monitorInterval", options.monitorInterval, 1000, 10),
    stageInterval: options.stageInterval === undefined ? undefined : duration("stageInterval", options.stageInterval, 0),
    checkpointInterval: duration("checkpointInterval", options.checkpointInterval, 60_000),
    minCheckpointPageCount: count("minCheckpointPageCount", options.minCheckpointPageCount, 1000, 1),
    truncatePageCount: count("truncatePageCount", options.truncatePageCount, 121_359, 0),
    busyTimeout: duration("busyTimeout", options.busyTimeout, 1000),
    levels,
    snapshotInterval: duration("snapshotInterval", options.snapshotInterval, 24 * HOUR, 1000),
    snapshotRetention: duration("snapshotRetention", options.snapshotRetention, 24 * HOUR),
    l0Retention: duration("l0Retention", options.l0Retention, 5 * 60_000),
    retentionEnabled: options.retentionEnabled ?? true,
    validationInterval: duration("validationInterval", options.validationInterval, 0),
    maxBatchBytes: count("maxBatchBytes", options.maxBatchBytes, 64 << 20, 1),
    metaDir: options.metaDir === undefined ? undefined : resolve(options.metaDir),
    maxLocalBytes: count("maxLocalBytes", options.maxLocalBytes, 1 << 30, 1),
  };
}
