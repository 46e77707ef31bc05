/**
 * Directory mode (`dbs: - dir: …, pattern: …`): which files of a directory are databases,
 * and the configuration each gets — its replicas at the base location plus its relative
 * path, as Litestream v0.5 lays them out (`s3://b/tenants` + `acme/data.db`).
 */
import { closeSync, openSync, readdirSync, readSync } from "node:fs";
import { basename, isAbsolute, join, posix, relative, sep } from "node:path";
import type { ReplicaBackend } from "@sqlrep/replica";
import { BACKENDS } from "./backends.js";
import { globToRegExp } from "./glob.js";
import type { DatabaseConfig, DirectoryConfig, LitestreamConfig } from "./config.js";

const SQLITE_HEADER = "SQLite format 3\0";

/** Whether the file starts with SQLite's 16-byte header (a file being created, or anything else, does not). */
export function isSqliteFile(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const header = Buffer.alloc(16);
    return readSync(fd, header, 0, 16, 0) === 16 && header.toString("latin1") === SQLITE_HEADER;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * The databases of a directory entry now: files whose base name matches the pattern and
 * that start with SQLite's header, in subdirectories too when `recursive` (hidden
 * directories, where local state lives, are skipped). Sorted. Throws when the directory
 * cannot be read.
 */
export function scanDirectory(entry: DirectoryConfig): string[] {
  const match = globToRegExp(entry.directory.pattern);
  const found: string[] = [];
  const walk = (dir: string, top: boolean): void => {
    let names: import("node:fs").Dirent[];
    try {
      names = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if (top) throw err;
      return; // a subdirectory removed while we walked
    }
    for (const d of names) {
      const path = join(dir, d.name);
      if (d.isDirectory()) {
        if (entry.directory.recursive && !d.name.startsWith(".")) walk(path, false);
      } else if (d.isFile() && !/-(wal|shm|journal)$/.test(d.name) && match.test(d.name) && isSqliteFile(path)) {
        found.push(path);
      }
    }
  };
  walk(entry.path, true);
  return found.sort();
}

/**
 * The configuration of one database found under a directory entry: the entry's settings,
 * and each replica at its location plus the database's path relative to the directory
 * (`/backups` + `acme/data.db` → `/backups/acme/data.db`; an S3 prefix the same with `/`).
 */
export function directoryDatabase(entry: DirectoryConfig, path: string, backends: readonly ReplicaBackend[] = BACKENDS): DatabaseConfig {
  const rel = relative(entry.path, path).split(sep).join("/");
  const replicas = entry.replicas.map((r) => {
    const local = backends.find((b) => b.type === r.spec.type)?.localPath === true;
    const base = r.spec.path ?? "";
    const joined = local ? join(base, rel) : base === "" ? rel : posix.join(base, rel);
    const url = r.spec.url === undefined ? undefined : appendToUrl(r.spec.url, rel);
    return { ...r, spec: { ...r.spec, path: joined, ...(url !== undefined ? { url } : {}) } };
  });
  return { path, fromDirectory: entry.path, settings: { ...entry.settings }, replicas };
}

/** The URL with `rel` appended to its path (query kept), for messages and `databases`. */
function appendToUrl(url: string, rel: string): string {
  const q = url.indexOf("?");
  const [head, query] = q < 0 ? [url, ""] : [url.slice(0, q), url.slice(q)];
  return `${head.replace(/\/+$/, "")}/${rel}${query}`;
}

/** The database at `path` if a directory entry of the config covers it (name matches, inside, recursive if deeper). */
export function directoryDatabaseOf(config: LitestreamConfig, path: string): DatabaseConfig | undefined {
  for (const entry of config.directories) {
    const rel = relative(entry.path, path);
    if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) continue;
    if (!entry.directory.recursive && rel.includes(sep)) continue;
    if (globToRegExp(entry.directory.pattern).test(basename(path))) return directoryDatabase(entry, path);
  }
  return undefined;
}
