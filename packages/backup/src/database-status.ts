/**
 * What a database under replication reports: its status, the shutdown report of what did
 * not ship, and its shippers' events turned into the engine's metrics and events.
 */
import type { LogEntry, ShipperEvent, ShipperStatus } from "@sqlrep/shipper";
import { BackupError, describeError, isBackupError } from "./errors.js";
import type { EngineServices } from "./services.js";

/** The status of one replica of a database. */
export type ReplicaStatus = ShipperStatus;

/** The status of one database. */
export interface DatabaseStatus {
  path: string;
  /**
   * "replicating"; "waiting" while the database file does not exist yet (or is not in
   * WAL mode yet); "missing" once a replicated database was deleted: nothing is uploaded
   * until it is back (then as a new lineage).
   */
  state: "replicating" | "waiting" | "missing";
  /** What a waiting database waits for. */
  waitingFor?: string | undefined;
  /** Why a database is missing, or the last time its lineage broke (replaced, changed outside SQLite). */
  lastError?: string | undefined;
  pageSize: number;
  /** Size of the database file, bytes. */
  dbSize: number;
  /** Size of the `-wal` file, bytes. */
  walSize: number;
  /** The highest TXID in the local log. */
  localTXID: number;
  /** Bytes of local LTX files not yet uploaded everywhere. */
  localLogBytes: number;
  lastCheckpointAt?: Date | undefined;
  replicas: ReplicaStatus[];
}

/** What did not reach a replica when the engine stopped. */
export interface UnshippedReport {
  path: string;
  replica: string;
  /** TXIDs of the local log the replica lacks (kept in the log for the next start). */
  missingTXIDs: number;
  /** Transactions in them, where known (entries staged by this process). */
  transactions: number | undefined;
  lastError?: string | undefined;
}

/** Counts a shipper's event in the metrics and passes it on as the engine's event. */
export function reportShipperEvent(e: ShipperEvent, path: string, services: EngineServices): void {
  const { metrics, emit } = services;
  const labels = { db: path, name: e.replica };
  switch (e.type) {
    case "uploaded":
      metrics.syncCount.inc({ db: path });
      metrics.syncSeconds.inc({ db: path }, e.durationMs / 1000);
      emit("synced", { path, replica: e.replica, txid: e.maxTXID, minTXID: e.minTXID, timestamp: e.timestamp, bytes: e.bytes, level: e.level });
      break;
    case "snapshot":
      emit("snapshot", { path, replica: e.replica, txid: e.txid, pages: e.pages, bytes: e.bytes, reason: e.reason, durationMs: e.durationMs });
      emit("synced", { path, replica: e.replica, txid: e.txid, minTXID: 1, timestamp: e.timestamp, bytes: e.bytes, level: 9 });
      break;
    case "failed":
      if (e.what === "sync") metrics.syncErrorCount.inc({ db: path });
      emit("error", { path, replica: e.replica, error: asBackupError(e.error, e.what === "sync" ? "sync" : "replica", path, e.replica) });
      break;
    case "validated":
      metrics.validationTotal.inc({ ...labels, status: e.ok ? "ok" : "error" });
      if (e.ok) metrics.replicaVerified.set(labels, Date.now() / 1000);
      else emit("error", { path, replica: e.replica, error: new BackupError("validation", e.message ?? "validation failed", { path, replica: e.replica }) });
      break;
    case "conflict":
    case "diverged":
      emit("error", { path, replica: e.replica, error: new BackupError("validation", e.message, { path, replica: e.replica }) });
      break;
  }
}

function asBackupError(err: unknown, code: "sync" | "replica", path: string, replica: string): BackupError {
  if (isBackupError(err)) return err;
  const retryable = (err as { retryable?: boolean }).retryable === true || (err as { code?: string }).code === "io";
  return new BackupError(code, describeError(err), { path, replica, retryable, cause: err });
}

/** Transactions in log entries, where every entry knows its count. */
export function countTransactions(entries: readonly LogEntry[]): number | undefined {
  let total = 0;
  for (const e of entries) {
    if (e.lineage !== undefined) continue;
    if (e.transactions === undefined) return undefined;
    total += e.transactions;
  }
  return total;
}
