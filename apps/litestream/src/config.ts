import { homedir } from "node:os";
import { isAbsolute, resolve } from "node:path";
import {
  boolean,
  byteSize,
  ConfigError,
  duration,
  errorAt,
  integer,
  list,
  loadConfigFile,
  object,
  oneOf,
  parseConfig,
  string,
  unsupported,
  type Env,
  type Infer,
} from "@sqlrep/config";
import type { DatabaseOptions } from "@sqlrep/backup";
import { cleanPrefix, isReplicaError, parseReplicaUrl, type ReplicaSpec } from "@sqlrep/replica";
import type { LogLevel } from "@sqlrep/runtime";

/** Where `litestream` looks for its config when `-config` is not given. */
export const DEFAULT_CONFIG_PATH = "/etc/litestream.yml";

/** The config path a command uses: `-config`, else `$LITESTREAM_CONFIG`, else /etc/litestream.yml. */
export function configPath(flag: string | undefined, env: Env): string {
  return flag || env["LITESTREAM_CONFIG"] || DEFAULT_CONFIG_PATH;
}

/** Per-database engine settings a config file sets (durations in ms); absent = the engine's default. */
export type DatabaseSettings = Omit<DatabaseOptions, "path" | "replicas">;

/** One replica of a database: a name (for `-replica`), where it is, and its sync interval. */
export interface ReplicaConfig {
  name: string;
  spec: ReplicaSpec;
  syncInterval?: number;
  /** S3 upload settings (`part-size`, `concurrency`) that the spec has no field for. */
  s3Options?: { partSize?: number; concurrency?: number };
}

export interface DatabaseConfig {
  /** Absolute path of the database file. */
  path: string;
  /** Restore from the replicas before replicating when the file does not exist (v0.5). */
  restoreIfNotExists?: boolean;
  settings: DatabaseSettings;
  replicas: ReplicaConfig[];
}

/** A Litestream config file, resolved: every key we accept has a place here. */
export interface LitestreamConfig {
  /** The file it was read from (absent for `replicate DB URL`). */
  file?: string;
  addr?: string;
  logging: { level: LogLevel; type: "text" | "json"; stderr: boolean };
  exec?: string;
  /** How long `replicate` keeps trying to flush on shutdown (ms). */
  shutdownSyncTimeout?: number;
  dbs: DatabaseConfig[];
  /** What was allowed but probably not meant (an unset `$VAR`), one message each, located. */
  warnings: string[];
}

const NOT_SUPPORTED = "not supported by sqlrep";

/** S3's multipart limits: parts of 5 MiB to 5 GiB. */
const MIN_PART_SIZE = 5 * 1024 ** 2;
const MAX_PART_SIZE = 5 * 1024 ** 3;

