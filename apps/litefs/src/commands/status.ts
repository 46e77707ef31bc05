/**
 * `litefs status`: what a node says about itself — role, primary, cluster and node ID,
 * readiness, lag, and each database's TXID, checksum, lag, LTX log and backup position
 * — gathered from `/info`, `/metrics` and `/checksums`. LiteFS has no such command.
 */
import { defineFlags, UsageError } from "@sqlrep/runtime";
import { isLitefsError } from "../errors.js";
import { table } from "../client/format.js";
import { clientFor, DEFAULT_URL, type NodeClient } from "../client/node-client.js";
import { defineCommand } from "../command.js";

/** One database in `status -json`. */
export interface DatabaseStatus {
  name: string;
  /** TXID as LiteFS prints it (16 hex digits). */
  txid: string;
  /** Post-apply checksum (16 hex digits); null when the node would not tell (auth token) or no longer knows it. */
  checksum: string | null;
  /** Seconds since the primary committed this database's newest transaction (0 on the primary). */
  lagSeconds: number;
  ltxFiles: number;
  ltxBytes: number;
  /** TXID the cluster's backup holds (0: none or no backup). */
  backupTxid: string;
  /** Refused after a failed verification or write. */
  refused: boolean;
}

/** `status -json`. */
export interface NodeStatus {
  url: string;
  nodeID: string | null;
  clusterID: string | null;
  isPrimary: boolean;
  candidate: boolean;
  ready: boolean | null;
  /** The primary's hostname (this node's own when primary); null when none is known. */
  primary: string | null;
  dataDir: string;
  /** Seconds since the last frame from the primary (0 on the primary, -1 before the first sync). */
  lagSeconds: number | null;
  replicas: number | null;
  databases: DatabaseStatus[];
}

/** `litefs status [-url URL] [-json]`. */
export const statusCommand = defineCommand({
  name: "status",
  summary: "prints a node's role, primary and databases",
  description: `The status command prints what a LiteFS node reports about itself: whether it is
the primary, which node is, the cluster ID, and for each database its TXID,
checksum, lag, LTX files and backup position. Works on any node.`,
  synopsis: ["[arguments]"],
  flags: defineFlags({
    url: { type: "string", default: DEFAULT_URL, usage: "LiteFS API URL", placeholder: "URL" },
    json: { type: "boolean", usage: "print JSON" },
  }),
  async run({ flags, positionals }, io) {
    if (positionals.length > 0) throw new UsageError(`too many arguments: ${positionals.join(" ")}`);
    const status = await nodeStatus(clientFor(flags.url, io.env, io.signal));
    io.stdout.write(flags.json ? `${JSON.stringify(status, null, 2)}\n` : statusText(status));
    return 0;
  },
});

/** Reads a node's status from its API. */
export async function nodeStatus(client: NodeClient): Promise<NodeStatus> {
  const [info, metrics] = await Promise.all([client.info(), client.metrics()]);
  const one = (name: string) => metrics.find((m) => m.name === name && Object.keys(m.labels).length === 0)?.value;
  const perDb = new Map<string, Map<string, number>>();
  for (const m of metrics) {
    const db = m.labels.db;
    if (db === undefined || !m.name.startsWith("litefs_")) continue;
    let entry = perDb.get(db);
    if (entry === undefined) perDb.set(db, (entry = new Map()));
    entry.set(m.name, m.value);
  }
  const names = [...perDb.keys()].filter((db) => perDb.get(db)!.has("litefs_db_txid")).sort();
  const databases = await Promise.all(
    names.map(async (name): Promise<DatabaseStatus> => {
      const m = perDb.get(name)!;
      const txid = m.get("litefs_db_txid") ?? 0;
      return {
        name,
        txid: hex(txid),
        checksum: txid === 0 ? null : await checksumOf(client, name, txid),
        lagSeconds: m.get("litefs_db_lag_seconds") ?? 0,
        ltxFiles: m.get("litefs_db_ltx_count") ?? 0,
        ltxBytes: m.get("litefs_db_ltx_bytes") ?? 0,
        backupTxid: hex(m.get("litefs_backup_txid") ?? 0),
        refused: (m.get("litefs_db_refused") ?? 0) === 1,
      };
    }),
  );
  const ready = one("litefs_is_ready");
  const replicas = one("litefs_subscriber_count");
  return {
    url: client.url,
    nodeID: info.nodeID ?? null,
    clusterID: info.clusterID ?? null,
    isPrimary: info.isPrimary,
    candidate: info.candidate,
    ready: ready === undefined ? null : ready === 1,
    primary: info.primary?.hostname ?? null,
    dataDir: info.path,
    lagSeconds: one("litefs_lag_seconds") ?? null,
    replicas: info.isPrimary ? (replicas ?? null) : null,
    databases,
  };
}

/** The text `status` prints. */
export function statusText(s: NodeStatus): string {
  const role = s.isPrimary
    ? `primary${s.replicas === null ? "" : ` (${s.replicas} replica${s.replicas === 1 ? "" : "s"} streaming)`}`
    : `replica of ${s.primary ?? "(no primary known)"}${s.ready === false ? ", not caught up yet" : ""}`;
  const lag = s.lagSeconds === null ? "?" : s.lagSeconds < 0 ? "not synced yet" : `${s.lagSeconds.toFixed(3)}s`;
  const head = table([
    ["url", s.url],
    ["role", role],
    ["candidate", String(s.candidate)],
    ["node", s.nodeID ?? "?"],
    ["cluster", s.clusterID ?? "(none yet)"],
    ["data dir", s.dataDir],
    ["lag", lag],
  ]);
  if (s.databases.length === 0) return `${head}\nno databases\n`;
  const rows = [["DATABASE", "TXID", "CHECKSUM", "LAG", "LTX FILES", "BACKUP TXID", "STATE"]];
  for (const d of s.databases) {
    rows.push([d.name, d.txid, d.checksum ?? "-", `${d.lagSeconds.toFixed(3)}s`, String(d.ltxFiles), d.backupTxid, d.refused ? "REFUSED" : "ok"]);
  }
  return `${head}\n${table(rows)}`;
}

async function checksumOf(client: NodeClient, name: string, txid: number): Promise<string | null> {
  try {
    return (await client.checksumAt(name, txid)) ?? null;
  } catch (err) {
    // /checksums wants the auth token where one is set (the rest of the status does not),
    // LiteFS itself has no /checksums, and a database may go between the two requests.
    if ((isLitefsError(err, "http") && err.status === 401) || isLitefsError(err, "not-found")) return null;
    throw err;
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(16, "0");
}
