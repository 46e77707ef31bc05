/**
 * Restore sources: one replica in one layout (Litestream v0.5 LTX files, or v0.3
 * generations, or whichever of the two a replica holds newest), planned and restored
 * through one interface so that an app picks among replicas without knowing layouts.
 */
import { ReplicaError, isReplicaError } from "./errors.js";
import { chooseRestoreLayout, detectReplicaLayouts } from "./legacy/detect.js";
import { listLegacyReplica } from "./legacy/listing.js";
import { checkLegacyTarget, planLegacyFromListing, type LegacyRestorePlan, type LegacyRestoreTarget } from "./legacy/plan.js";
import { restoreLegacy, type LegacyRestoreProgress } from "./legacy/restore.js";
import type { ReplicaClient } from "./replica-client.js";
import { planRestore, type RestoreTarget } from "./restore-plan.js";
import { restore, type RestoreProgress } from "./restore.js";

/** What to restore: a target state, and optionally a Litestream v0.3 generation (and WAL index in it). */
export interface RestoreRequest {
  target: RestoreTarget;
  /** Only this v0.3 generation (16 lowercase hex digits): only a v0.3 source can serve it. */
  generation?: string | undefined;
  /** Up to and including this v0.3 WAL index; needs `generation`, excludes a timestamp. */
  index?: number | undefined;
}

/** What a finished restore reports. */
export interface RestoreSummary {
  txid: number;
  timestamp: Date;
  bytes: number;
  files: number;
  /** The database checksum was compared with the replica's and matched. */
  checksumVerified: boolean;
  /** Set when a Litestream v0.3 generation was restored (then `txid` is 0): where the replay ended, and bytes left out after the last commit. */
  legacy?: { generation: string; snapshotIndex: number; index: number; offset: number; discarded: number };
}

/** Options of {@link RestoreSource.restore}. */
export interface SourceRestoreOptions {
  output: string;
  parallelism?: number | undefined;
  onProgress?: ((p: RestoreProgress) => void) | undefined;
  /** Checks the temp file before it is renamed into place (SQLite's integrity check, …). */
  verify?: ((tempPath: string) => Promise<void>) | undefined;
  signal?: AbortSignal | undefined;
}

/** A place a restore can come from: one replica, planned before anything is written. */
export interface RestoreSource {
  /** The replica's name. */
  readonly name: string;
  /** For messages: `s3 replica "s3" (s3://bucket/db)`. */
  readonly description: string;
  /** The state a restore to the request would reach; undefined when the source holds no backup. Throws when the target is out of its reach. */
  plan(request: RestoreRequest, signal?: AbortSignal): Promise<{ txid: number; timestamp: Date } | undefined>;
  /** Restores what the last `plan` chose into `options.output` (which must not exist). */
  restore(request: RestoreRequest, options: SourceRestoreOptions): Promise<RestoreSummary>;
}

/** A replica an app names: its name and client (and how to describe it, if not the default). */
export interface NamedReplicaClient {
  name: string;
  client: ReplicaClient;
  description?: string | undefined;
}

/** `s3 replica "backup" (s3://bucket/db)`. */
export function describeReplicaClient(r: NamedReplicaClient): string {
  return r.description ?? `${r.client.type} replica ${JSON.stringify(r.name)} (${r.client.location})`;
}

/** The v0.3 target a request names, checked (a TXID target excludes the v0.3 selectors). */
export function legacyTargetOf(request: RestoreRequest): LegacyRestoreTarget {
  if ((request.generation !== undefined || request.index !== undefined) && request.target.txid !== undefined) {
    throw new ReplicaError("invalid-config", "a TXID target (v0.5) cannot be combined with a v0.3 generation or WAL index");
  }
  const target: LegacyRestoreTarget = { generation: request.generation, index: request.index, timestamp: request.target.timestamp };
  checkLegacyTarget(target);
  return target;
}

/** An LTX replica (Litestream v0.5 layout, ours) as a restore source. */
export class LtxRestoreSource implements RestoreSource {
  readonly name: string;
  readonly description: string;
  constructor(private readonly replica: NamedReplicaClient) {
    this.name = replica.name;
    this.description = describeReplicaClient(replica);
  }