/** Keys of Litestream's S3, ABS, SFTP, WebDAV, NATS and OSS replicas that we do not implement. */
const UNSUPPORTED_REPLICA_KEYS = {
  age: unsupported(`${NOT_SUPPORTED}: client-side (age) encryption; remove the age block (Litestream v0.5 refuses it too)`),
  "sign-payload": unsupported(`${NOT_SUPPORTED}: payloads are always signed`),
  "require-content-md5": unsupported(`${NOT_SUPPORTED}: Content-MD5 is not configurable`),
  "storage-class": unsupported(`${NOT_SUPPORTED}: S3 storage classes (use a bucket lifecycle rule)`),
  "sse-customer-algorithm": unsupported(`${NOT_SUPPORTED}: S3 server-side encryption with customer keys`),
  "sse-customer-key": unsupported(`${NOT_SUPPORTED}: S3 server-side encryption with customer keys`),
  "sse-customer-key-path": unsupported(`${NOT_SUPPORTED}: S3 server-side encryption with customer keys`),
  "sse-kms-key-id": unsupported(`${NOT_SUPPORTED}: S3 server-side encryption with KMS keys (use the bucket's default encryption)`),
  "max-sync-ltx-files": unsupported(`${NOT_SUPPORTED}: the engine uploads what is pending without this cap`),
  "auto-recover": unsupported(`${NOT_SUPPORTED}: sqlrep keeps no local LTX state to reset`),
  "account-name": unsupported(`${NOT_SUPPORTED}: Azure Blob Storage replicas`),
  "account-key": unsupported(`${NOT_SUPPORTED}: Azure Blob Storage replicas`),
  "sas-token": unsupported(`${NOT_SUPPORTED}: Azure Blob Storage replicas`),
  host: unsupported(`${NOT_SUPPORTED}: SFTP replicas`),
  user: unsupported(`${NOT_SUPPORTED}: SFTP replicas`),
  password: unsupported(`${NOT_SUPPORTED}: SFTP or NATS replicas`),
  "key-path": unsupported(`${NOT_SUPPORTED}: SFTP replicas`),
  "host-key": unsupported(`${NOT_SUPPORTED}: SFTP replicas`),
  "concurrent-writes": unsupported(`${NOT_SUPPORTED}: SFTP replicas`),
  "webdav-url": unsupported(`${NOT_SUPPORTED}: WebDAV replicas`),
  "webdav-username": unsupported(`${NOT_SUPPORTED}: WebDAV replicas`),
  "webdav-password": unsupported(`${NOT_SUPPORTED}: WebDAV replicas`),
  jwt: unsupported(`${NOT_SUPPORTED}: NATS replicas`),
  seed: unsupported(`${NOT_SUPPORTED}: NATS replicas`),
  creds: unsupported(`${NOT_SUPPORTED}: NATS replicas`),
  nkey: unsupported(`${NOT_SUPPORTED}: NATS replicas`),
  username: unsupported(`${NOT_SUPPORTED}: NATS replicas`),
  token: unsupported(`${NOT_SUPPORTED}: NATS replicas`),
  tls: unsupported(`${NOT_SUPPORTED}: NATS replicas`),
  "root-cas": unsupported(`${NOT_SUPPORTED}: NATS replicas`),
  "client-cert": unsupported(`${NOT_SUPPORTED}: NATS replicas`),
  "client-key": unsupported(`${NOT_SUPPORTED}: NATS replicas`),
  "max-reconnects": unsupported(`${NOT_SUPPORTED}: NATS replicas`),
  "reconnect-wait": unsupported(`${NOT_SUPPORTED}: NATS replicas`),
  timeout: unsupported(`${NOT_SUPPORTED}: NATS replicas`),
};

/** S3 settings that may be given per replica and, in v0.5, once at the top level for all. */
const S3_KEYS = {
  bucket: string({ nonEmpty: true }).optional(),
  endpoint: string({ nonEmpty: true }).optional(),
  region: string({ nonEmpty: true }).optional(),
  "force-path-style": boolean().optional(),
  "skip-verify": boolean().optional(),
  "access-key-id": string().optional(),
  "secret-access-key": string().optional(),
  "part-size": byteSize({ min: MIN_PART_SIZE, max: MAX_PART_SIZE }).optional(),
  concurrency: integer({ min: 1, max: 64 }).optional(),
};

const replicaSchema = object({
  url: string({ nonEmpty: true }).optional(),
  type: string({ nonEmpty: true }).optional(),
  name: string({ nonEmpty: true }).optional(),
  path: string({ nonEmpty: true }).optional(),
  ...S3_KEYS,
  "sync-interval": duration().optional(),
  // v0.3 per-replica settings: the engine holds them per database (see resolveSettings).
  retention: duration().optional(),
  "retention-check-interval": unsupported(`${NOT_SUPPORTED}: retention runs when a snapshot is taken (every snapshot-interval / snapshot.interval), not on its own timer; remove the key`),
  "snapshot-interval": duration().optional(),
  "validation-interval": duration().optional(),
  ...UNSUPPORTED_REPLICA_KEYS,
});

const snapshotSchema = object({
  interval: duration({ min: 1 }).optional(),
  retention: duration({ min: 1 }).optional(),
});

