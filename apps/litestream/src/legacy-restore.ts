import {
  chooseRestoreLayout,
  detectReplicaLayouts,
  isReplicaError,
  listLegacyReplica,
  planLegacyFromListing,
  restoreLegacy,
  type LegacyRestorePlan,
  type LegacyRestoreProgress,
  type LegacyRestoreTarget,
  type RestoreProgress,
} from "@sqlrep/replica";
import { CliError, describeReplica, type NamedReplica } from "./context.js";
import { UsageError } from "@sqlrep/runtime";
import type { RestoreRequest, RestoreSource, RestoreSummary, SourceRestoreOptions } from "./restore-source.js";

/** A v0.3 WAL index on the command line: hex, 1 to 8 digits (`-index 1f`), at most 7fffffff. */
export function parseIndexFlag(text: string): number {
  if (!/^(0x)?[0-9a-fA-F]{1,8}$/.test(text)) throw new UsageError(`invalid -index ${JSON.stringify(text)}: expected a WAL index in hex (e.g. 0000001f)`);
  const value = parseInt(text.replace(/^0x/, ""), 16);
  if (value > 0x7fffffff) throw new UsageError(`invalid -index ${text}: v0.3 WAL indexes stop at 7fffffff`);
  return value;
}

/**
 * The v0.3 target of a request (`-generation`, `-index`, `-timestamp`), checked as
 * v0.3.13 checks it: `-index` needs `-generation` and excludes `-timestamp`; `-txid`
 * is a v0.5 selector and excludes both v0.3 ones.
 */
export function legacyTarget(request: RestoreRequest): LegacyRestoreTarget {
  const generation = request.legacy?.generation;
  const indexText = request.legacy?.index;
  if (request.legacy && request.target.txid !== undefined) throw new UsageError("cannot specify -txid (v0.5) with -generation or -index (v0.3)");
  if (indexText !== undefined && generation === undefined) throw new UsageError("must specify -generation when restoring to -index");
  if (indexText !== undefined && request.target.timestamp !== undefined) throw new UsageError("cannot specify -index and -timestamp");
  if (generation !== undefined && !/^[0-9a-f]{16}$/.test(generation)) {
    throw new UsageError(`invalid -generation ${JSON.stringify(generation)}: a v0.3 generation is 16 lowercase hex digits`);
  }
  return { generation, index: indexText === undefined ? undefined : parseIndexFlag(indexText), timestamp: request.target.timestamp };
}

/**
 * A replica that may hold Litestream v0.3 generations, v0.5 LTX files or both. Planning
 * lists both layouts and picks one: v0.3 when `-generation` is given or only v0.3 is
 * there, else the one written last; LTX requests go to `ltx`, the source of the same
 * replica in the v0.5 layout.
 */
export class LayoutAwareSource implements RestoreSource {
  readonly name: string;
  readonly description: string;
  /** The v0.3 plan when planning chose the v0.3 layout. */
  private legacyPlan: LegacyRestorePlan | undefined;

  constructor(
    private readonly replica: NamedReplica,
    private readonly ltx: RestoreSource,
  ) {
    this.name = replica.name;
    this.description = describeReplica(replica);
  }

  async plan(request: RestoreRequest, signal?: AbortSignal): Promise<{ txid: number; timestamp: Date } | undefined> {
    const target = legacyTarget(request);
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
      throw new CliError(`${this.description} holds ${which}: -txid does not apply to them (use -timestamp, or -generation with -index)`);
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

/** v0.3 phases as the progress bar knows them (snapshot and WAL are both downloads). */
function asRestoreProgress(p: LegacyRestoreProgress, files: number): RestoreProgress {
  const phase = p.phase === "snapshot" || p.phase === "wal" ? "download" : p.phase;
  return { phase, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, files };
}
