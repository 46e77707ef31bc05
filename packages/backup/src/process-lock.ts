/**
 * One replicator per database: a lock file in the database's meta directory, held for
 * the life of the process (the kernel drops it when the process dies, even by kill -9).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { BackupError } from "./errors.js";

/** Who holds a lock, as its holder wrote it down. */
export interface LockHolder {
  pid: number;
  host: string;
  since: string;
}

/**
 * An exclusive lock on `<dir>/lock`, taken with SQLite's own file locking (an exclusive
 * transaction on a one-table database): fcntl locks belong to the process and vanish
 * with it, so a crash never leaves a stale lock behind, and SQLite's per-process lock
 * table makes a second engine in the same process conflict too. The holder's pid, host
 * and start time go to `<dir>/lock.json` for the error a second replicator gets.
 */
export class ProcessLock {
  private constructor(
    private readonly db: Database.Database,
    readonly path: string,
  ) {}

  /**
   * Takes the lock of database `dbPath` in `dir`, or throws BackupError("locked") naming
   * the process that holds it.
   */
  static acquire(dir: string, dbPath: string): ProcessLock {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, "lock");
    const db = new Database(path, { timeout: 0 });
    try {
      db.pragma("journal_mode = MEMORY");
      db.pragma("locking_mode = EXCLUSIVE");
      db.exec("BEGIN EXCLUSIVE");
      // A write makes SQLite take (and, in EXCLUSIVE locking mode, keep) its exclusive file lock.
      db.exec("CREATE TABLE IF NOT EXISTS held (at TEXT)");
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code !== "SQLITE_BUSY") {
        throw new BackupError("open", `cannot take the replication lock ${path} of ${dbPath}: ${(err as Error).message}`, { path: dbPath, cause: err });
      }
      const holder = readHolder(dir);
      const who = holder === undefined ? "another process" : `process ${holder.pid} on ${holder.host} (since ${holder.since})`;
      throw new BackupError("locked", `${dbPath} is already being replicated by ${who}: one replicator per database (lock ${path}); stop the other one first`, { path: dbPath });
    }
    const holder: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    writeFileSync(join(dir, "lock.json"), `${JSON.stringify(holder)}\n`);
    return new ProcessLock(db, path);
  }

  /** Releases the lock. Idempotent. */
  release(): void {
    if (!this.db.open) return;
    try {
      if (this.db.inTransaction) this.db.exec("ROLLBACK");
    } finally {
      this.db.close();
    }
  }
}

function readHolder(dir: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, "lock.json"), "utf8")) as LockHolder;
  } catch {
    return undefined;
  }
}