const dbSchema = object({
  path: string({ nonEmpty: true }).optional(),
  "meta-path": string({ nonEmpty: true }).optional(),
  "meta-dir": unsupported(`${NOT_SUPPORTED}: directory mode (dir/pattern) is not implemented`),
  dir: unsupported(`${NOT_SUPPORTED}: directory mode (dir/pattern); list each database under dbs`),
  pattern: unsupported(`${NOT_SUPPORTED}: directory mode (dir/pattern)`),
  recursive: unsupported(`${NOT_SUPPORTED}: directory mode (dir/pattern)`),
  watch: unsupported(`${NOT_SUPPORTED}: directory mode (dir/pattern)`),
  "max-sync-wal-bytes": byteSize({ min: 1 }).optional(),
  "restore-if-db-not-exists": boolean().optional(),
  "monitor-interval": duration({ min: 1 }).optional(),
  "checkpoint-interval": duration({ min: 1 }).optional(),
  "busy-timeout": duration().optional(),
  "min-checkpoint-page-count": integer({ min: 1 }).optional(),
  "max-checkpoint-page-count": integer({ min: 1 }).optional(),
  "truncate-page-n": integer({ min: 0 }).optional(),
  snapshot: snapshotSchema.optional(),
  replicas: list(replicaSchema).optional(),
  replica: replicaSchema.optional(),
});

const rootSchema = object({
  dbs: list(dbSchema).default([]),
  addr: string({ nonEmpty: true }).optional(),
  logging: object({
    level: oneOf(["trace", "debug", "info", "warn", "error"], { ignoreCase: true }).default("info"),
    type: oneOf(["text", "json"], { ignoreCase: true }).default("text"),
    stderr: boolean().default(false),
    source: unsupported(`${NOT_SUPPORTED}: source locations in log records`),
  }).optional(),
  exec: string({ nonEmpty: true }).optional(),
  levels: list(object({ interval: duration({ min: 1 }) }), { maxItems: 8 }).optional(),
  snapshot: snapshotSchema.optional(),
  "l0-retention": duration().optional(),
  retention: object({ enabled: boolean().default(true) }).optional(),
  validation: object({ interval: duration().optional() }).optional(),
  "shutdown-sync-timeout": duration({ min: 1 }).optional(),
  ...S3_KEYS,
  "sync-interval": duration().optional(),
  "mcp-addr": unsupported(`${NOT_SUPPORTED}: the MCP server`),
  "heartbeat-url": unsupported(`${NOT_SUPPORTED}: heartbeat pings (scrape /metrics instead)`),
  "heartbeat-interval": unsupported(`${NOT_SUPPORTED}: heartbeat pings (scrape /metrics instead)`),
  "shutdown-sync-interval": unsupported(`${NOT_SUPPORTED}: the shutdown flush retries on its own schedule; shutdown-sync-timeout bounds it`),
  socket: unsupported(`${NOT_SUPPORTED}: the control socket (start/stop/sync/register commands)`),
  "verify-compaction": unsupported(`${NOT_SUPPORTED}: every LTX file we write carries checksums that restore verifies`),
  "l0-retention-check-interval": unsupported(`${NOT_SUPPORTED}: L0 retention runs on the engine's own schedule`),
  ...UNSUPPORTED_REPLICA_KEYS,
});

type RootYaml = Infer<typeof rootSchema>;
type DbYaml = Infer<typeof dbSchema>;
type ReplicaYaml = Infer<typeof replicaSchema>;
type S3Defaults = Pick<
  RootYaml,
  "bucket" | "endpoint" | "region" | "forcePathStyle" | "skipVerify" | "accessKeyId" | "secretAccessKey" | "partSize" | "concurrency" | "syncInterval"
>;

/** Options of {@link loadLitestreamConfig} and {@link parseLitestreamConfig}. */
export interface ConfigOptions {
  /** `$VAR` expansion (default true; `-no-expand-env` turns it off). */
  expandEnv?: boolean;
  env?: Env;
  /** Relative database and replica paths resolve against this (default `process.cwd()`). */
  cwd?: string;
}

