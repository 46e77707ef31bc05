/**
 * The invariants of issue 10 §7, checked over what every node of a process cluster
 * recorded: every state a replica served is a state some primary committed; every node
 * ends at the primary's position with a file that adds up to it; every transaction a
 * primary committed that the final primary does not have is kept in a `diverged/`
 * directory; a replica never goes back to a lower lease epoch.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeLtx, formatChecksum, parseFilename } from "@sqlrep/ltx";
import type { ProcessCluster } from "./cluster-harness.js";
import type { RecordLine } from "./node-main.js";

/** Every violation found (empty: all hold). */
export interface InvariantReport {
  readonly violations: string[];
  /** Replica states checked, primary states, states kept in diverged/. */
  readonly counts: { replicaStates: number; primaryStates: number; divergedKept: number; notInFinal: number };
}

/**
 * Checks `db` over every node's record. `finalHistory` is the final primary's checksum
 * after each TXID (its `/checksums`), `finalTxid` its position.
 */
export function checkInvariants(cluster: ProcessCluster, db: string, finalHistory: ReadonlyMap<number, string>): InvariantReport {
  const violations: string[] = [];
  const records: RecordLine[] = cluster.nodes.flatMap((_, i) => cluster.records(i)).filter((r) => r.db === db);
  const committed = new Set(records.filter((r) => r.role === "primary").map((r) => `${r.txid}/${r.checksum}`));
  let replicaStates = 0;
  for (const r of records) {
    if (r.role !== "replica") continue;
    replicaStates++;
    if (!committed.has(`${r.txid}/${r.checksum}`)) violations.push(`${r.node} served TXID ${r.txid} checksum ${r.checksum}, which no primary committed`);
  }
  // Epochs a replica accepted never go down (it refuses a deposed primary's stream).
  for (let i = 0; i < cluster.nodes.length; i++) {
    let max = 0;
    for (const r of cluster.records(i)) {
      if (r.db !== db || r.role !== "replica") continue;
      if (r.epoch < max) violations.push(`${r.node} applied TXID ${r.txid} of epoch ${r.epoch} after epoch ${max}`);
      max = Math.max(max, r.epoch);
    }
  }
  // What the final primary does not have must be kept where it was committed (or by a node that had it).
  const kept = new Map<string, string>();
  for (let i = 0; i < cluster.nodes.length; i++) for (const [key, dir] of divergedStates(cluster, i, db)) kept.set(key, dir);
  let notInFinal = 0;
  let divergedKept = 0;
  const seen = new Set<string>();
  for (const r of records) {
    if (r.role !== "primary") continue;
    const key = `${r.txid}/${r.checksum}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (finalHistory.get(r.txid) === r.checksum) continue;
    notInFinal++;
    if (kept.has(key)) divergedKept++;
    else violations.push(`${r.node} committed TXID ${r.txid} (checksum ${r.checksum}) as primary under epoch ${r.epoch}; the final primary does not have it and no diverged/ directory keeps it`);
  }
  return { violations, counts: { replicaStates, primaryStates: seen.size, divergedKept, notInFinal } };
}

/** The (TXID/checksum) states node `i` kept in `diverged/<db>/`: each LTX file's post-apply state. */
export function divergedStates(cluster: ProcessCluster, i: number, db: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const { dir } of cluster.diverged(i, db)) {
    for (const file of readdirSync(dir)) {
      if (!file.endsWith(".ltx")) continue;
      const { maxTXID } = parseFilename(file);
      try {
        const ltx = decodeLtx(new Uint8Array(readFileSync(join(dir, file))), { file });
        out.set(`${maxTXID}/${formatChecksum(ltx.trailer.postApplyChecksum)}`, dir);
      } catch {
        // an unreadable kept file keeps nothing
      }
    }
  }
  return out;
}
