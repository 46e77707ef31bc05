/**
 * A Litestream config file, resolved: databases with their engine settings and replicas
 * (v0.3 and v0.5 keys), logging, addresses; and the address helpers of `addr`.
 */
import { homedir } from "node:os";
import { isAbsolute, resolve } from "node:path";
import { type ConfigError, errorAt, loadConfigFile, parseConfig, type Env } from "@sqlrep/config";
import type { DatabaseOptions } from "@sqlrep/backup";
import { parseReplicaUrl, type ReplicaBackend, type ReplicaSpec } from "@sqlrep/replica";
import { BACKENDS } from "./backends.js";
import { schemaFor, type DbYaml, type RootYaml } from "./config-schema.js";
import type { LogLevel } from "@sqlrep/runtime";
import { refuseSharedReplicas, resolveReplica, type ReplicaConfig, type ReplicaYaml } from "./replica-config.js";
import { checkPattern } from "./glob.js";

export { refuseSharedReplicas, replicaLocation, type ReplicaConfig } from "./replica-config.js";

/** Where `litestream` looks for its config when `-config` is not given. */
export const DEFAULT_CONFIG_PATH = "/etc/litestream.yml";

/** The config path a command uses: `-config`, else `$LITESTREAM_CONFIG`, else /etc/litestream.yml. */
export function configPath(flag: string | undefined, env: Env): string {
  return flag || env["LITESTREAM_CONFIG"] || DEFAULT_CONFIG_PATH;
}

/** Per-database engine settings a config file sets (durations in ms); absent = the engine's default. */
export type DatabaseSettings = Omit<DatabaseOptions, "path" | "replicas">;

export interface DatabaseConfig {
  /** Absolute path of the database file. */
  path: string;
  /** Restore from the replicas before replicating when the file does not exist (v0.5). */
  restoreIfNotExists?: boolean;
  /** The `dir` of the directory entry that found it (directory mode). */
  fromDirectory?: string;
  settings: DatabaseSettings;
  replicas: ReplicaConfig[];
}

/** A `dbs` entry with `dir`: every SQLite file matching `pattern` under `path` is a database (see directory.ts). */
export interface DirectoryConfig extends DatabaseConfig {
  directory: { pattern: string; recursive: boolean; watch: boolean };
}

/** A Litestream config file, resolved: every key we accept has a place here. */
export interface LitestreamConfig {
  /** The file it was read from (absent for `replicate DB URL`). */
  file?: string;
  addr?: string;
  /** `mcp-addr`: where replicate serves its MCP server (streamable HTTP, no auth). */
  mcpAddr?: string;
  logging: { level: LogLevel; type: "text" | "json"; stderr: boolean };
  exec?: string;
  /** How long `replicate` keeps trying to flush on shutdown (ms). */
  shutdownSyncTimeout?: number;
  /** How often that flush retries a failed upload (ms). */
  shutdownSyncInterval?: number;
  /** `heartbeat-url` / `heartbeat-interval` (ms): a GET while every database is replicated. */
  heartbeat?: { url: string; interval?: number };
  dbs: DatabaseConfig[];
  /** The control socket `replicate` serves (`socket.enabled: true`). */
  socket?: { path: string; permissions: number };
  /** Directory mode entries (`dir` + `pattern`): expanded into databases by `replicate`. */
  directories: DirectoryConfig[];
  /** What was allowed but probably not meant (an unset `$VAR`), one message each, located. */
  warnings: string[];
}

/** Options of {@link loadLitestreamConfig} and {@link parseLitestreamConfig}. */
export interface ConfigOptions {
  /** `$VAR` expansion (default true; `-no-expand-env` turns it off). */
  expandEnv?: boolean;
  env?: Env;
  /** Relative database and replica paths resolve against this (default `process.cwd()`). */
  cwd?: string;
  /** The replica backends served (default: this CLI's, {@link BACKENDS}). */
  backends?: readonly ReplicaBackend[];
}

/** Reads and resolves a Litestream config file (v0.3 and v0.5 keys). */
export async function loadLitestreamConfig(file: string, options: ConfigOptions = {}): Promise<LitestreamConfig> {
  const env = withPid(options.env ?? process.env);
  const warnings: string[] = [];
  const backends = options.backends ?? BACKENDS;
  const yaml = await loadConfigFile(file, schemaFor(backends).rootSchema, { expandEnv: options.expandEnv ?? true, env, warn: (w) => warnings.push(w.message) });
  return resolveConfig(yaml, file, options.cwd ?? process.cwd(), warnings, backends);
}

