import { isReplicaError, planRestore, restore, type RestoreProgress, type RestoreTarget } from "@sqlrep/replica";
import { describeReplica, type NamedReplica } from "./context.js";
import { LayoutAwareSource, legacyTarget } from "./legacy-restore.js";

/** What the user asked `restore` for, after flag parsing. */
export interface RestoreRequest {
  target: RestoreTarget;
  /** Litestream v0.3 selectors (`-generation`, `-index`): only a legacy source can serve them. */
  legacy?: { generation?: string | undefined; index?: string | undefined };
}

/** What a finished restore reports for the summary line. */
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
  parallelism: number;
  onProgress?: (p: RestoreProgress) => void;
  verify?: (tempPath: string) => Promise<void>;
  signal?: AbortSignal;
}

/**
 * A place `restore` can restore from: one replica in one layout. Today an LTX replica
 * (Litestream v0.5 layout, ours); a Litestream v0.3 generation source plugs in here
 * (see {@link resolveRestoreSources}) without touching the command.
 */
export interface RestoreSource {
  /** The replica's name (`-replica`). */
  readonly name: string;
  /** For messages: `s3 replica "s3" (s3://bucket/db)`. */
  readonly description: string;
  /**
   * The state a restore to the request's target would reach, or undefined when the
   * source holds no backup. Throws when the target cannot be reached.
   */
  plan(request: RestoreRequest, signal?: AbortSignal): Promise<{ txid: number; timestamp: Date } | undefined>;
  restore(request: RestoreRequest, options: SourceRestoreOptions): Promise<RestoreSummary>;
}

/** An LTX replica as a restore source (planning and restoring through `@sqlrep/replica`). */
class LtxRestoreSource implements RestoreSource {
  readonly name: string;
  readonly description: string;
  constructor(private readonly replica: NamedReplica) {
    this.name = replica.name;
    this.description = describeReplica(replica);
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
 * The sources a request can restore from: each replica in whichever layout it holds
 * (v0.3 generations, v0.5 LTX files, or both: see `LayoutAwareSource`). The v0.3
 * selectors are checked here, before anything is listed.
 */
export function resolveRestoreSources(request: RestoreRequest, replicas: readonly NamedReplica[]): RestoreSource[] {
  legacyTarget(request);
  return replicas.map((r) => new LayoutAwareSource(r, new LtxRestoreSource(r)));
}

/** What {@link chooseRestoreSource} found. */
export interface SourceChoice {
  /** The source reaching furthest, or undefined when none has a backup (or all failed). */
  best?: { source: RestoreSource; txid: number; timestamp: Date };
  /** Sources that could not be planned (unreachable, or the target is out of their reach). */
  failures: { source: RestoreSource; error: unknown }[];
}

/**
 * Plans every source and picks the one that reaches furthest toward the target (the
 * highest TXID, then the newest state; the first listed on a tie), as Litestream picks
 * the replica with the newest backup.
 */
export async function chooseRestoreSource(sources: readonly RestoreSource[], request: RestoreRequest, signal?: AbortSignal): Promise<SourceChoice> {
  const results = await Promise.allSettled(sources.map((s) => s.plan(request, signal)));
  const choice: SourceChoice = { failures: [] };
  results.forEach((result, i) => {
    const source = sources[i]!;
    if (result.status === "rejected") choice.failures.push({ source, error: result.reason });
    else if (result.value && (!choice.best || result.value.txid > choice.best.txid || (result.value.txid === choice.best.txid && result.value.timestamp > choice.best.timestamp))) {
      choice.best = { source, ...result.value }; // v0.3 sources (TXID 0) compare by time
    }
  });
  return choice;
}
