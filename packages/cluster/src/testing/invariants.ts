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
 * Checks `db` over every node's record. `final` is the final primary's position and
 * `finalChecksums` its `/checksums` (the TXIDs since its last snapshot): the final
 * history is the chain of commits (each line names its parent state) that ends at
 * `final`, and it must agree with every checksum the final primary reports.
 */
export function checkInvariants(cluster: ProcessCluster, db: string, final: { txid: number; checksum: string }, finalChecksums: ReadonlyMap<number, string>): InvariantReport {
  const violations: string[] = [];
  const records: RecordLine[] = cluster.nodes.flatMap((_, i) => ownRecords(cluster, i, db));
  const committed = new Set(records.filter((r) => r.role === "primary").map((r) => `${r.txid}/${r.checksum}`));
  const parents = new Map<string, { txid: number; checksum: string }>();
  for (const r of records) if (r.role === "primary" && r.parent !== undefined) parents.set(`${r.txid}/${r.checksum}`, r.parent);
  const finalHistory = new Map<number, string>();
  for (let at: { txid: number; checksum: string } | undefined = final; at !== undefined && at.txid > 0; at = parents.get(`${at.txid}/${at.checksum}`)) {
    if (!committed.has(`${at.txid}/${at.checksum}`)) violations.push(`the final history holds TXID ${at.txid} checksum ${at.checksum}, which no primary committed`);
    finalHistory.set(at.txid, at.checksum);
  }
  if (finalHistory.size !== final.txid) violations.push(`the commits recorded chain back from TXID ${final.txid} over ${finalHistory.size} TXIDs only`);
  for (const [txid, sum] of finalChecksums)
    if (finalHistory.get(txid) !== sum) violations.push(`the final primary reports checksum ${sum} at TXID ${txid}; the recorded chain has ${finalHistory.get(txid) ?? "nothing"}`);
  let replicaStates = 0;
  for (const r of records) {
    if (r.role !== "replica" && r.role !== "boot") continue;
    if (r.txid === 0) continue;
    replicaStates++;
    if (!committed.has(`${r.txid}/${r.checksum}`))
      violations.push(`${r.node} ${r.role === "boot" ? "started at" : "served"} TXID ${r.txid} checksum ${r.checksum}, which no primary committed`);
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
    else
      violations.push(
        `${r.node} committed TXID ${r.txid} (checksum ${r.checksum}) as primary under epoch ${r.epoch}; the final primary does not have it and no diverged/ directory keeps it`,
      );
  }
  return { violations, counts: { replicaStates, primaryStates: seen.size, divergedKept, notInFinal } };
}

/**
 * Node `i`'s lines for `db`. The one exception to "a commit is recorded when it is made":
 * killed with a commit in flight (its `committing` line last), the node may start one
 * TXID further — that commit was made, its line never written; it counts as the node's.
 */
function ownRecords(cluster: ProcessCluster, i: number, db: string): RecordLine[] {
  const out: RecordLine[] = [];
  let last: RecordLine | undefined;
  for (const r of cluster.records(i)) {
    if (r.db !== db) continue;
    if (r.role === "boot" && last?.role === "committing" && r.txid === last.txid + 1) out.push({ ...r, role: "primary", parent: { txid: last.txid, checksum: last.checksum } });
    else if (r.role !== "committing") out.push(r);
    last = r;
  }
  return out;
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