/** The same from text (tests, `-config -`). */
export function parseLitestreamConfig(text: string, file: string, options: ConfigOptions = {}): LitestreamConfig {
  const env = withPid(options.env ?? process.env);
  const warnings: string[] = [];
  const backends = options.backends ?? BACKENDS;
  const yaml = parseConfig(text, schemaFor(backends).rootSchema, { file, expandEnv: options.expandEnv ?? true, env, warn: (w) => warnings.push(w.message) });
  return resolveConfig(yaml, file, options.cwd ?? process.cwd(), warnings, backends);
}

/** Litestream v0.5 defines `$PID` for the expansion. */
function withPid(env: Env): Env {
  return env["PID"] === undefined ? { ...env, PID: String(process.pid) } : env;
}

function resolveConfig(yaml: RootYaml, file: string, cwd: string, warnings: string[], backends: readonly ReplicaBackend[]): LitestreamConfig {
  if (yaml.addr !== undefined) checkAddr(yaml.addr, () => errorAt(yaml, "addr", "invalid-value", `${JSON.stringify(yaml.addr)} needs a port, e.g. ":9090" or "127.0.0.1:9090"`));
  if (yaml.mcpAddr !== undefined) checkAddr(yaml.mcpAddr, () => errorAt(yaml, "mcp-addr", "invalid-value", `${JSON.stringify(yaml.mcpAddr)} needs a port, e.g. "127.0.0.1:3001"`));
  const global: DatabaseSettings = {};
  if (yaml.levels) global.levels = yaml.levels.map((l, i) => ({ level: i + 1, interval: l.interval }));
  if (yaml.snapshot?.interval !== undefined) global.snapshotInterval = yaml.snapshot.interval;
  if (yaml.snapshot?.retention !== undefined) global.snapshotRetention = yaml.snapshot.retention;
  if (yaml.l0Retention !== undefined) global.l0Retention = yaml.l0Retention;
  if (yaml.retention !== undefined) global.retentionEnabled = yaml.retention.enabled;
  if (yaml.validation?.interval !== undefined) global.validationInterval = yaml.validation.interval;

  const dbs: (DatabaseConfig | DirectoryConfig)[] = yaml.dbs.map((db) => resolveDatabase(db, yaml, global, cwd, backends));
  const seen = new Map<string, number>();
  dbs.forEach((db, i) => {
    const first = seen.get(db.path);
    if (first !== undefined) throw errorAt(yaml.dbs[i]!, "path", "conflict", `database ${db.path} is already listed as dbs[${first}]`);
    seen.set(db.path, i);
  });
  const replicasYaml = (i: number) => yaml.dbs[i]!.replicas ?? [yaml.dbs[i]!.replica!];
  refuseSharedReplicas(
    dbs,
    backends,
    (i, j) => (yaml.dbs[i]!.replicas ? `dbs[${i}].replicas[${j}]` : `dbs[${i}].replica`),
    (i, j, message) => errorAt(replicasYaml(i)[j]!, dbs[i]!.replicas[j]!.spec.url !== undefined ? "url" : "path", "conflict", message),
  );
  const logging = yaml.logging ?? { level: "info", type: "text", stderr: false };
  const config: LitestreamConfig = {
    file,
    logging: { level: logging.level === "trace" ? "debug" : logging.level, type: logging.type, stderr: logging.stderr },
    dbs: dbs.filter((db) => !("directory" in db)),
    directories: dbs.filter((db): db is DirectoryConfig => "directory" in db),
    warnings,
  };
  if (yaml.addr !== undefined) config.addr = yaml.addr;
  if (yaml.mcpAddr !== undefined) config.mcpAddr = yaml.mcpAddr;
  if (yaml.exec !== undefined) config.exec = yaml.exec;
  if (yaml.socket?.enabled) config.socket = { path: resolve(cwd, expandHome(yaml.socket.path)), permissions: yaml.socket.permissions };
  if (yaml.shutdownSyncTimeout !== undefined) config.shutdownSyncTimeout = yaml.shutdownSyncTimeout;
  if (yaml.shutdownSyncInterval !== undefined) config.shutdownSyncInterval = yaml.shutdownSyncInterval;
  if (yaml.heartbeatUrl !== undefined) {
    if (!/^https?:\/\/[^/?#]+/i.test(yaml.heartbeatUrl) || !URL.canParse(yaml.heartbeatUrl)) {
      throw errorAt(yaml, "heartbeat-url", "invalid-value", `${JSON.stringify(yaml.heartbeatUrl)} must be an http:// or https:// URL`);
    }
    config.heartbeat = { url: yaml.heartbeatUrl };
    if (yaml.heartbeatInterval !== undefined) config.heartbeat.interval = yaml.heartbeatInterval;
  } else if (yaml.heartbeatInterval !== undefined) {
    throw errorAt(yaml, "heartbeat-interval", "invalid-value", "has no effect without heartbeat-url");
  }
  return config;
}

function resolveDatabase(db: DbYaml, topLevel: RootYaml, global: DatabaseSettings, cwd: string, backends: readonly ReplicaBackend[]): DatabaseConfig | DirectoryConfig {
  const path = db.path ?? db.dir;
  if (path === undefined) throw errorAt(db, "path", "missing-key", "required key is missing: give path (one database) or dir and pattern (a directory of them)");
  checkDirectoryKeys(db);
  if (db.replica !== undefined && db.replicas !== undefined) throw errorAt(db, "replica", "conflict", "give either replica (one) or replicas (a list), not both");
  const replicasYaml = db.replicas ?? (db.replica ? [db.replica] : []);
  if (replicasYaml.length === 0) throw errorAt(db, "replicas", "missing-key", "the database has no replica: add replica: or replicas:");
  const replicas = replicasYaml.map((r) => {
    const replica = resolveReplica(r as ReplicaYaml, topLevel, cwd, backends, expandHome);
    const syncInterval = r.syncInterval ?? topLevel.syncInterval;
    return syncInterval === undefined ? replica : { ...replica, syncInterval };
  });
  const names = new Set<string>();
  replicas.forEach((r, i) => {
    if (names.has(r.name))
      throw errorAt(replicasYaml[i]!, undefined, "conflict", `replica name ${JSON.stringify(r.name)} is used twice for ${db.path}: give each replica a distinct name:`);
    names.add(r.name);
  });
  const out: DatabaseConfig = { path: resolveDatabasePath(path, cwd), settings: resolveSettings(db, replicasYaml, global), replicas };
  if (db.metaPath !== undefined) out.settings.metaDir = resolve(cwd, expandHome(db.metaPath));
  if (db.restoreIfDbNotExists) out.restoreIfNotExists = true;
  if (db.dir !== undefined) return { ...out, directory: { pattern: db.pattern!, recursive: db.recursive ?? false, watch: db.watch ?? false } };
  return out;
}

/** `dir` needs `pattern`, excludes `path` and `meta-path`; `pattern`, `recursive` and `watch` need `dir` (as Litestream v0.5 says). */
function checkDirectoryKeys(db: DbYaml): void {
  if (db.dir === undefined) {
    for (const key of ["pattern", "recursive", "watch"] as const) {
      if (db[key] !== undefined) throw errorAt(db, key, "conflict", `${key} can only be used with dir (a directory of databases)`);
    }
    return;
  }
  if (db.path !== undefined) throw errorAt(db, "dir", "conflict", "give either path (one database) or dir (a directory of databases), not both");
  if (db.pattern === undefined) throw errorAt(db, "pattern", "missing-key", 'pattern is required with dir, e.g. pattern: "*.db"');
  if (db.metaPath !== undefined) throw errorAt(db, "meta-path", "conflict", "meta-path names one database's state directory: with dir, each database keeps its own beside it");
  if (db.restoreIfDbNotExists) throw errorAt(db, "restore-if-db-not-exists", "conflict", "restore-if-db-not-exists needs a database path, not a dir");
  checkPattern(db.pattern, (message) => errorAt(db, "pattern", "invalid-value", message));
}

/**
 * The engine's per-database settings: the database's own keys, then v0.3's per-replica
 * keys (several replicas of one database: the longest retention, the shortest
 * snapshot and validation intervals), then the top-level (v0.5) ones.
 */
function resolveSettings(db: DbYaml, replicas: readonly ReplicaYaml[], global: DatabaseSettings): DatabaseSettings {
  const s: DatabaseSettings = { ...global };
  if (db.monitorInterval !== undefined) s.monitorInterval = db.monitorInterval;
  if (db.checkpointInterval !== undefined) s.checkpointInterval = db.checkpointInterval;
  if (db.busyTimeout !== undefined) s.busyTimeout = db.busyTimeout;
  if (db.minCheckpointPageCount !== undefined) s.minCheckpointPageCount = db.minCheckpointPageCount;
  if (db.maxSyncWalBytes !== undefined) s.maxBatchBytes = db.maxSyncWalBytes;
  if (db.maxCheckpointPageCount !== undefined && db.truncatePageN !== undefined) {
    throw errorAt(
      db,
      "max-checkpoint-page-count",
      "conflict",
      "give either max-checkpoint-page-count (v0.3) or truncate-page-n (v0.5): both set the TRUNCATE checkpoint threshold",
    );
  }
  const truncate = db.truncatePageN ?? db.maxCheckpointPageCount;
  if (truncate !== undefined) s.truncatePageCount = truncate;
  if (s.minCheckpointPageCount !== undefined && truncate && truncate < s.minCheckpointPageCount) {
    const key = db.truncatePageN !== undefined ? "truncate-page-n" : "max-checkpoint-page-count";
    throw errorAt(db, key, "invalid-value", `${truncate} is below min-checkpoint-page-count (${s.minCheckpointPageCount})`);
  }

  const fromReplicas = (key: "retention" | "snapshot-interval" | "validation-interval", pick: (a: number, b: number) => number) => {
    const field = key === "retention" ? "retention" : key === "snapshot-interval" ? "snapshotInterval" : "validationInterval";
    const values = replicas.map((r) => r[field]).filter((v): v is number => v !== undefined);
    return values.length === 0 ? undefined : values.reduce(pick);
  };
  const retention = fromReplicas("retention", (a, b) => (a <= 0 || b <= 0 ? 0 : Math.max(a, b)));
  const snapshotInterval = fromReplicas("snapshot-interval", (a, b) => (a <= 0 ? b : b <= 0 ? a : Math.min(a, b)));
  const validationInterval = fromReplicas("validation-interval", (a, b) => (a <= 0 ? b : b <= 0 ? a : Math.min(a, b)));

  const conflict = (dbKey: string, replicaKey: string) =>
    errorAt(db, "snapshot", "conflict", `snapshot.${dbKey} and a replica's ${replicaKey} (v0.3) set the same thing: keep one`);
  if (db.snapshot?.interval !== undefined) {
    if (snapshotInterval !== undefined) throw conflict("interval", "snapshot-interval");
    s.snapshotInterval = db.snapshot.interval;
  } else if (snapshotInterval !== undefined && snapshotInterval > 0) {
    s.snapshotInterval = snapshotInterval;
  }
  if (db.snapshot?.retention !== undefined) {
    if (retention !== undefined) throw conflict("retention", "retention");
    s.snapshotRetention = db.snapshot.retention;
  } else if (retention !== undefined) {
    // v0.3: a retention of 0 (or less) keeps everything.
    if (retention <= 0) s.retentionEnabled = false;
    else s.snapshotRetention = retention;
  }
  if (validationInterval !== undefined && validationInterval > 0) s.validationInterval = validationInterval;
  return s;
}

/** `~` expansion, `sqlite://`/`sqlite3://` stripped, absolute (as Litestream does for DB paths). */
export function resolveDatabasePath(path: string, cwd: string = process.cwd()): string {
  const stripped = path.replace(/^sqlite3?:\/\//, "");
  return resolve(cwd, expandHome(stripped));
}

function expandHome(path: string): string {
  if (path === "~") return homedir();
  if (path.startsWith("~/")) return resolve(homedir(), path.slice(2));
  return path;
}

/** Throws `fail()` when an `addr` has no port. */
export function checkAddr(addr: string, fail: () => ConfigError | Error): void {
  if (!/^(\[[^\]]*\]|[^:[\]]*):\d{1,5}$/.test(addr)) throw fail();
}

/** Host and port to listen on for an `addr`: an empty host means 127.0.0.1. */
export function listenAddress(addr: string): { host: string; port: number } {
  const colon = addr.lastIndexOf(":");
  let host = addr.slice(0, colon);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  return { host: host === "" ? "127.0.0.1" : host, port: Number(addr.slice(colon + 1)) };
}

/** Where to reach a server listening on `addr` (a wildcard host is reached on loopback). */
export function connectAddress(addr: string): string {
  const { host, port } = listenAddress(addr);
  const reach = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  return `${reach.includes(":") ? `[${reach}]` : reach}:${port}`;
}

/**
 * The spec of a replica URL given on the command line (`replicate DB URL`): parsed by its
 * backend, a local path made absolute, completed as a config's would be.
 */
export function urlSpec(url: string, cwd: string, backends: readonly ReplicaBackend[] = BACKENDS): ReplicaSpec {
  let spec = parseReplicaUrl(url, backends);
  const backend = backends.find((b) => b.type === spec.type)!;
  if (backend.localPath && typeof spec.path === "string" && !isAbsolute(spec.path)) spec = { ...spec, path: resolve(cwd, expandHome(spec.path)) };
  return backend.finish ? backend.finish(spec) : spec;
}