/** Reads and resolves a Litestream config file (v0.3 and v0.5 keys). */
export async function loadLitestreamConfig(file: string, options: ConfigOptions = {}): Promise<LitestreamConfig> {
  const env = withPid(options.env ?? process.env);
  const warnings: string[] = [];
  const yaml = await loadConfigFile(file, rootSchema, { expandEnv: options.expandEnv ?? true, env, warn: (w) => warnings.push(w.message) });
  return resolveConfig(yaml, file, options.cwd ?? process.cwd(), warnings);
}

/** The same from text (tests, `-config -`). */
export function parseLitestreamConfig(text: string, file: string, options: ConfigOptions = {}): LitestreamConfig {
  const env = withPid(options.env ?? process.env);
  const warnings: string[] = [];
  const yaml = parseConfig(text, rootSchema, { file, expandEnv: options.expandEnv ?? true, env, warn: (w) => warnings.push(w.message) });
  return resolveConfig(yaml, file, options.cwd ?? process.cwd(), warnings);
}

/** Litestream v0.5 defines `$PID` for the expansion. */
function withPid(env: Env): Env {
  return env["PID"] === undefined ? { ...env, PID: String(process.pid) } : env;
}

function resolveConfig(yaml: RootYaml, file: string, cwd: string, warnings: string[]): LitestreamConfig {
  if (yaml.addr !== undefined) checkAddr(yaml.addr, () => errorAt(yaml, "addr", "invalid-value", `${JSON.stringify(yaml.addr)} needs a port, e.g. ":9090" or "127.0.0.1:9090"`));
  const defaults: S3Defaults = yaml;
  const global: DatabaseSettings = {};
  if (yaml.levels) global.levels = yaml.levels.map((l, i) => ({ level: i + 1, interval: l.interval }));
  if (yaml.snapshot?.interval !== undefined) global.snapshotInterval = yaml.snapshot.interval;
  if (yaml.snapshot?.retention !== undefined) global.snapshotRetention = yaml.snapshot.retention;
  if (yaml.l0Retention !== undefined) global.l0Retention = yaml.l0Retention;
  if (yaml.retention !== undefined) global.retentionEnabled = yaml.retention.enabled;
  if (yaml.validation?.interval !== undefined) global.validationInterval = yaml.validation.interval;

  const dbs = yaml.dbs.map((db) => resolveDatabase(db, defaults, global, cwd));
  const seen = new Map<string, number>();
  dbs.forEach((db, i) => {
    const first = seen.get(db.path);
    if (first !== undefined) throw errorAt(yaml.dbs[i]!, "path", "conflict", `database ${db.path} is already listed as dbs[${first}]`);
    seen.set(db.path, i);
  });
  const replicasYaml = (i: number) => yaml.dbs[i]!.replicas ?? [yaml.dbs[i]!.replica!];
  refuseSharedReplicas(
    dbs,
    (i, j) => (yaml.dbs[i]!.replicas ? `dbs[${i}].replicas[${j}]` : `dbs[${i}].replica`),
    (i, j, message) => errorAt(replicasYaml(i)[j]!, dbs[i]!.replicas[j]!.spec.url !== undefined ? "url" : "path", "conflict", message),
  );
  const logging = yaml.logging ?? { level: "info", type: "text", stderr: false };
  const config: LitestreamConfig = {
    file,
    logging: { level: logging.level === "trace" ? "debug" : logging.level, type: logging.type, stderr: logging.stderr },
    dbs,
    warnings,
  };
  if (yaml.addr !== undefined) config.addr = yaml.addr;
  if (yaml.exec !== undefined) config.exec = yaml.exec;
  if (yaml.shutdownSyncTimeout !== undefined) config.shutdownSyncTimeout = yaml.shutdownSyncTimeout;
  return config;
}

/**
 * Two replicas at one location (two databases, or one database under two names) would
 * write the same TXID names over each other: a restore then returns the other
 * database's pages. Refused, naming both entries (`fail` builds the error for the
 * second one, with the message).
 */
