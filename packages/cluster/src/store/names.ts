// Database names (`app.db`, `tenants/acme.db`) and where their files live under the data directory.
import { join } from "node:path";
import { ClusterError } from "../errors.js";

/**
 * File names the engine keeps in a database's directory. A name segment equal to one of
 * them would put a database where another one's files are, so it is refused.
 */
export const RESERVED_SEGMENTS: ReadonlySet<string> = new Set(["database", "journal", "wal", "shm", "ltx", "pos", "checksums", "history", "lock"]);

/**
 * Checks a database name: `/`-separated segments, none empty, `.` or `..`, none
 * starting with `.`, no NUL or backslash, none reserved, at most 255 bytes a segment.
 * Throws `ClusterError("invalid-name")` saying why.
 */
export function checkDatabaseName(name: string): string {
  const bad = (why: string) => new ClusterError("invalid-name", `invalid database name ${JSON.stringify(name)}: ${why}`, { db: name });
  if (typeof name !== "string" || name.length === 0) throw bad("empty");
  if (name.includes("\0") || name.includes("\\")) throw bad("NUL and backslash are not allowed");
  for (const segment of name.split("/")) {
    if (segment === "") throw bad("empty path segment (leading, trailing or double '/')");
    if (segment.startsWith(".")) throw bad(`segment ${JSON.stringify(segment)} starts with '.'`);
    if (RESERVED_SEGMENTS.has(segment)) throw bad(`segment ${JSON.stringify(segment)} is a file name the engine uses (${[...RESERVED_SEGMENTS].join(", ")})`);
    if (Buffer.byteLength(segment) > 255) throw bad("a segment is longer than 255 bytes");
  }
  return name;
}

/** The files of one database under `<data>/dbs/<name>/`. */
export interface DatabaseFiles {
  /** The directory: `<data>/dbs/<name>`. */
  readonly dir: string;
  /** The SQLite file. */
  readonly database: string;
  /** SQLite's rollback journal, WAL and WAL index (made by SQLite through a mount, never by the engine). */
  readonly journal: string;
  readonly wal: string;
  readonly shm: string;
  /** The position: TXID, checksum, timestamp, epoch (small, replaced atomically). */
  readonly pos: string;
  /** The checksum of every page, 8 bytes each, big-endian, page 1 first. */
  readonly checksums: string;
  /** The checksum after every TXID the node knows (durable history, for divergence). */
  readonly history: string;
}

/** Where database `name`'s files are. */
export function databaseFiles(dataDir: string, name: string): DatabaseFiles {
  const dir = join(dataDir, "dbs", ...checkDatabaseName(name).split("/"));
  return {
    dir,
    database: join(dir, "database"),
    journal: join(dir, "journal"),
    wal: join(dir, "wal"),
    shm: join(dir, "shm"),
    pos: join(dir, "pos"),
    checksums: join(dir, "checksums"),
    history: join(dir, "history"),
  };
}
