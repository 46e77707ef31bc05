/** Compaction of a replica's level into the next one up (Litestream v0.5's levels), streamed from and to the replica, and the default level schedule. */
import { compactLtx, formatTxid } from "@sqlrep/ltx";
import { ReplicaError, throwIfAborted } from "./errors.js";
import { MergeInputs } from "./inputs.js";
import { MAX_COMPACTION_LEVEL, SNAPSHOT_LEVEL } from "./layout.js";
import { fileLabel, highestTXID, listLevels } from "./listing.js";
import { DEFAULT_PARALLELISM, RangeScheduler } from "./ranged-source.js";
import type { LtxFileInfo, LtxFileRef, ReplicaClient } from "./replica-client.js";

/** How often a level is compacted from the level below it. */
export interface LevelSchedule {
  level: number;
  /** Milliseconds between compactions. */
  interval: number;
}

/** Litestream v0.5's defaults: L1 every 30 s, L2 every 5 min, L3 every hour. */
export const DEFAULT_LEVELS: readonly LevelSchedule[] = Object.freeze([
  Object.freeze({ level: 1, interval: 30_000 }),
  Object.freeze({ level: 2, interval: 5 * 60_000 }),
  Object.freeze({ level: 3, interval: 60 * 60_000 }),
]);

export interface CompactLevelOptions {
  /** Concurrent ranged reads of the inputs (default 8). */
  parallelism?: number | undefined;
  /**
   * Leave out inputs that end at or before this TXID, as if the level already reached
   * it: past a region that does not chain (another writer's files, before the snapshot
   * that replaced them), compaction starts after that snapshot.
   */
  after?: number | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Compacts into `level` (1…8) the files of `level − 1` after the highest MaxTXID of
 * `level`, in order, as long as they are contiguous. The first input may start after
 * a gap only when a level-9 snapshot covers it (our backup engine leaves such a gap
 * in level 0 at a snapshot taken after it lost track of the WAL); any other gap is
 * ReplicaError "non-contiguous". Inputs stream through `compactLtx` straight into
 * `writeLtxFile` (no local staging; database checksums kept when every input has
 * them); the output is `<min of inputs>-<max of inputs>.ltx` with the last input's
 * timestamp. Every input is verified; a fault means nothing is written.
 * Resolves with the new file, or undefined when there is nothing to compact.
 */
export async function compactLevel(client: ReplicaClient, level: number, options: CompactLevelOptions = {}): Promise<LtxFileInfo | undefined> {
  if (!Number.isInteger(level) || level < 1 || level > MAX_COMPACTION_LEVEL) {
    throw new ReplicaError("invalid-config", `cannot compact into level ${level}: compaction levels are 1…${MAX_COMPACTION_LEVEL}`);
  }
  const { signal } = options;
  const [target, source] = await listLevels(client, [level, level - 1], { signal });
  const inputs = await selectInputs(client, level, Math.max(highestTXID(target!), options.after ?? 0), source!, signal);
  if (inputs.length === 0) return undefined;
  const output: LtxFileRef = { level, minTXID: inputs[0]!.minTXID, maxTXID: inputs[inputs.length - 1]!.maxTXID };
  const scheduler = new RangeScheduler(client, { parallelism: options.parallelism ?? DEFAULT_PARALLELISM, signal });
  const merge = new MergeInputs(client, inputs, scheduler, signal);
  try {
    const headers = await Promise.all(merge.readers.map((r) => r.header()));
    merge.checkNames(headers);
    const timestamp = new Date(headers[headers.length - 1]!.timestamp);
    return await client.writeLtxFile(output, compactedBytes(merge, fileLabel(output), signal), { timestamp, signal });
  } catch (err) {
    throw merge.error(err);
  } finally {
    scheduler.close();
  }
}

/** The inputs of a compaction into `level`; see `compactLevel`. */
async function selectInputs(client: ReplicaClient, level: number, done: number, source: readonly LtxFileInfo[], signal: AbortSignal | undefined): Promise<LtxFileInfo[]> {
  const pending = source.filter((f) => f.maxTXID > done);
  const first = pending[0];
  if (first === undefined) return [];
  if (done > 0 && first.minTXID > done + 1) {
    const [snapshots] = await listLevels(client, [SNAPSHOT_LEVEL], { signal });
    if (!snapshots!.some((s) => s.minTXID === 1 && s.maxTXID >= first.minTXID - 1)) {
      throw new ReplicaError(
        "non-contiguous",
        `cannot compact level ${level - 1} into level ${level} of ${client.location}: level ${level} ends at TXID ${formatTxid(done)} but level ${level - 1} continues at ${fileLabel(first)}; TXIDs ${formatTxid(done + 1)}…${formatTxid(first.minTXID - 1)} are missing and no snapshot covers them`,
      );
    }
  }
  const inputs = [first];
  let txid = first.maxTXID;
  for (const f of pending.slice(1)) {
    if (f.maxTXID <= txid) continue; // inside the run already (overlapping names): nothing new
    if (f.minTXID > txid + 1) break; // a gap: the next compaction starts after it
    inputs.push(f);
    txid = f.maxTXID;
  }
  return inputs;
}

/**
 * The compacted file's bytes. The last chunk is held back until every input has been
 * verified and the checksum chain checked, so a fault aborts the write.
 */
async function* compactedBytes(merge: MergeInputs, name: string, signal: AbortSignal | undefined): AsyncIterable<Uint8Array> {
  try {
    const output = compactLtx(merge.readers, { file: name, signal });
    let held: Uint8Array | undefined;
    for (;;) {
      throwIfAborted(signal);
      const next = await output.next();
      if (next.done) break;
      if (held !== undefined) yield held;
      held = next.value;
    }
    await merge.checkChecksumChain();
    if (held !== undefined) yield held;
  } catch (err) {
    throw merge.error(err);
  }
}
