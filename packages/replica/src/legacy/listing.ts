/** Lists a Litestream v0.3 replica (`generations/<id>/snapshots|wal/`) into generations, snapshots and WAL segments, skipping and reporting strays. */
import { ReplicaError, throwIfAborted } from "../errors.js";
import { isObjectInfo } from "../object-store.js";
import type { ReplicaClient } from "../replica-client.js";
import { generationPrefix, generationsPrefix, isLegacyGeneration, parseLegacyName } from "./names.js";

/** Where the legacy reader reports what it skips; the CLI's logger fits. */
export interface LegacyLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

/** A v0.3 snapshot: the database file at the start of WAL `index`, LZ4-compressed. */
export interface LegacySnapshotInfo {
  generation: string;
  index: number;
  /** Compressed size. */
  size: number;
  /** When it was uploaded (S3 LastModified, file mtime): all v0.3 time logic uses it. */
  createdAt: Date;
  key: string;
}

/** A v0.3 WAL segment: bytes `[offset, offset + decompressed length)` of WAL `index`. */
export interface LegacySegmentInfo {
  generation: string;
  index: number;
  offset: number;
  /** Compressed size. */
  size: number;
  createdAt: Date;
  key: string;
}

/** One generation: an unbroken chain of WAL indexes, with its snapshots. */
export interface LegacyGeneration {
  generation: string;
  /** By index. */
  snapshots: LegacySnapshotInfo[];
  /** By index, then offset (numerically). */
  segments: LegacySegmentInfo[];
  /** Segment objects whose names cannot be used exactly (offsets above 2^53); a restore that needs them fails. */
  unusable: { key: string; index: number; reason: string }[];
  /** The oldest and newest object times (v0.3.13's "start" and "end"). */
  createdAt: Date;
  updatedAt: Date;
  /** Compressed bytes of all its objects. */
  size: number;
}

/** What a v0.3 replica holds. */
export interface LegacyListing {
  /** The replica, for messages. */
  location: string;
  /** The key prefix under which `generations/` lives. */
  root: string;
  /** Oldest first (by first object time, then id). */
  generations: LegacyGeneration[];
}

export interface LegacyListOptions {
  /** Only this generation (one listing of its prefix). */
  generation?: string | undefined;
  /** Skipped keys are reported at debug level. */
  logger?: LegacyLogger | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Lists a v0.3 replica in one paged listing of `ROOT/generations/` (or of one
 * generation): names parsed strictly, everything else skipped (and reported at debug
 * level), snapshots and segments sorted numerically.
 */
export async function listLegacyReplica(client: ReplicaClient, options: LegacyListOptions = {}): Promise<LegacyListing> {
  const root = client.layout.legacyRoot;
  const { generation, logger, signal } = options;
  if (generation !== undefined && !isLegacyGeneration(generation)) {
    throw new ReplicaError("invalid-config", `invalid generation ${JSON.stringify(generation)}: a v0.3 generation is 16 lowercase hex digits`);
  }
  throwIfAborted(signal);
  const base = generationsPrefix(root);
  const prefix = generation === undefined ? base : generationPrefix(root, generation);
  const byId = new Map<string, LegacyGeneration>();
  const get = (id: string, at: Date): LegacyGeneration => {
    let g = byId.get(id);
    if (g === undefined) {
      g = { generation: id, snapshots: [], segments: [], unusable: [], createdAt: at, updatedAt: at, size: 0 };
      byId.set(id, g);
    }
    return g;
  };
  for await (const entry of client.store.list(prefix, { signal })) {
    if (!isObjectInfo(entry)) continue;
    const name = parseLegacyName(entry.key.slice(base.length));
    if (name.kind === "other") {
      logger?.debug("skipping an object that is not part of a v0.3 replica", { key: entry.key, reason: name.reason });
      continue;
    }
    const g = get(name.generation, entry.lastModified);
    if (entry.lastModified < g.createdAt) g.createdAt = entry.lastModified;
    if (entry.lastModified > g.updatedAt) g.updatedAt = entry.lastModified;
    g.size += entry.size;
    const info = { generation: name.generation, index: name.index, size: entry.size, createdAt: entry.lastModified, key: entry.key };
    if (name.kind === "snapshot") g.snapshots.push(info);
    else if (name.kind === "segment") g.segments.push({ ...info, offset: name.offset });
    else {
      logger?.warn("a v0.3 WAL segment cannot be used", { key: entry.key, reason: name.reason });
      g.unusable.push({ key: entry.key, index: name.index, reason: name.reason });
    }
  }
  const generations = [...byId.values()];
  for (const g of generations) {
    g.snapshots.sort((a, b) => a.index - b.index);
    g.segments.sort((a, b) => a.index - b.index || a.offset - b.offset);
  }
  generations.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.generation < b.generation ? -1 : 1));
  return { location: client.location, root, generations };
}

/** The newest object time of a listing; undefined when it has no generation. */
export function legacyUpdatedAt(listing: LegacyListing): Date | undefined {
  let last: Date | undefined;
  for (const g of listing.generations) if (last === undefined || g.updatedAt > last) last = g.updatedAt;
  return last;
}

/** Every snapshot of a listing, oldest generation first, by index within one. */
export function legacySnapshots(listing: LegacyListing): LegacySnapshotInfo[] {
  return listing.generations.flatMap((g) => g.snapshots);
}
