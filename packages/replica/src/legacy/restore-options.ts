/** The options, progress and result of a Litestream v0.3 restore (`restoreLegacy`). */
import type { LegacyLogger } from "./listing.js";
import type { LegacyRestorePlan, LegacyRestoreTarget } from "./plan.js";

/** Where a v0.3 restore is; bytes count compressed bytes downloaded. */
export interface LegacyRestoreProgress {
  phase: "plan" | "snapshot" | "wal" | "verify" | "done";
  bytesDone: number;
  bytesTotal: number;
  /** The WAL index being applied (phase "wal"). */
  index?: number | undefined;
}

export interface LegacyRestoreOptions {
  /** The database path; written as `<output>.tmp`, fsynced, renamed. */
  output: string;
  target?: LegacyRestoreTarget | undefined;
  /** A plan made already (by `planLegacyRestore` or `planLegacyFromListing`): restored as is, `target` ignored. */
  plan?: LegacyRestorePlan | undefined;
  /** Downloads in flight at once (default 8). */
  parallelism?: number | undefined;
  /**
   * Memory for the restore (default 96 MiB), a third each for objects read ahead,
   * the WAL tail not yet applied (a longer one spills to `<output>.tmp-wal`) and
   * database pages not yet written.
   */
  memory?: number | undefined;
  /** Replace an existing output (default false: it, or a `-wal`/`-journal` beside it, is ReplicaError "exists"). */
  overwrite?: boolean | undefined;
  onProgress?: ((p: LegacyRestoreProgress) => void) | undefined;
  /** Checks the finished temp database before the rename (e.g. PRAGMA integrity_check); throw to fail. */
  verify?: ((tempPath: string) => Promise<void>) | undefined;
  logger?: LegacyLogger | undefined;
  signal?: AbortSignal | undefined;
}

export interface LegacyRestoreResult {
  generation: string;
  /** The index of the snapshot restored from. */
  snapshotIndex: number;
  /** The last WAL index applied (the snapshot's when no WAL was). */
  index: number;
  /** Where the replay of that index stopped: the end of its last valid commit (0 without WAL). */
  offset: number;
  /** Upload time of the newest object used. */
  timestamp: Date;
  pageSize: number;
  pageCount: number;
  /** Size of the restored database file. */
  bytes: number;
  /** WAL segments applied. */
  segments: number;
  /** Committed SQLite transactions replayed. */
  transactions: number;
  /** Compressed bytes downloaded. */
  bytesDownloaded: number;
  /**
   * Bytes after the last valid commit of the last index, which a replay (like SQLite's
   * recovery) leaves out: an interrupted transaction. Anywhere else such bytes are an error.
   */
  discarded: { key: string; offset: number; bytes: number; reason: string } | undefined;
  plan: LegacyRestorePlan;
}