  async plan(request: RestoreRequest, signal?: AbortSignal): Promise<{ txid: number; timestamp: Date } | undefined> {
    try {
      const plan = await planRestore(this.replica.client, request.target, { signal });
      return { txid: plan.txid, timestamp: plan.timestamp };
    } catch (err) {
      if (isReplicaError(err, "no-backup")) return undefined;
      throw err;
    }
  }

  async restore(request: RestoreRequest, options: SourceRestoreOptions): Promise<RestoreSummary> {
    const result = await restore(this.replica.client, {
      output: options.output,
      target: request.target,
      parallelism: options.parallelism,
      overwrite: false,
      onProgress: options.onProgress,
      verify: options.verify,
      signal: options.signal,
    });
    return { txid: result.txid, timestamp: result.timestamp, bytes: result.bytes, files: result.files, checksumVerified: result.checksumVerified };
  }
}

/**
 * A replica that may hold Litestream v0.3 generations, v0.5 LTX files or both. Planning
 * lists both layouts and picks one: v0.3 when a generation is asked for or only v0.3 is
 * there, else the one written last; LTX requests go to the LTX source of the same replica.
 */
export class LayoutAwareSource implements RestoreSource {
  readonly name: string;
  readonly description: string;
  private readonly ltx: RestoreSource;
  /** The v0.3 plan when planning chose the v0.3 layout. */
  private legacyPlan: LegacyRestorePlan | undefined;

  constructor(private readonly replica: NamedReplicaClient) {
    this.name = replica.name;
    this.description = describeReplicaClient(replica);
    this.ltx = new LtxRestoreSource(replica);
  }

  async plan(request: RestoreRequest, signal?: AbortSignal): Promise<{ txid: number; timestamp: Date } | undefined> {
    const target = legacyTargetOf(request);
    const { client } = this.replica;
    // One listing of generations/ settles the usual case (no v0.3 data) before LTX levels are listed twice.
    const legacy = await listLegacyReplica(client, { signal });
    if (legacy.generations.length === 0 && target.generation === undefined) {
      this.legacyPlan = undefined;
      return this.ltx.plan(request, signal);
    }
    const layouts = await detectReplicaLayouts(client, { legacy, signal });
    const layout = chooseRestoreLayout(layouts, { generation: target.generation });
    if (layout !== "legacy") {
      this.legacyPlan = undefined;
      return layout === undefined ? undefined : this.ltx.plan(request, signal);
    }
    if (request.target.txid !== undefined) {
      const which = layouts.ltx === undefined ? "only Litestream v0.3 generations" : "Litestream v0.3 generations, written after its LTX files";
      throw new ReplicaError("txid-not-available", `${this.description} holds ${which}: -txid does not apply to them (use -timestamp, or -generation with -index)`);
    }
    try {
      const plan = planLegacyFromListing(legacy, target);
      this.legacyPlan = plan;
      // v0.3 has no TXIDs: sources compare by time.
      return { txid: 0, timestamp: plan.timestamp };
    } catch (err) {
      if (isReplicaError(err, "no-backup") && target.generation === undefined) return undefined;
      throw err;
    }
  }

  async restore(request: RestoreRequest, options: SourceRestoreOptions): Promise<RestoreSummary> {
    const plan = this.legacyPlan;
    if (plan === undefined) return this.ltx.restore(request, options);
    const files = 1 + plan.indexes.reduce((n, i) => n + i.segments.length, 0);
    const onProgress = options.onProgress;
    const result = await restoreLegacy(this.replica.client, {
      output: options.output,
      plan,
      parallelism: options.parallelism,
      verify: options.verify,
      signal: options.signal,
      onProgress: onProgress && ((p) => onProgress(asRestoreProgress(p, files))),
    });
    return {
      txid: 0,
      timestamp: result.timestamp,
      bytes: result.bytes,
      files,
      checksumVerified: false,
      legacy: { generation: result.generation, snapshotIndex: result.snapshotIndex, index: result.index, offset: result.offset, discarded: result.discarded?.bytes ?? 0 },
    };
  }
}

/** v0.3 phases as an LTX progress listener knows them (snapshot and WAL are both downloads). */
function asRestoreProgress(p: LegacyRestoreProgress, files: number): RestoreProgress {
  const phase = p.phase === "snapshot" || p.phase === "wal" ? "download" : p.phase;
  return { phase, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, files };
}
