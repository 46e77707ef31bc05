/** Listing helpers shared by restore, compaction and retention: every level at once, the highest TXID, a file's printable name. */
import { formatFilename } from "@sqlrep/ltx";
import { throwIfAborted } from "./errors.js";
import { SNAPSHOT_LEVEL } from "./layout.js";
import type { LtxFileInfo, LtxFileRef, ReplicaClient } from "./replica-client.js";

/** Every level of a replica, 0…9. */
export const ALL_LEVELS: readonly number[] = Array.from({ length: SNAPSHOT_LEVEL + 1 }, (_, level) => level);

export interface ListLevelsOptions {
  /** Read each file's stored timestamp (a HEAD per file on S3); see `LtxFilesOptions`. */
  useMetadata?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

/** The files of several levels, listed concurrently; one array per level, in the order asked. */
export async function listLevels(client: ReplicaClient, levels: readonly number[], options: ListLevelsOptions = {}): Promise<LtxFileInfo[][]> {
  throwIfAborted(options.signal);
  return Promise.all(
    levels.map(async (level) => {
      const files: LtxFileInfo[] = [];
      for await (const file of client.ltxFiles(level, { useMetadata: options.useMetadata, signal: options.signal })) files.push(file);
      return files;
    }),
  );
}

/** "level 1 file 0000000000000001-0000000000000005.ltx": how errors and messages name a file. */
export function fileLabel(file: LtxFileRef): string {
  return `level ${file.level} file ${formatFilename(file.minTXID, file.maxTXID)}`;
}

/** The highest MaxTXID among `files` (0 when there are none). */
export function highestTXID(files: Iterable<LtxFileRef>): number {
  let max = 0;
  for (const f of files) if (f.maxTXID > max) max = f.maxTXID;
  return max;
}
