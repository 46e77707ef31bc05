/**
 * The checks a SQLite file passes before it is imported (LiteFS runs none): a SQLite
 * header, no hot journal or WAL beside it holding transactions the file lacks, and
 * `PRAGMA integrity_check` answering "ok" — run on a private copy of the very bytes
 * that will be sent, so nothing changes between the check and the upload and SQLite
 * leaves no `-wal`/`-shm` beside the user's file (it creates them for a WAL-mode
 * database even on a read-only open).
 */
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { LitefsError } from "../errors.js";

const MAGIC = "SQLite format 3\0";

/** Reads `path` and returns its bytes once they passed every check; `LitefsError("integrity")` naming `path` otherwise. */
export function readCheckedSqliteFile(path: string): Uint8Array {
  checkSqliteFile(path);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new LitefsError("io", `cannot read ${path}: ${(err as Error).message}`, { cause: err, file: path });
  }
  const dir = mkdtempSync(join(tmpdir(), "litefs-import-"));
  try {
    const copy = join(dir, "check.db");
    writeFileSync(copy, bytes);
    integrityCheck(copy, path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return bytes;
}

/** The checks on the file in place that need no SQLite connection: its header, and no WAL or hot journal beside it. */
function checkSqliteFile(path: string): void {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    throw new LitefsError("io", `cannot read ${path}: ${(err as Error).message}`, { cause: err, file: path });
  }
  const head = Buffer.alloc(16);
  const fd = openSync(path, "r");
  try {
    readSync(fd, head, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (size < 100 || head.toString("latin1") !== MAGIC) throw new LitefsError("integrity", `${path} is not a SQLite database (no "SQLite format 3" header)`, { file: path });
  for (const suffix of ["-wal", "-journal"]) {
    const side = `${path}${suffix}`;
    const sideSize = sizeOf(side);
    if (sideSize !== undefined && sideSize > 0) {
      throw new LitefsError(
        "integrity",
        `${side} (${sideSize} bytes) sits beside ${path}: the import sends the database file alone, so transactions in it would be lost or half applied; open the database with sqlite3 once (or run PRAGMA wal_checkpoint(TRUNCATE)) and close it, then import`,
        { file: side },
      );
    }
  }
}

/** `PRAGMA integrity_check` on `file`; errors name `label` (the user's path). */
function integrityCheck(file: string, label: string): void {
  const path = label;
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new LitefsError("integrity", `${path} cannot be opened as a SQLite database: ${(err as Error).message}`, { cause: err, file: path });
  }
  try {
    const rows = db.prepare("PRAGMA integrity_check(20)").pluck().all() as string[];
    if (rows.length !== 1 || rows[0] !== "ok") {
      throw new LitefsError(
        "integrity",
        `${path} failed PRAGMA integrity_check, not importing it: ${rows.slice(0, 5).join("; ")}${rows.length > 5 ? ` (and ${rows.length - 5} more)` : ""}`,
        {
          file: path,
        },
      );
    }
  } catch (err) {
    if (err instanceof LitefsError) throw err;
    // SQLITE_CORRUPT and friends: the check itself could not read the file.
    throw new LitefsError("integrity", `${path} failed PRAGMA integrity_check, not importing it: ${(err as Error).message}`, { cause: err, file: path });
  } finally {
    db.close();
  }
}

function sizeOf(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}