export function refuseSharedReplicas(dbs: readonly DatabaseConfig[], entry: (db: number, replica: number) => string, fail: (db: number, replica: number, message: string) => Error): void {
  const owners = new Map<string, { entry: string; db: string; name: string }>();
  dbs.forEach((db, i) => {
    db.replicas.forEach((r, j) => {
      const key = replicaLocation(r.spec);
      const first = owners.get(key);
      if (first !== undefined) {
        const whose = first.db === db.path ? `replica ${JSON.stringify(first.name)} of the same database` : `replica ${JSON.stringify(first.name)} of ${first.db}`;
        throw fail(
          i,
          j,
          `${entry(i, j)} (${JSON.stringify(r.name)} of ${db.path}) is the same replica location as ${first.entry} (${whose}): two writers on one replica overwrite each other's files; give each its own path`,
        );
      }
      owners.set(key, { entry: entry(i, j), db: db.path, name: r.name });
    });
  });
}

/** Where a replica's files live, as one comparable string (the bucket's endpoint included). */
export function replicaLocation(spec: ReplicaSpec): string {
  if (spec.type === "file") return `file:${resolve(spec.path ?? "")}`;
  return `${spec.type}:${spec.endpoint ?? ""}|${spec.bucket ?? ""}|${cleanPrefix(spec.path ?? "")}`;
}

