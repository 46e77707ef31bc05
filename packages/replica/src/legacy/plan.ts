/** Plans a v0.3 restore: picks the generation and snapshot for a target (generation, index, time) and the WAL segments after it, in order. */
import { ReplicaError } from "../errors.js";
import type { ReplicaClient } from "../replica-client.js";
import { listLegacyReplica, type LegacyGeneration, type LegacyListing, type LegacyLogger, type LegacySegmentInfo, type LegacySnapshotInfo } from "./listing.js";
import { hex8, isLegacyGeneration } from "./names.js";

/** Where a v0.3 restore should land; all absent = the latest state of the replica. */
export interface LegacyRestoreTarget {
  /** Only this generation (16 lowercase hex digits). */
  generation?: string | undefined;
  /** Up to and including this WAL index; needs `generation`, excludes `timestamp`. */
  index?: number | undefined;
  /** Only objects uploaded at or before this time (PITR precision is the upload time). */
  timestamp?: Date | undefined;
}

/** The segments of one WAL index, in offset order, the first at offset 0. */
export interface LegacyIndexPlan {
  index: number;
  segments: LegacySegmentInfo[];
}

/** What a v0.3 restore reads: one snapshot, then whole WAL indexes from the snapshot's. */
export interface LegacyRestorePlan {
  generation: string;
  snapshot: LegacySnapshotInfo;
  /** Consecutive indexes from the snapshot's; empty when the snapshot alone is the state. */
  indexes: LegacyIndexPlan[];
  /** The last index applied (the snapshot's when there is no WAL). */
  index: number;
  /** Upload time of the newest object used: when the restored state reached the replica. */
  timestamp: Date;
  /** Compressed bytes to download. */
  bytes: number;
}

/** v0.3 indexes are a signed 32-bit counter (Litestream starts a new generation at 0x7FFFFFFF). */
const MAX_INDEX = 0x7fffffff;

/**
 * Lists the replica (one generation when the target names one) and plans a restore;
 * see {@link planLegacyFromListing}.
 */
export async function planLegacyRestore(
  client: ReplicaClient,
  target: LegacyRestoreTarget = {},
  options: { logger?: LegacyLogger | undefined; signal?: AbortSignal | undefined } = {},
): Promise<LegacyRestorePlan> {
  checkLegacyTarget(target);
  const listing = await listLegacyReplica(client, { generation: target.generation, logger: options.logger, signal: options.signal });
  return planLegacyFromListing(listing, target);
}

/**
 * The planner (pure). The snapshot is the newest one the target allows: across
 * generations, the generation of the most recently uploaded eligible snapshot (or the
 * named one), and in it the highest eligible index. Then that generation's segments
 * from the snapshot's index on, up to the target (`index`: whole indexes up to it;
 * `timestamp`: stopping at the first segment uploaded after it). Indexes below the
 * snapshot's are never looked at. Every index must be present and start at offset 0;
 * contiguity inside an index is checked while restoring, as lengths are learnt.
 * Throws ReplicaError "no-backup", "txid-not-available", "non-contiguous" or "corrupt".
 */
export function planLegacyFromListing(listing: LegacyListing, target: LegacyRestoreTarget = {}): LegacyRestorePlan {
  checkLegacyTarget(target);
  const where = listing.location;
  const generations = candidates(listing, target);
  const time = target.timestamp?.getTime();
  const eligible = (s: LegacySnapshotInfo): boolean => (target.index === undefined || s.index <= target.index) && (time === undefined || s.createdAt.getTime() <= time);

  let chosen: { g: LegacyGeneration; snapshot: LegacySnapshotInfo; newest: number } | undefined;
  for (const g of generations) {
    const snaps = g.snapshots.filter(eligible);
    if (snaps.length === 0) continue;
    // Within a generation the index orders snapshots; across them, the upload time.
    const candidate = { g, snapshot: snaps[snaps.length - 1]!, newest: Math.max(...snaps.map((s) => s.createdAt.getTime())) };
    if (chosen === undefined || newer(candidate, chosen)) chosen = candidate;
  }
  if (chosen === undefined) throw noSnapshot(listing, generations, target);
  const { g, snapshot } = chosen;

  let segments = g.segments.filter((s) => s.index >= snapshot.index && (target.index === undefined || s.index <= target.index));
  if (time !== undefined) {
    const cut = segments.findIndex((s) => s.createdAt.getTime() > time);
    if (cut >= 0) segments = segments.slice(0, cut);
  }
  const unusable = g.unusable.find((u) => u.index >= snapshot.index && (target.index === undefined || u.index <= target.index));
  if (unusable !== undefined) {
    throw new ReplicaError("corrupt", `cannot restore generation ${g.generation} of ${where}: WAL segment ${unusable.key} is needed but ${unusable.reason}`, {
      key: unusable.key,
    });
  }
  const indexes = groupIndexes(g.generation, snapshot.index, segments, where);
  const last = indexes.length > 0 ? indexes[indexes.length - 1]!.index : snapshot.index;
  if (target.index !== undefined && last < target.index) {
    const highest = g.segments.length > 0 ? g.segments[g.segments.length - 1]!.index : snapshot.index;
    throw new ReplicaError(
      "txid-not-available",
      `WAL index ${hex8(target.index)} is not available in generation ${g.generation} of ${where}: its highest WAL index is ${hex8(Math.max(highest, snapshot.index))}`,
    );
  }
  let timestamp = snapshot.createdAt;
  let bytes = snapshot.size;
  for (const s of segments) {
    if (s.createdAt > timestamp) timestamp = s.createdAt;
    bytes += s.size;
  }
  return { generation: g.generation, snapshot, indexes, index: last, timestamp, bytes };
}

