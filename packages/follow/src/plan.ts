/**
 * Which LTX files a follow applies next: level 0 after the copy's TXID, bridged from a
 * higher level where level 0 has been compacted away, or a gap that needs a fresh restore.
 */
import { formatTxid } from "@sqlrep/ltx";
import { MAX_COMPACTION_LEVEL, SNAPSHOT_LEVEL, type LtxFileInfo, type ReplicaClient } from "@sqlrep/replica";
import { FollowError } from "./errors.js";

/** What the replica holds after a TXID. */
export interface FollowPlan {
  /** Files to apply in order, each starting right after the previous one. */
  files: LtxFileInfo[];
  /** The newest TXID the replica holds (level 0 or a snapshot), at least the copy's; the chain reaches it. */
  newest: number;
}

/** Snapshots seen so far, by name, so that a new one can be recognised. */
export type SeenSnapshots = Set<string>;

/** A snapshot's identity: a new lineage may reuse a name (TXIDs restart at 1), not also its time and size. */
export const snapshotKey = (f: LtxFileInfo) => `${f.minTXID}-${f.maxTXID}@${f.createdAt.getTime()}/${f.size}`;

/** The snapshot names of a replica now (one listing of the snapshot level). */
export async function listSnapshots(client: ReplicaClient, signal: AbortSignal): Promise<LtxFileInfo[]> {
  const out: LtxFileInfo[] = [];
  for await (const f of client.ltxFiles(SNAPSHOT_LEVEL, { signal })) out.push(f);
  return out;
}

/**
 * The chain from `txid + 1`: level 0 files while they follow each other; where level 0
 * skips ahead, the longest file of levels 1–8 that starts exactly at the next TXID. A new
 * snapshot below `txid` means the replica started over (a new lineage); a chain that
 * cannot reach the newest TXID the replica holds is a gap. Both throw FollowError, on
 * which the caller restores afresh. Costs one listing of level 0 and one of snapshots per
 * poll, plus one per higher level only when bridging.
 */
export async function planFollow(client: ReplicaClient, txid: number, seen: SeenSnapshots, signal: AbortSignal): Promise<FollowPlan> {
  // Snapshots first: a snapshot is written after the level-0 files it covers.
  let newest = txid;
  for (const snap of await listSnapshots(client, signal)) {
    if (!seen.has(snapshotKey(snap))) {
      seen.add(snapshotKey(snap));
      if (snap.maxTXID < txid) {
        throw new FollowError("lineage", `the replica has a new snapshot at TXID ${formatTxid(snap.maxTXID)}, behind this copy's ${formatTxid(txid)}: it started over`);
      }
    }
    newest = Math.max(newest, snap.maxTXID);
  }
  const level0: LtxFileInfo[] = [];
  for await (const f of client.ltxFiles(0, { seek: txid + 1, signal })) level0.push(f);
  for (const f of level0) newest = Math.max(newest, f.maxTXID);
  const files: LtxFileInfo[] = [];
  let next = txid + 1;
  let i = 0;
  while (next <= newest) {
    while (i < level0.length && level0[i]!.maxTXID < next) i++;
    const f = level0[i];
    if (f !== undefined && f.minTXID === next) {
      files.push(f);
      next = f.maxTXID + 1;
      continue;
    }
    const bridge = await bridgeFrom(client, next, signal);
    if (bridge === undefined) {
      throw new FollowError(
        "gap",
        `no LTX file starts at TXID ${formatTxid(next)} (level 0 continues at ${f ? formatTxid(f.minTXID) : "nothing"}, the replica is at ${formatTxid(newest)}): the files in between were compacted or retained away`,
      );
    }
    files.push(bridge);
    next = bridge.maxTXID + 1;
  }
  return { files, newest };
}

/** The file of levels 1–8 starting exactly at `next` that reaches furthest. */
async function bridgeFrom(client: ReplicaClient, next: number, signal: AbortSignal): Promise<LtxFileInfo | undefined> {
  let best: LtxFileInfo | undefined;
  for (let level = 1; level <= MAX_COMPACTION_LEVEL; level++) {
    for await (const f of client.ltxFiles(level, { seek: next, signal })) {
      if (f.minTXID === next && (best === undefined || f.maxTXID > best.maxTXID)) best = f;
      if (f.minTXID > next) break;
    }
  }
  return best;
}