function resolveDatabase(db: DbYaml, defaults: S3Defaults, global: DatabaseSettings, cwd: string): DatabaseConfig {
  if (db.path === undefined) throw errorAt(db, "path", "missing-key", "required key is missing (directory mode with dir/pattern is not supported)");
  if (db.replica !== undefined && db.replicas !== undefined) throw errorAt(db, "replica", "conflict", "give either replica (one) or replicas (a list), not both");
  const replicasYaml = db.replicas ?? (db.replica ? [db.replica] : []);
  if (replicasYaml.length === 0) throw errorAt(db, "replicas", "missing-key", "the database has no replica: add replica: or replicas:");
  const replicas = replicasYaml.map((r) => resolveReplica(r, defaults, cwd));
  const names = new Set<string>();
  replicas.forEach((r, i) => {
    if (names.has(r.name)) throw errorAt(replicasYaml[i]!, undefined, "conflict", `replica name ${JSON.stringify(r.name)} is used twice for ${db.path}: give each replica a distinct name:`);
    names.add(r.name);
  });
  const out: DatabaseConfig = { path: resolveDatabasePath(db.path, cwd), settings: resolveSettings(db, replicasYaml, global), replicas };
  if (db.metaPath !== undefined) out.settings.metaDir = resolve(cwd, expandHome(db.metaPath));
  if (db.restoreIfDbNotExists) out.restoreIfNotExists = true;
  return out;
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
    throw errorAt(db, "max-checkpoint-page-count", "conflict", "give either max-checkpoint-page-count (v0.3) or truncate-page-n (v0.5): both set the TRUNCATE checkpoint threshold");
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

function resolveReplica(r: ReplicaYaml, defaults: S3Defaults, cwd: string): ReplicaConfig {
  let spec: ReplicaSpec;
  if (r.url !== undefined) {
    for (const key of ["path", "bucket"] as const) {
      if (r[key] !== undefined) throw errorAt(r, key, "conflict", `cannot specify url & ${key} for a replica: the URL already sets it`);
    }
    try {
      spec = parseReplicaUrl(r.url);
    } catch (err) {
      throw errorAt(r, "url", "invalid-value", isReplicaError(err) ? err.message : String(err), err);
    }
    if (r.type !== undefined && r.type !== spec.type) throw errorAt(r, "type", "conflict", `type ${r.type} does not match the URL's scheme (${spec.type})`);
    if (spec.type === "file") spec = { ...spec, path: resolve(cwd, expandHome(spec.path!)) };
  } else {
    const type = r.type ?? "file";
    if (type !== "file" && type !== "s3") throw errorAt(r, "type", "invalid-value", unsupportedType(type), undefined);
    if (r.path !== undefined && /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(r.path)) {
      throw errorAt(r, "path", "invalid-value", `path must not be a URL (${r.path}): use url: instead`);
    }
    if (type === "file") {
      if (r.path === undefined) throw errorAt(r, "path", "missing-key", "a file replica needs a path (or a url)");
      spec = { type, path: resolve(cwd, expandHome(r.path)) };
    } else {
      const bucket = r.bucket ?? defaults.bucket;
      if (bucket === undefined) throw errorAt(r, "bucket", "missing-key", "an s3 replica needs a bucket (or a url)");
      spec = { type, bucket, path: cleanPrefix(r.path ?? "") };
    }
  }
  if (spec.type === "s3") spec = withS3Settings(spec, r, defaults);
  else rejectS3Keys(r);
  const config: ReplicaConfig = { name: r.name ?? spec.type, spec };
  const syncInterval = r.syncInterval ?? defaults.syncInterval;
  if (syncInterval !== undefined) config.syncInterval = syncInterval;
  if (spec.type === "s3") {
    const partSize = r.partSize ?? defaults.partSize;
    const concurrency = r.concurrency ?? defaults.concurrency;
    if (partSize !== undefined || concurrency !== undefined) {
      config.s3Options = { ...(partSize !== undefined ? { partSize } : {}), ...(concurrency !== undefined ? { concurrency } : {}) };
    }
  }
  return config;
}

/** Replica keys override what the URL says; top-level (v0.5) defaults fill what neither sets. */
function withS3Settings(spec: ReplicaSpec, r: ReplicaYaml, defaults: S3Defaults): ReplicaSpec {
  const out: ReplicaSpec = { ...spec };
  const endpoint = r.endpoint ?? spec.endpoint ?? defaults.endpoint;
  const region = r.region ?? spec.region ?? defaults.region;
  const forcePathStyle = r.forcePathStyle ?? spec.forcePathStyle ?? defaults.forcePathStyle ?? (endpoint !== undefined ? true : undefined);
  const skipVerify = r.skipVerify ?? spec.skipVerify ?? defaults.skipVerify;
  if (endpoint !== undefined) out.endpoint = endpoint;
  if (region !== undefined) out.region = region;
  if (forcePathStyle !== undefined) out.forcePathStyle = forcePathStyle;
  if (skipVerify !== undefined) out.skipVerify = skipVerify;
  const own = r.accessKeyId !== undefined || r.secretAccessKey !== undefined;
  const accessKeyId = own ? r.accessKeyId : defaults.accessKeyId;
  const secretAccessKey = own ? r.secretAccessKey : defaults.secretAccessKey;
  if (accessKeyId !== undefined && accessKeyId !== "") out.accessKeyId = accessKeyId;
  if (secretAccessKey !== undefined && secretAccessKey !== "") out.secretAccessKey = secretAccessKey;
  return out;
}

function rejectS3Keys(r: ReplicaYaml): void {
  const keys = {
    bucket: r.bucket,
    endpoint: r.endpoint,
    region: r.region,
    "force-path-style": r.forcePathStyle,
    "skip-verify": r.skipVerify,
    "access-key-id": r.accessKeyId,
    "secret-access-key": r.secretAccessKey,
    "part-size": r.partSize,
    concurrency: r.concurrency,
  };
  for (const [key, value] of Object.entries(keys)) {
    if (value !== undefined) throw errorAt(r, key, "conflict", `${key} only applies to s3 replicas, and this one is a file replica`);
  }
}

/** The replica package's own wording for a type it does not serve. */
function unsupportedType(type: string): string {
  try {
    parseReplicaUrl(`${type}://replica`);
  } catch (err) {
    if (isReplicaError(err)) return err.message;
  }
  return `replica type ${JSON.stringify(type)} is not supported (supported: file, s3)`;
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

/** The replica path a file spec should name, made absolute (positional `replicate DB URL`). */
export function absoluteFileSpec(spec: ReplicaSpec, cwd: string): ReplicaSpec {
  return spec.type === "file" && spec.path !== undefined && !isAbsolute(spec.path) ? { ...spec, path: resolve(cwd, expandHome(spec.path)) } : spec;
}
