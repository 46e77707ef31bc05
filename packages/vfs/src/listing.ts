// Listing a replica: every level (the hydration resume plans over all of them), and the
// files a poll merges next.
import { SNAPSHOT_LEVEL, type LtxFileInfo, type ReplicaClient } from "@sqlrep/replica";

/** Every LTX file of levels 0…9, listed level by level in parallel. */
export async function listEveryLevel(client: ReplicaClient, signal?: AbortSignal): Promise<LtxFileInfo[]> {
  const levels = Array.from({ length: SNAPSHOT_LEVEL + 1 }, (_, level) => level);
  const lists = await Promise.all(levels.map((level) => collect(client.ltxFiles(level, { signal }))));
  return lists.flat();
}

/**
 * The files a poll merges after TXID `from`: level-0 files, bridged through level 1 where
 * level 0 has a gap, each contiguous with the last. `stranded` says level 0 holds newer
 * files that levels 0 and 1 cannot reach (the caller re-plans from any level).
 */
export async function filesAfter(client: ReplicaClient, from: number, signal?: AbortSignal): Promise<{ chain: LtxFileInfo[]; stranded: boolean }> {
  const level0 = await collect(client.ltxFiles(0, { seek: from + 1, signal }));
  const chain: LtxFileInfo[] = [];
  let cur = from;
  let level1: LtxFileInfo[] | undefined;
  for (;;) {
    const next = level0.find((f) => f.minTXID === cur + 1);
    if (next !== undefined) {
      chain.push(next);
      cur = next.maxTXID;
      continue;
    }
    if (!level0.some((f) => f.minTXID > cur + 1)) break;
    // A gap in level 0 (compaction ran and retention removed files): level 1 bridges it.
    level1 ??= await collect(client.ltxFiles(1, { signal }));
    let bridge: LtxFileInfo | undefined;
    for (const f of level1) if (f.minTXID <= cur + 1 && f.maxTXID > cur && (bridge === undefined || f.maxTXID > bridge.maxTXID)) bridge = f;
    if (bridge === undefined) break;
    chain.push(bridge);
    cur = bridge.maxTXID;
  }
  const stranded = chain.length === 0 && from > 0 && level0.some((f) => f.minTXID > from + 1);
  return { chain, stranded };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
