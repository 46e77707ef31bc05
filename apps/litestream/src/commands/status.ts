/** `litestream status`: local file sizes, each replica's position, and the live view of a running `replicate` when it answers. */
import { stat } from "node:fs/promises";
import { replicaPosition, type ReplicaRegistry } from "@sqlrep/replica";
import { defineCommand } from "../command.js";
import { connectAddress, type DatabaseConfig } from "../config.js";
import { CONFIG_FLAGS, createRegistry, databaseReplicas, findDatabase, readConfig, replicaTypes, type Io } from "../context.js";
import { defineFlags, UsageError } from "@sqlrep/runtime";
import { formatBytes, formatTable, formatTime, formatTxid } from "../format.js";
import type { LiveStatus } from "../http.js";

const flags = defineFlags({
  ...CONFIG_FLAGS,
  json: { type: "boolean", usage: "Prints JSON instead of a table." },
});

/** What `status` reports for one replica of a database. */
interface ReplicaReport {
  name: string;
  type: string;
  location: string;
  /** The replica's highest TXID (hex) and the time of the file that holds it. */
  txid: string | null;
  time: string | null;
  error?: string;
  /** From the running `replicate`, when it answered. */
  live?: { txid: string; lag_ms: number; last_sync_at: string | null; last_error: string | null; last_verified_at: string | null };
}

interface DatabaseReport {
  path: string;
  exists: boolean;
  db_size: number;
  wal_size: number;
  /** From the running `replicate`, when it answered. */
  local_txid?: string;
  replicas: ReplicaReport[];
}

/** `litestream status`: local files, replica positions, and the live view of a running `replicate`. */
export const statusCommand = defineCommand({
  name: "status",
  summary: "show databases, their replicas' positions and replication lag",
  description: [
    "The status command shows, for each database of the config (or only DB_PATH): the size of",
    "the database and WAL files, each replica's highest TXID and when it was written, and,",
    'when "addr" is set and "litestream replicate" answers there, its live view: the local',
    "TXID, each replica's lag, last sync and last error.",
  ].join("\n"),
  synopsis: ["[arguments] [DB_PATH]"],
  flags,
  async run({ flags, positionals }, io) {
    if (positionals.length > 1) throw new UsageError(`too many arguments: ${positionals.slice(1).join(" ")}`);
    const config = await readConfig(flags, io);
    const dbs = positionals.length === 1 ? [findDatabase(config, positionals[0]!, io)] : config.dbs;
    const live = config.addr === undefined ? undefined : await fetchLive(config.addr);
    const registry = await createRegistry(replicaTypes(dbs));
    const reports = await Promise.all(dbs.map((db) => report(db, registry, live)));
    if (flags.json) {
      io.stdout.write(JSON.stringify(reports, null, 2) + "\n");
      return 0;
    }
    printTable(reports, live !== undefined, io);
    if (config.addr !== undefined && live === undefined) io.stderr.write(`note: no replicate process answered on ${config.addr}; showing stored state only\n`);
    return 0;
  },
});

async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

async function report(db: DatabaseConfig, registry: ReplicaRegistry, live: LiveStatus | undefined): Promise<DatabaseReport> {
  const [dbSize, walSize] = await Promise.all([fileSize(db.path), fileSize(`${db.path}-wal`)]);
  const liveDb = live?.databases.find((d) => d.path === db.path);
  const replicas = await Promise.all(
    databaseReplicas(db, registry).map(async ({ name, client }): Promise<ReplicaReport> => {
      const out: ReplicaReport = { name, type: client.type, location: client.location, txid: null, time: null };
      try {
        const position = await replicaPosition(client, { signal: AbortSignal.timeout(30_000) });
        if (position.txid > 0) {
          out.txid = formatTxid(position.txid);
          out.time = position.file ? position.file.createdAt.toISOString() : null;
        }
      } catch (err) {
        out.error = err instanceof Error ? err.message : String(err);
      }
      const r = liveDb?.replicas.find((x) => x.name === name);
      if (r) {
        out.live = {
          txid: formatTxid(r.txid),
          lag_ms: r.lagMs,
          last_sync_at: r.lastSyncAt ?? null,
          last_error: r.lastError ?? null,
          last_verified_at: r.lastVerifiedAt ?? null,
        };
      }
      return out;
    }),
  );
  const out: DatabaseReport = { path: db.path, exists: dbSize !== undefined, db_size: dbSize ?? 0, wal_size: walSize ?? 0, replicas };
  if (liveDb) out.local_txid = formatTxid(liveDb.localTXID);
  return out;
}

/** The running `replicate`'s `GET /status`, or undefined when nothing answers within a second. */
async function fetchLive(addr: string): Promise<LiveStatus | undefined> {
  try {
    const response = await fetch(`http://${connectAddress(addr)}/status`, { signal: AbortSignal.timeout(1000) });
    if (!response.ok) return undefined;
    const body = (await response.json()) as LiveStatus;
    return Array.isArray(body.databases) ? body : undefined;
  } catch {
    return undefined;
  }
}

function printTable(reports: readonly DatabaseReport[], withLive: boolean, io: Io): void {
  const header = ["database", "replica", "db_size", "wal_size", "replica_txid", "replica_time"];
  if (withLive) header.push("local_txid", "lag", "last_sync", "last_error");
  const rows = [header];
  for (const db of reports) {
    for (const r of db.replicas) {
      // A replica that could not be read says "error" in its own columns; the message
      // goes under the table, so the columns stay aligned.
      const row = [
        db.path,
        r.name,
        db.exists ? formatBytes(db.db_size) : "(missing)",
        formatBytes(db.wal_size),
        r.txid ?? (r.error ? "error" : "-"),
        formatTime(r.time ? new Date(r.time) : undefined),
      ];
      if (withLive) {
        row.push(
          db.local_txid ?? "-",
          r.live ? `${(r.live.lag_ms / 1000).toFixed(1)}s` : "-",
          formatTime(r.live?.last_sync_at ? new Date(r.live.last_sync_at) : undefined),
          r.live?.last_error ?? "-",
        );
      }
      rows.push(row);
    }
  }
  io.stdout.write(formatTable(rows));
  for (const db of reports) {
    for (const r of db.replicas) if (r.error !== undefined) io.stderr.write(`error: ${db.path} replica ${r.name}: ${r.error}\n`);
  }
}
