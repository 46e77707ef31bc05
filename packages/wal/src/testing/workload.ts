// A deterministic write workload run through either real SQLite writer, recording after
// every commit what SQLite says and a copy of the files.
import { statSync } from "node:fs";
import Database from "better-sqlite3";
import { readDbFiles, SqliteShell, type DbFiles } from "./sqlite.js";

/** A SQLite connection that stays open while a test copies its files. */
export interface Writer {
  exec(sql: string): Promise<void>;
  /** Runs SQL that returns one value. */
  value(sql: string): Promise<string>;
  close(): Promise<void>;
}

/** An in-process better-sqlite3 connection. */
export function betterSqliteWriter(path: string): Writer {
  const db = new Database(path);
  return {
    exec: async (sql) => void db.exec(sql),
    value: async (sql) => String(db.prepare(sql).pluck().get()),
    close: async () => void db.close(),
  };
}

/** A `sqlite3` shell process. */
export function shellWriter(path: string): Writer {
  const shell = new SqliteShell(path);
  return {
    exec: async (sql) => void (await shell.exec(sql)),
    value: async (sql) => (await shell.exec(sql)).trim(),
    close: () => shell.close(),
  };
}

/** What was true right after one commit. */
export interface Commit {
  readonly sql: string;
  readonly walSize: number;
  readonly pageCount: number;
  /** A digest of table t's content, computed by SQLite. */
  readonly fingerprint: string;
  readonly files: DbFiles;
}

/** A digest of table t that any SQLite computes the same way. */
export const FINGERPRINT_SQL =
  "SELECT count(*) || '/' || total(length(v)) || '/' || coalesce(sum(id * length(v)), 0) || '/' || coalesce(sum(unicode(hex(substr(v, 1 + id % 7, 1)))), 0) FROM t";

/** Pragmas that put a fresh database in WAL mode with checkpoints left to the test. */
export function walSetup(pageSize: number): string {
  return `PRAGMA page_size=${pageSize}; PRAGMA auto_vacuum=FULL; PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;`;
}

/** The write transactions of the workload, sized for the page size (each writes at least one page). */
export function workloadStatements(pageSize: number): string[] {
  const small = Math.max(40, pageSize >> 4);
  return [
    "BEGIN; CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB); CREATE INDEX t_v ON t(substr(v, 1, 8)); COMMIT;",
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60) INSERT INTO t(v) SELECT randomblob(${small} + i) FROM n;`,
    `INSERT INTO t(v) VALUES (randomblob(${pageSize * 3 + 100}));`,
    `UPDATE t SET v = randomblob(${small * 2}) WHERE id % 4 = 1;`,
    "DELETE FROM t WHERE id % 5 <> 0 OR length(v) > 10000;",
    `BEGIN; INSERT INTO t(v) VALUES (randomblob(${small})); UPDATE t SET v = randomblob(${small}) WHERE id = 5; INSERT INTO t(v) VALUES (randomblob(${pageSize}));  COMMIT;`,
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30) INSERT INTO t(v) SELECT randomblob(${small * 3}) FROM n;`,
    "UPDATE t SET v = x'00' WHERE id = 10;",
  ];
}

/** Runs the statements one by one, recording a {@link Commit} after each. */
export async function runWorkload(writer: Writer, path: string, statements: readonly string[]): Promise<Commit[]> {
  const commits: Commit[] = [];
  for (const sql of statements) {
    await writer.exec(sql);
    commits.push({
      sql,
      walSize: statSync(`${path}-wal`).size,
      pageCount: Number(await writer.value("PRAGMA page_count")),
      fingerprint: await writer.value(FINGERPRINT_SQL),
      files: readDbFiles(path),
    });
  }
  return commits;
}
