/** Tells what a replica path holds (v0.5 LTX files, v0.3 generations, both) and which one a restore should read. */
import { ALL_LEVELS, listLevels } from "../listing.js";
import type { ReplicaClient } from "../replica-client.js";
import { legacyUpdatedAt, listLegacyReplica, type LegacyListing, type LegacyLogger } from "./listing.js";

/** What a replica path holds: Litestream v0.5 LTX files, v0.3 generations, both or neither. */
export interface ReplicaLayouts {
  /** LTX files: the highest TXID and the newest file time (undefined when there are none). */
  ltx: { txid: number; files: number; updatedAt: Date } | undefined;
  /** v0.3 generations: the newest object time (undefined when there are none). */
  legacy: { generations: number; updatedAt: Date; listing: LegacyListing } | undefined;
}

/**
 * Lists both layouts under a replica (`generations/`, unless its listing is given, then
 * every LTX level), one after the other so as to keep the requests in flight at ten.
 */
export async function detectReplicaLayouts(
  client: ReplicaClient,
  options: { legacy?: LegacyListing | undefined; logger?: LegacyLogger | undefined; signal?: AbortSignal | undefined } = {},
): Promise<ReplicaLayouts> {
  const listing = options.legacy ?? (await listLegacyReplica(client, options));
  const levels = await listLevels(client, ALL_LEVELS, { signal: options.signal });
  const files = levels.flat();
  let ltx: ReplicaLayouts["ltx"];
  for (const f of files) {
    if (ltx === undefined) ltx = { txid: f.maxTXID, files: 0, updatedAt: f.createdAt };
    ltx.files++;
    if (f.maxTXID > ltx.txid) ltx.txid = f.maxTXID;
    if (f.createdAt > ltx.updatedAt) ltx.updatedAt = f.createdAt;
  }
  const updatedAt = legacyUpdatedAt(listing);
  const legacy = updatedAt === undefined ? undefined : { generations: listing.generations.length, updatedAt, listing };
  return { ltx, legacy };
}

/**
 * Which layout a restore reads: v0.3 when a generation is asked for or only v0.3 is
 * there; with both, the one written last (LTX on a tie); undefined when neither is.
 */
export function chooseRestoreLayout(layouts: ReplicaLayouts, options: { generation?: string | undefined } = {}): "ltx" | "legacy" | undefined {
  const { ltx, legacy } = layouts;
  if (options.generation !== undefined) return "legacy";
  if (legacy === undefined) return ltx === undefined ? undefined : "ltx";
  if (ltx === undefined) return "legacy";
  return legacy.updatedAt > ltx.updatedAt ? "legacy" : "ltx";
}
