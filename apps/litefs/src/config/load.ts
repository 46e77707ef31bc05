// Finding, reading and checking litefs.yml as `litefs mount` does: the search order,
// LiteFS's env expansion, the strict schema, and the checks across keys.
import { readFileSync } from "node:fs";
import { hostname as osHostname } from "node:os";
import { join, resolve } from "node:path";
import { ConfigError, errorAt, parseConfig } from "@sqlrep/config";
import { expandLitefsEnv } from "./env.js";
import { litefsConfigSchema, type LitefsConfig } from "./schema.js";

/** Where `litefs mount` looks when `-config` is not given, in order. */
export function configSearchPaths(cwd: string, env: NodeJS.ProcessEnv): string[] {
  const paths = [join(cwd, "litefs.yml")];
  if (env["HOME"]) paths.push(join(env["HOME"], "litefs.yml"));
  paths.push("/etc/litefs.yml");
  return paths;
}

/** Options of {@link loadLitefsConfig}. */
export interface LoadOptions {
  /** `-config PATH`; otherwise the search order. */
  path?: string | undefined;
  /** `-no-expand-env`. */
  expandEnv?: boolean;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** The config and the file it came from. */
export interface LoadedConfig {
  file: string;
  config: LitefsConfig;
}

/**
 * Reads the first config file found (or `-config`), sets `HOSTNAME` in `env` when unset
 * (so `${HOSTNAME}` works, as in LiteFS), expands, parses strictly and validates.
 * Throws `ConfigError` naming the file, line, column and key.
 */
export function loadLitefsConfig(options: LoadOptions): LoadedConfig {
  const env = options.env;
  if (!env["HOSTNAME"]) env["HOSTNAME"] = osHostname();
  const candidates = options.path !== undefined ? [resolve(options.cwd, options.path)] : configSearchPaths(options.cwd, env);
  for (const file of candidates) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (options.path === undefined && (code === "ENOENT" || code === "EACCES" || code === "ENOTDIR")) continue;
      throw new ConfigError(code === "ENOENT" ? "not-found" : "parse", `cannot read config file: ${(err as Error).message}`, { file, cause: err });
    }
    return { file, config: parseLitefsConfig(text, { file, env, expandEnv: options.expandEnv ?? true }) };
  }
  throw new ConfigError("not-found", `config file not found: looked for ${candidates.join(", ")}; pass -config PATH`, {});
}

/** Parses and validates litefs.yml text (`file` names it in errors). */
export function parseLitefsConfig(text: string, options: { file: string; env: NodeJS.ProcessEnv; expandEnv?: boolean }): LitefsConfig {
  const expanded = options.expandEnv === false ? text : expandLitefsEnv(text, options.env);
  const config = parseConfig(expanded, litefsConfigSchema, { file: options.file, expandEnv: false });
  validate(config);
  return config;
}

/** LiteFS's checks across keys, and ours. */
function validate(config: LitefsConfig): void {
  if (resolve(config.fuse.dir) === resolve(config.data.dir)) {
    throw errorAt(config.data, "dir", "conflict", `data.dir must differ from fuse.dir (both are ${resolve(config.data.dir)}): the mount would hide its own data`);
  }
  const lease = config.lease;
  if (lease.databases !== undefined && lease.candidate) {
    throw errorAt(lease, "databases", "conflict", "lease.databases (replicate only some databases) is only allowed on a replica (lease.candidate: false)");
  }
  if (lease.type === "consul" && lease.consul === undefined) throw errorAt(lease, "type", "missing-key", "lease.type consul needs a lease.consul block (url, key)");
  if (lease.type === "etcd" && lease.etcd === undefined) throw errorAt(lease, "type", "missing-key", "lease.type etcd needs a lease.etcd block (endpoints, key)");
  if (lease.type !== "consul" && lease.consul !== undefined) throw errorAt(lease, "consul", "conflict", `lease.consul is given but lease.type is ${lease.type}`);
  if (lease.type !== "etcd" && lease.etcd !== undefined) throw errorAt(lease, "etcd", "conflict", `lease.etcd is given but lease.type is ${lease.type}`);
  if (lease.type === "static" && !lease.candidate && !lease.advertiseUrl) {
    throw errorAt(lease, "candidate", "missing-key", "a static-lease replica (candidate: false) needs lease.hostname and lease.advertise-url: the primary's");
  }
  if (lease.advertiseUrl) {
    try {
      const url = new URL(lease.advertiseUrl);
      if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("not http");
    } catch {
      throw errorAt(lease, "advertise-url", "invalid-value", `not an http URL: ${JSON.stringify(lease.advertiseUrl)}`);
    }
  }
  const proxy = config.proxy;
  if (proxy !== undefined && proxy.target) {
    if (!proxy.addr) throw errorAt(proxy, "addr", "missing-key", "proxy.addr is required when proxy.target is set");
    if (!proxy.db) throw errorAt(proxy, "db", "missing-key", "proxy.db is required when proxy.target is set (the database whose TXID the cookie carries)");
  }
  const backup = config.backup;
  if (backup !== undefined) {
    if (backup.type === "litefs-cloud") throw errorAt(backup, "type", "unsupported", "LiteFS Cloud was retired on 2024-10-15: use backup.url (s3://bucket/path or file:///dir)");
    if (!backup.url && !(backup.type === "file" && backup.path))
      throw errorAt(backup, undefined, "missing-key", "backup needs url (s3://bucket/path, file:///dir) or type: file with path");
  }
}

/** The hostname this node uses in the lease: `lease.hostname`, else the OS's (as LiteFS). */
export function leaseHostname(config: LitefsConfig): string {
  return config.lease.hostname || osHostname();
}

/** `lease.advertise-url`, else `http://<hostname>:<http port>` (LiteFS's default). */
export function advertiseUrl(config: LitefsConfig): string {
  if (config.lease.advertiseUrl) return config.lease.advertiseUrl;
  const addr = config.http.addr;
  const port = addr.slice(addr.lastIndexOf(":") + 1);
  return `http://${leaseHostname(config)}:${port}`;
}
