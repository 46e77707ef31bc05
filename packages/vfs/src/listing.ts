// Listing every level of a replica (the hydration resume plans over all of them).
import { SNAPSHOT_LEVEL, type LtxFileInfo, type ReplicaClient } from "@sqlrep/replica";

/** Every LTX file of levels 0…9, listed level by level in parallel. */
export async function listEveryLevel(client: ReplicaClient, signal?: AbortSignal): Promise<LtxFileInfo[]> {
  const levels = Array.from({ length: SNAPSHOT_LEVEL + 1 }, (_, level) => level);
  const lists = await Promise.all(
    levels.map(async (level) => {
      const out: LtxFileInfo[] = [];
      for await (const f of client.ltxFiles(level, { signal })) out.push(f);
      return out;
    }),
  );
  return lists.flat();
}