/** Validates a target (also done by the planner). */
export function checkLegacyTarget(target: LegacyRestoreTarget): void {
  const { generation, index, timestamp } = target;
  if (generation !== undefined && !isLegacyGeneration(generation)) {
    throw new ReplicaError("invalid-config", `invalid generation ${JSON.stringify(generation)}: a v0.3 generation is 16 lowercase hex digits`);
  }
  if (index !== undefined) {
    if (!Number.isInteger(index) || index < 0 || index > MAX_INDEX) throw new ReplicaError("invalid-config", `invalid WAL index ${String(index)}: 0…7fffffff`);
    if (generation === undefined) throw new ReplicaError("invalid-config", "a WAL index target needs a generation");
    if (timestamp !== undefined) throw new ReplicaError("invalid-config", "a restore target is a WAL index or a timestamp, not both");
  }
  if (timestamp !== undefined && !(timestamp instanceof Date && Number.isFinite(timestamp.getTime()))) {
    throw new ReplicaError("invalid-config", `invalid target timestamp ${String(timestamp)}`);
  }
}

function candidates(listing: LegacyListing, target: LegacyRestoreTarget): LegacyGeneration[] {
  if (target.generation === undefined) {
    if (listing.generations.length === 0) {
      throw new ReplicaError("no-backup", `no Litestream v0.3 generations in ${listing.location} (looked under "${listing.root}generations/")`);
    }
    return listing.generations;
  }
  const g = listing.generations.find((x) => x.generation === target.generation);
  if (g === undefined) {
    const known = listing.generations.map((x) => x.generation).join(", ");
    throw new ReplicaError("no-backup", `generation ${target.generation} not found in ${listing.location}${known ? ` (generations: ${known})` : ""}`);
  }
  return [g];
}

/** Orders generations by their newest eligible snapshot, then last write, then first write. */
function newer(a: { g: LegacyGeneration; newest: number }, b: { g: LegacyGeneration; newest: number }): boolean {
  if (a.newest !== b.newest) return a.newest > b.newest;
  if (a.g.updatedAt.getTime() !== b.g.updatedAt.getTime()) return a.g.updatedAt > b.g.updatedAt;
  return a.g.createdAt > b.g.createdAt;
}

function noSnapshot(listing: LegacyListing, generations: LegacyGeneration[], target: LegacyRestoreTarget): ReplicaError {
  const where = listing.location;
  const scope = target.generation === undefined ? where : `generation ${target.generation} of ${where}`;
  const all = generations.flatMap((g) => g.snapshots);
  if (all.length === 0) return new ReplicaError("no-backup", `no v0.3 snapshots in ${scope}: nothing to restore`);
  if (target.index !== undefined) {
    const indexes = all.map((s) => hex8(s.index)).join(", ");
    return new ReplicaError("txid-not-available", `no snapshot at or below WAL index ${hex8(target.index)} in ${scope} (snapshots at indexes ${indexes})`);
  }
  const earliest = new Date(Math.min(...all.map((s) => s.createdAt.getTime())));
  return new ReplicaError(
    "txid-not-available",
    `nothing in ${scope} was uploaded at or before ${target.timestamp!.toISOString()}: the earliest snapshot was uploaded at ${earliest.toISOString()}`,
  );
}

/** Groups segments by index; every index from `first` to the last must be present and start at offset 0. */
function groupIndexes(generation: string, first: number, segments: LegacySegmentInfo[], where: string): LegacyIndexPlan[] {
  const out: LegacyIndexPlan[] = [];
  for (const s of segments) {
    let plan = out[out.length - 1];
    if (plan === undefined || plan.index !== s.index) {
      const expected = plan === undefined ? first : plan.index + 1;
      if (s.index !== expected) {
        const missing = s.index - 1 > expected ? `WAL indexes ${hex8(expected)}…${hex8(s.index - 1)} have` : `WAL index ${hex8(expected)} has`;
        throw new ReplicaError(
          "non-contiguous",
          `generation ${generation} of ${where}: ${missing} no segments, but index ${hex8(s.index)} does (restoring from the snapshot at index ${hex8(first)})`,
          { key: s.key },
        );
      }
      if (s.offset !== 0) {
        throw new ReplicaError(
          "non-contiguous",
          `generation ${generation} of ${where}: WAL index ${hex8(s.index)} has no segment at offset 0: bytes 0…${s.offset - 1} are missing (its first segment is ${s.key})`,
          { key: s.key, offset: 0 },
        );
      }
      plan = { index: s.index, segments: [] };
      out.push(plan);
    } else {
      const prev = plan.segments[plan.segments.length - 1]!;
      if (prev.offset === s.offset) {
        throw new ReplicaError("corrupt", `generation ${generation} of ${where}: ${prev.key} and ${s.key} both hold WAL index ${hex8(s.index)} from offset ${s.offset}`, {
          key: s.key,
          offset: s.offset,
        });
      }
    }
    plan.segments.push(s);
  }
  return out;
}
