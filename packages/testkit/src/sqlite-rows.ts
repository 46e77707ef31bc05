/** A small SQLite test database (table `t(id, v)` in the rollback-journal format): create it, add rows, read it back with its integrity check. */
import Database from "better-sqlite3";

/** Creates a rollback-journal database with a table `t(id, v)` holding `rows` rows. */
export function createDatabase(path: string, rows: number): void {
  const db = new Database(path);
  db.exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  addRows(db, rows);
  db.close();
}

/** Appends rows to `t` in one transaction. */
export function addRows(db: Database.Database, count: number): void {
  const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
  db.transaction(() => {
    for (let i = 0; i < count; i++) insert.run(`row ${i} ${"x".repeat(100)}`);
  })();
}

/** The rows of `t` and the result of `PRAGMA integrity_check`, read through a read-only connection. */
export function readDatabase(path: string): { rows: { id: number; v: string }[]; integrity: string } {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare("SELECT id, v FROM t ORDER BY id").all() as { id: number; v: string }[];
    const integrity = (db.pragma("integrity_check", { simple: true }) as string) ?? "";
    return { rows, integrity };
  } finally {
    db.close();
  }
}
