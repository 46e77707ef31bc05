/**
 * Directory mode (`dbs: - dir: …, pattern: …`): which files of a directory are databases,
 * and the configuration each gets — its replicas at the base location plus its relative
 * path, as Litestream v0.5 lays them out (`s3://b/tenants` + `acme/data.db`).
 */
import { closeSync, openSync, readdirSync, readSync } from "node:fs";
import { basename, isAbsolute, join, posix, relative, sep } from "node:path";
import type { ReplicaBackend } from "@sqlrep/replica";
import { BACKENDS } from "./backends.js";
import type { DatabaseConfig, DirectoryConfig, LitestreamConfig } from "./config.js";
import { CliError } from "./context.js";

const SQLITE_HEADER = "SQLite format 3\0";

/**
 * A glob of Go's `filepath.Match` (what Litestream matches base names with) as a RegExp:
 * `*` any run of characters, `?` one, `[a-z]` / `[^a-z]` classes, `\` escapes. Throws
 * an Error saying what is wrong with a malformed pattern.
 */
export function globToRegExp(pattern: string): RegExp {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else if (c === "\\") {
      const next = pattern[++i];
      if (next === undefined) throw new Error(`pattern ${JSON.stringify(pattern)} ends with a lone backslash`);
      out += escapeRegExp(next);
    } else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) throw new Error(`pattern ${JSON.stringify(pattern)} has an unclosed [`);
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith("^") || body.startsWith("!");
      if (negate) body = body.slice(1);
      out += `[${negate ? "^" : ""}${body.replace(/[\]\\]/g, "\\$&")}]`;
      i = end;
    } else out += escapeRegExp(c);
  }
  return new RegExp(`^${out}$`, "s");
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** Throws `fail(message)` when `pattern` is not a valid glob. */
export function checkPattern(pattern: string | undefined, fail: (message: string) => Error): void {
  if (pattern === undefined) return;
  try {
    globToRegExp(pattern);
  } catch (err) {
    throw fail((err as Error).message);
  }
}

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
  return { path, settings: { ...entry.settings }, replicas };
}

/** The URL with `rel` appended to its path (query kept), for messages and `databases`. */
function appendToUrl(url: string, rel: string): string {
  const q = url.indexOf("?");
  const [head, query] = q < 0 ? [url, ""] : [url.slice(0, q), url.slice(q)];
  return `${head.replace(/\/+$/, "")}/${rel}${query}`;
}

/**
 * The databases every directory entry of a config holds now (what `replicate` starts
 * with). Throws CliError when a directory cannot be read, when one without `watch` holds
 * no database (as Litestream does), or when a database is also listed by path.
 */
export function expandDirectories(config: LitestreamConfig): DatabaseConfig[] {
  const seen = new Set(config.dbs.map((db) => db.path));
  const out: DatabaseConfig[] = [];
  for (const entry of config.directories) {
    let paths: string[];
    try {
      paths = scanDirectory(entry);
    } catch (err) {
      throw new CliError(`cannot scan directory ${entry.path}: ${(err as Error).message}`, { cause: err });
    }
    if (paths.length === 0 && !entry.directory.watch) {
      throw new CliError(`no SQLite databases found in directory ${entry.path} with pattern ${entry.directory.pattern} (set watch: true to wait for them)`);
    }
    for (const path of paths) {
      if (seen.has(path)) throw new CliError(`database ${path} is listed twice in the config (directory ${entry.path} also holds it)`);
      seen.add(path);
      out.push(directoryDatabase(entry, path));
    }
  }
  return out;
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
