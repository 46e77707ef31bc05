/** The payloads of the events BackupEngine emits (`synced`, `checkpoint`, `snapshot`, `error`), typed for its EventEmitter. */
import type { BackupError } from "./errors.js";

/** An LTX file reached a replica and moved its position. */
export interface SyncedEvent {
  path: string;
  replica: string;
  /** The replica's TXID now (the file's MaxTXID). */
  txid: number;
  minTXID: number;
  /** The file's LTX timestamp: when its last transaction was seen committed. */
  timestamp: Date;
  /** Size of the uploaded file. */
  bytes: number;
  /** 0 for a sync, 9 for a snapshot. */
  level: number;
}

/** A checkpoint the engine ran. */
export interface CheckpointEvent {
  path: string;
  mode: "PASSIVE" | "TRUNCATE";
  /** SQLite's answer: 1 when the checkpoint could not finish (readers, writers). */
  busy: number;
  /** Frames in the WAL when it ran. */
  log: number;
  /** Frames copied into the database. */
  checkpointed: number;
  durationMs: number;
  /** How long the engine held SQLite's write lock: the longest the application's writers waited on this checkpoint. */
  writeLockMs: number;
}

/** A snapshot uploaded to level 9. */
export interface SnapshotEvent {
  path: string;
  replica: string;
  txid: number;
  /** Pages in the snapshot (the database size). */
  pages: number;
  bytes: number;
  /** Why it was taken: "initial", "periodic", or why the WAL could no longer be followed. */
  reason: string;
  durationMs: number;
}

/** Something failed; the engine retries what can be retried. */
export interface ErrorEvent {
  path: string;
  replica?: string | undefined;
  error: BackupError;
}

/** The engine's typed events. */
export interface BackupEvents {
  synced: [SyncedEvent];
  checkpoint: [CheckpointEvent];
  snapshot: [SnapshotEvent];
  error: [ErrorEvent];
}
