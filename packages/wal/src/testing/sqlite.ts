// Helpers for tests that drive real SQLite: the `sqlite3` shell as a child process and
// better-sqlite3 in process. Not part of the package (excluded from the build).
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";

/** The system `sqlite3` shell used as a second, independent SQLite writer. */
export const SQLITE3_SHELL = "/usr/bin/sqlite3";
export const hasSqliteShell = existsSync(SQLITE3_SHELL);

/** A `sqlite3` shell process kept open (so its connection holds the WAL) and fed SQL over stdin. */
export class SqliteShell {
  readonly #child: ChildProcessWithoutNullStreams;
  #stdout = "";
  #stderr = "";
  #marker = 0;
  #waiter: (() => void) | undefined;
  #exit: Promise<number | null>;

  constructor(path: string) {
    this.#child = spawn(SQLITE3_SHELL, ["-batch", path], { stdio: ["pipe", "pipe", "pipe"] });
    this.#child.stdout.setEncoding("utf8").on("data", (s: string) => {
      this.#stdout += s;
      this.#waiter?.();
    });
    this.#child.stderr.setEncoding("utf8").on("data", (s: string) => {
      this.#stderr += s;
      this.#waiter?.();
    });
    this.#exit = new Promise((resolve) => this.#child.on("exit", (code) => resolve(code)));
  }

  /** Runs SQL and resolves with what it printed; rejects on anything written to stderr. */
  async exec(sql: string): Promise<string> {
    const marker = `__done_${++this.#marker}__`;
    this.#child.stdin.write(`${sql.trim().replace(/;?$/, ";")}\n.print ${marker}\n`);
    for (;;) {
      if (this.#stderr !== "") {
        const err = this.#stderr;
        this.#stderr = "";
        throw new Error(`sqlite3: ${err.trim()}`);
      }
      const at = this.#stdout.indexOf(`${marker}\n`);
      if (at >= 0) {
        const out = this.#stdout.slice(0, at);
        this.#stdout = this.#stdout.slice(at + marker.length + 1);
        return out;
      }
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    }
  }

  /** Runs SQL expected to print one integer. */
  async int(sql: string): Promise<number> {
    return Number.parseInt((await this.exec(sql)).trim(), 10);
  }

  /** Ends the shell (its connection closes, checkpointing and deleting the WAL). */
  async close(): Promise<void> {
    this.#child.stdin.end();
    await this.#exit;
  }
}

/** Files of one database, read at one moment. */
export interface DbFiles {
  readonly db: Uint8Array;
  readonly wal: Uint8Array;
}

/** Reads the database file and its `-wal` (empty when absent). */
export function readDbFiles(path: string): DbFiles {
  // Fresh copies, not (possibly pooled) Buffers, so tests can slice and mutate them freely.
  return { db: new Uint8Array(readFileSync(path)), wal: existsSync(`${path}-wal`) ? new Uint8Array(readFileSync(`${path}-wal`)) : new Uint8Array(0) };
}

/**
 * What SQLite makes of a database and WAL: writes them into `dir` under a fresh name,
 * lets SQLite recover and checkpoint (TRUNCATE), closes, and returns the database file.
 */
export function checkpointWithSqlite(dir: string, name: string, files: DbFiles): Uint8Array {
  const path = join(dir, name);
  writeFileSync(path, files.db);
  writeFileSync(`${path}-wal`, files.wal);
  rmSync(`${path}-shm`, { force: true });
  const db = new Database(path);
  const [result] = db.pragma("wal_checkpoint(TRUNCATE)") as { busy: number }[];
  db.close();
  if (result?.busy !== 0) throw new Error(`checkpoint of ${path} was busy`);
  return readFileSync(path);
}

/** What SQLite makes of a database with a hot journal next to it: opens it (rolling back), returns the file. */
export function rollbackWithSqlite(dir: string, name: string, db: Uint8Array, journal: Uint8Array): Uint8Array {
  const path = join(dir, name);
  writeFileSync(path, db);
  writeFileSync(`${path}-journal`, journal);
  const conn = new Database(path);
  try {
    // The first read finds the hot journal and rolls back; a partial rollback may leave
    // a database SQLite then calls malformed, which is fine: the file is what we compare.
    conn.prepare("SELECT count(*) FROM sqlite_schema").get();
  } catch (err) {
    if (!(err instanceof Database.SqliteError) || err.code !== "SQLITE_CORRUPT") throw err;
  } finally {
    conn.close();
  }
  if (existsSync(`${path}-journal`) && readFileSync(`${path}-journal`).length > 0) {
    throw new Error(`SQLite left the journal of ${path} in place`);
  }
  return readFileSync(path);
}

/** Opens a database image (written to `dir/name`) read-only and runs `query`. */
export function queryImage<T>(dir: string, name: string, image: Uint8Array, query: (db: Database.Database) => T): T {
  const path = join(dir, name);
  writeFileSync(path, image);
  rmSync(`${path}-wal`, { force: true });
  rmSync(`${path}-shm`, { force: true });
  const db = new Database(path, { readonly: true });
  try {
    return query(db);
  } finally {
    db.close();
  }
}

/** Copies the database and its `-wal`/`-journal` files (whichever exist) to `to`. */
export function copyDbFiles(from: string, to: string): void {
  copyFileSync(from, to);
  for (const suffix of ["-wal", "-journal"]) {
    if (existsSync(from + suffix)) copyFileSync(from + suffix, to + suffix);
  }
}
