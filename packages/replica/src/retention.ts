/** Retention: deletes the snapshots and level files no restore to a time inside the retention window needs. */
import { ReplicaError, throwIfAborted } from "./errors.js";
import { MAX_COMPACTION_LEVEL } from "./layout.js";
import { ALL_LEVELS, highestTXID, listLevels } from "./listing.js";
import type { LtxFileInfo, LtxFileRef, ReplicaClient } from "./replica-client.js";

export interface RetentionOptions {
  /** How far back (ms) a restore to any time must keep working. */
  snapshotRetention: number;
  /** How long (ms) level-0 files stay once level 1 covers them. */
  l0Retention: number;
  /**
   * The compaction levels in use, e.g. [1, 2, 3]. Level 0 loses files covered by level 1
   * only when 1 is among them; the snapshot floor applies to every level 0…8 (files
   * left by an earlier configuration go too).
   */
  levels: readonly number[];
  now?: Date | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Deletes what no restore to a time inside [now − snapshotRetention, now] needs:
 *
 * - snapshots (level 9): keeps every one newer than the window start, the newest at or
 *   before it, and always the newest; deletes the older ones;
 * - levels 0…8: files whose MaxTXID ≤ the MaxTXID of the oldest kept snapshot — only
 *   when that snapshot is at or before the window start, so a restore anywhere in the
 *   window still finds its base and chain;
 * - level 0 also (when level 1 is in use): files covered by level 1 (MaxTXID ≤ level
 *   1's highest) and older than
 *   `l0Retention`, in order, stopping at the first too-recent one (level 0 stays
 *   contiguous) — and at a file starting at TXID 1 while no kept snapshot is as old:
 *   it is the only base for times before the first snapshot.
 *
 * Each level keeps its last file (compaction and the replica position read it).
 * Snapshot ages come from listings (upload time on S3, never earlier than the LTX
 * timestamp), which can only keep more. Returns what was deleted.
 */
export async function enforceRetention(client: ReplicaClient, options: RetentionOptions): Promise<{ deleted: LtxFileRef[] }> {
  checkOptions(options);
  const { signal } = options;
  const now = (options.now ?? new Date()).getTime();
  const windowStart = now - options.snapshotRetention;
  const listed = await listLevels(client, ALL_LEVELS, { signal });
  const snapshots = listed
    .pop()!
    .filter((f) => f.minTXID === 1)
    .sort((a, b) => a.maxTXID - b.maxTXID);

  const deleted: LtxFileRef[] = [];
  // The newest snapshot at or before the window start is the oldest one kept.
  const anchor = snapshots.findLastIndex((s) => s.createdAt.getTime() <= windowStart);
  const floor = anchor >= 0 ? snapshots[anchor]!.maxTXID : 0;
  const oldSnapshots = anchor > 0 ? snapshots.slice(0, anchor) : [];
  const kept = snapshots.slice(oldSnapshots.length);

  const coveredByL1 = options.levels.includes(1) ? highestTXID(listed[1]!) : 0;
  for (const [level, files] of listed.entries()) {
    const keep = files.length - 1; // each level keeps its last file
    const doomed = new Set<LtxFileInfo>();
    files.forEach((f, i) => {
      if (i < keep && f.maxTXID <= floor) doomed.add(f);
    });
    if (level === 0) {
      for (let i = 0; i < keep; i++) {
        const f = files[i]!;
        if (f.maxTXID > coveredByL1 || f.createdAt.getTime() > now - options.l0Retention) break;
        // A level-0 file starting at TXID 1 is the base of restores to times before the
        // first snapshot: it goes only once a kept snapshot is at least as old.
        if (f.minTXID === 1 && !kept.some((s) => s.maxTXID <= f.maxTXID)) break;
        doomed.add(f);
      }
    }
    deleted.push(...[...doomed].map(toRef));
  }
  deleted.push(...oldSnapshots.map(toRef));
  throwIfAborted(signal);
  // Snapshots last, so an interrupted run never leaves lower-level files without their base.
  await client.deleteLtxFiles(deleted, { signal });
  return { deleted };
}

function toRef(f: LtxFileRef): LtxFileRef {
  return { level: f.level, minTXID: f.minTXID, maxTXID: f.maxTXID };
}

function checkOptions(options: RetentionOptions): void {
  for (const name of ["snapshotRetention", "l0Retention"] as const) {
    const value = options[name];
    if (!Number.isFinite(value) || value < 0) throw new ReplicaError("invalid-config", `${name} must be a duration in ms ≥ 0, got ${value}`);
  }
  for (const level of options.levels) {
    if (!Number.isInteger(level) || level < 1 || level > MAX_COMPACTION_LEVEL) {
      throw new ReplicaError("invalid-config", `retention levels are compaction levels 1…${MAX_COMPACTION_LEVEL}, got ${level}`);
    }
  }
}
