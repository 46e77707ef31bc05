/**
 * Clearing a database's local replication state (`litestream reset`): the local log in
 * its meta directory, so that the next start rebuilds its position from the replicas.
 */
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { defaultMetaDir } from "./database.js";
import { ProcessLock } from "./process-lock.js";

/** What {@link resetLocalState} found (and, unless a dry run, removed). */
export interface ResetResult {
  /** The database's meta directory (`.<name>-sqlrep`, or the `metaDir` given). */
  metaDir: string;
  /** The local log's directory in it (`<metaDir>/ltx`). */
  logDir: string;
  /** The log's files (names), sorted; empty when there was none. */
  files: string[];
  /** False when the meta directory did not exist (nothing to reset). */
  existed: boolean;
}

/**
 * Removes the local log of the database at `path` (its LTX files and staging journal);
 * the database, the lock files and the replicas are untouched. The next start finds no
 * log: it continues a replica only where the database's checksum equals the replica's
 * tip, and snapshots otherwise. Takes the replication lock for the duration, so a
 * running replicator makes it throw BackupError("locked") naming that process; `dryRun`
 * only lists (it still checks the lock, so it says whether a reset would work).
 */
export function resetLocalState(path: string, options: { metaDir?: string | undefined; dryRun?: boolean } = {}): ResetResult {
  const metaDir = options.metaDir ?? defaultMetaDir(resolve(path));
  const logDir = join(metaDir, "ltx");
  if (!existsSync(metaDir)) return { metaDir, logDir, files: [], existed: false };
  const lock = ProcessLock.acquire(metaDir, resolve(path));
  try {
    const files = existsSync(logDir) ? readdirSync(logDir).sort() : [];
    if (!options.dryRun) rmSync(logDir, { recursive: true, force: true });
    return { metaDir, logDir, files, existed: true };
  } finally {
    lock.release();
  }
}
