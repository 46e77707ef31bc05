/**
 * `restore -dry-run`: the plan a restore would follow (the replica chosen, the files it
 * would read, the TXID and time it would reach), computed without writing anything.
 */
import { formatFilename } from "@sqlrep/ltx";
import { chooseRestoreSource, planLegacyRestore, planRestore, restoreSources, type RestoreRequest } from "@sqlrep/replica";
import { describeReplica, type NamedReplica } from "./context.js";
import { formatTable, formatTime, formatTxid } from "./format.js";

/** One file a restore would read. */
export interface PlannedFile {
  level: number | "v0.3";
  name: string;
  min_txid: string;
  max_txid: string;
  size: number;
  timestamp: string;
}

/** The plan, in the shape `restore -dry-run -json` prints (Litestream v0.5's fields, plus ours). */
export interface DryRunPlan {
  /** The DB_PATH or REPLICA_URL argument. */
  source: string;
  target_path: string;
  /** The replica's type, as v0.5 prints it. */
  replica: string;
  replica_name: string;
  location: string;
  min_txid: string;
  max_txid: string;
  /** The restored state's TXID (16 hex digits; empty for a Litestream v0.3 generation). */
  txid: string;
  /** When that state was committed (RFC 3339). */
  timestamp: string;
  /** Whether the output exists (a restore would then need -force). */
  output_exists: boolean;
  files: PlannedFile[];
}

/**
 * Plans the restore as `restore` would (the replica reaching furthest toward the
 * target), then lists that replica's files for it. Resolves undefined when no replica
 * holds a backup.
 */
export async function dryRunPlan(
  replicas: readonly NamedReplica[],
  request: RestoreRequest,
  where: { source: string; output: string; outputExists: boolean },
  signal?: AbortSignal,
): Promise<{ plan: DryRunPlan; skipped: string[] } | undefined> {
  const named = replicas.map((r) => ({ name: r.name, client: r.client, description: describeReplica(r) }));
  const choice = await chooseRestoreSource(restoreSources(request, named), request, signal);
  if (!choice.best) {
    if (choice.failures.length > 0) throw choice.failures[0]!.error;
    return undefined;
  }
  const skipped = choice.failures.map(({ source, error }) => `skipping ${source.description}: ${error instanceof Error ? error.message : String(error)}`);
  const replica = replicas.find((r) => r.name === choice.best!.source.name)!;
  const files: PlannedFile[] = [];
  // A v0.3 source compares with TXID 0 (v0.3 has no TXIDs).
  if (choice.best.txid === 0) {
    const legacy = await planLegacyRestore(replica.client, { generation: request.generation, index: request.index, timestamp: request.target.timestamp }, { signal });
    const s = legacy.snapshot;
    files.push({ level: "v0.3", name: s.key, min_txid: "", max_txid: "", size: s.size, timestamp: formatTime(s.createdAt) });
    for (const index of legacy.indexes) {
      for (const seg of index.segments) files.push({ level: "v0.3", name: seg.key, min_txid: "", max_txid: "", size: seg.size, timestamp: formatTime(seg.createdAt) });
    }
  } else {
    const plan = await planRestore(replica.client, request.target, { signal });
    for (const f of plan.files) {
      files.push({
        level: f.level,
        name: formatFilename(f.minTXID, f.maxTXID),
        min_txid: formatTxid(f.minTXID),
        max_txid: formatTxid(f.maxTXID),
        size: f.size,
        timestamp: formatTime(f.createdAt),
      });
    }
  }
  const v3 = choice.best.txid === 0;
  return {
    plan: {
      source: where.source,
      target_path: where.output,
      replica: replica.client.type,
      replica_name: replica.name,
      location: replica.client.location,
      min_txid: v3 ? "" : (files[0]?.min_txid ?? ""),
      max_txid: v3 ? "" : (files.at(-1)?.max_txid ?? ""),
      txid: v3 ? "" : formatTxid(choice.best.txid),
      timestamp: formatTime(choice.best.timestamp),
      output_exists: where.outputExists,
      files,
    },
    skipped,
  };
}

/** The plan for people: Litestream v0.5's layout (header lines, then the files as a table). */
export function formatDryRunPlan(plan: DryRunPlan): string {
  const state = plan.txid === "" ? `Litestream v0.3 generation, uploaded ${plan.timestamp}` : `TXID ${plan.txid} (${plan.timestamp})`;
  const lines = [
    "Restore plan (dry run: nothing written):",
    `  source: ${plan.source}`,
    `  target: ${plan.target_path}${plan.output_exists ? " (exists: a restore needs -force)" : ""}`,
    `  replica: ${plan.replica} "${plan.replica_name}" (${plan.location})`,
    ...(plan.txid === "" ? [] : [`  txid range: ${plan.min_txid} - ${plan.max_txid}`]),
    `  restores to: ${state}`,
    "",
    "Files to fetch:",
  ];
  const rows = [
    ["level", "file", "min_txid", "max_txid", "size", "timestamp"],
    ...plan.files.map((f) => [String(f.level), f.name, f.min_txid || "-", f.max_txid || "-", String(f.size), f.timestamp]),
  ];
  return `${lines.join("\n")}\n${formatTable(rows)}`;
}
