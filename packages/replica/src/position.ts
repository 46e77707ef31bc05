/** Where a replica is (highest TXID and the file ending there), which a backup engine resumes from. */
import { ALL_LEVELS, listLevels } from "./listing.js";
import type { LtxFileInfo, ReplicaClient } from "./replica-client.js";

/** Where a replica is: its highest TXID and a file that ends there. */
export interface ReplicaPosition {
  /** The highest MaxTXID across every level; 0 for an empty replica. */
  txid: number;
  /** The lowest-level (newest) file ending at `txid`; undefined for an empty replica. */
  file: LtxFileInfo | undefined;
}

/**
 * The replica's position: the highest TXID across levels 0…9 and the file ending
 * there, from the lowest level that has one (level 0 when the last sync is still
 * there). A backup engine resumes from it; it never restarts at TXID 1.
 */
export async function replicaPosition(client: ReplicaClient, options: { signal?: AbortSignal } = {}): Promise<ReplicaPosition> {
  const levels = await listLevels(client, ALL_LEVELS, { signal: options.signal });
  let file: LtxFileInfo | undefined;
  for (const files of levels) {
    for (const f of files) if (file === undefined || f.maxTXID > file.maxTXID) file = f;
  }
  return { txid: file?.maxTXID ?? 0, file };
}
