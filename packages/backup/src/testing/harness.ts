/** Test helpers for engine tests: a logger that keeps its lines, and a recorder of every event an engine emits. */
import type { BackupEngine } from "../engine.js";
import type { CheckpointEvent, ErrorEvent, SnapshotEvent, SyncedEvent } from "../events.js";
import type { Logger } from "../logger.js";

/** A logger that keeps every line (printed by a failing test when asked). */
export function memoryLogger(echo = Boolean(process.env["SQLREP_BACKUP_LOG"])): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    const line = `${new Date().toISOString()} ${level} ${msg}${fields === undefined ? "" : ` ${JSON.stringify(fields)}`}`;
    lines.push(line);
    if (echo) console.log(line);
  };
  return { lines, debug: at("DEBUG"), info: at("INFO"), warn: at("WARN"), error: at("ERROR") };
}

/** Every event an engine emits, in order. */
export interface Recorded {
  synced: SyncedEvent[];
  snapshots: SnapshotEvent[];
  checkpoints: CheckpointEvent[];
  errors: ErrorEvent[];
}

export function record(engine: BackupEngine): Recorded {
  const r: Recorded = { synced: [], snapshots: [], checkpoints: [], errors: [] };
  engine.on("synced", (e) => r.synced.push(e));
  engine.on("snapshot", (e) => r.snapshots.push(e));
  engine.on("checkpoint", (e) => r.checkpoints.push(e));
  engine.on("error", (e) => r.errors.push(e));
  return r;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
