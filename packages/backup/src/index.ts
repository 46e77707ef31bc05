/**
 * @sqlrep/backup — the engine behind `litestream replicate`: follows a WAL-mode SQLite
 * database, turns its committed transactions into LTX files, uploads them to replicas,
 * owns its checkpoints and snapshots. Embeddable in a Node application.
 */

/** The engine. */
export { BackupEngine, type StopReport, type SyncResult } from "./engine.js";

/** Options. */
export type { BackupEngineOptions, DatabaseOptions, ReplicaTarget } from "./options.js";

/** Status, stop reports and events. */
export { defaultMetaDir, type DatabaseStatus, type ReplicaStatus, type UnshippedReport } from "./database.js";
export type { BackupEvents, CheckpointEvent, ErrorEvent, SnapshotEvent, SyncedEvent } from "./events.js";

/** Clearing a database's local state (`litestream reset`). */
export { resetLocalState, type ResetResult } from "./reset.js";

/** Errors: one class, branch on `code`. */
export { BackupError, isBackupError, type BackupErrorCode, type BackupErrorOptions } from "./errors.js";

/** The logger interface the engine writes to (silent unless one is passed). */
export { silentLogger, type Logger } from "./logger.js";
