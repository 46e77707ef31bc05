// The page server's configuration: Litestream's LITESTREAM_* environment (read by the
// shim at extension load and handed to the server), plus a few SQLREP_VFS_* knobs.
import { parseDuration } from "@sqlrep/config";
import { VfsError } from "@sqlrep/vfs";
import { parseLeaseUrl, type LeaseTarget } from "./lease-url.js";

/** Everything the server needs to know. */
export interface ServerConfig {
  replicaUrl: string;
  writeEnabled: boolean;
  syncIntervalMs: number;
  bufferPath: string;
  hydration: { path: string; persist: boolean } | undefined;
  logLevel: "debug" | "info";
  logFile: string;
  /** `LITESTREAM_LEASE_URL`, when set: the lease that keeps write mode to one writer. */
  lease: LeaseTarget | undefined;
  pollIntervalMs: number;
  cacheBytes: number;
  idleTimeoutMs: number;
}

/** Reads the configuration of the server whose socket is `socketPath` (`<dir>/<key>.sock`). */
export function readConfig(env: NodeJS.ProcessEnv, socketPath: string): ServerConfig {
  const base = socketPath.replace(/\.sock$/, "");
  const url = env["LITESTREAM_REPLICA_URL"]?.trim();
  if (!url) throw new VfsError("invalid-config", "LITESTREAM_REPLICA_URL is not set");
  const hydrationPath = nonEmpty(env["LITESTREAM_HYDRATION_PATH"]);
  const level = (env["LITESTREAM_LOG_LEVEL"] ?? "INFO").trim().toUpperCase();
  if (level !== "DEBUG" && level !== "INFO" && level !== "") {
    throw new VfsError("invalid-config", `LITESTREAM_LOG_LEVEL=${env["LITESTREAM_LOG_LEVEL"]}: expected DEBUG or INFO`);
  }
  return {
    replicaUrl: url,
    writeEnabled: bool(env, "LITESTREAM_WRITE_ENABLED"),
    syncIntervalMs: duration(env, "LITESTREAM_SYNC_INTERVAL", 1000),
    bufferPath: nonEmpty(env["LITESTREAM_BUFFER_PATH"]) ?? `${base}.buffer`,
    hydration: bool(env, "LITESTREAM_HYDRATION_ENABLED") ? { path: hydrationPath ?? `${base}.hydrated.db`, persist: hydrationPath !== undefined } : undefined,
    logLevel: level === "DEBUG" ? "debug" : "info",
    logFile: nonEmpty(env["LITESTREAM_LOG_FILE"]) ?? `${base}.log`,
    lease: leaseOf(nonEmpty(env["LITESTREAM_LEASE_URL"])),
    pollIntervalMs: duration(env, "SQLREP_VFS_POLL_INTERVAL", 1000),
    cacheBytes: size(env, "SQLREP_VFS_CACHE_SIZE", 64 * 1024 * 1024),
    idleTimeoutMs: duration(env, "SQLREP_VFS_IDLE_TIMEOUT", 30_000),
  };
}

function leaseOf(url: string | undefined): LeaseTarget | undefined {
  return url === undefined ? undefined : parseLeaseUrl(url);
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

function bool(env: NodeJS.ProcessEnv, name: string): boolean {
  const v = nonEmpty(env[name]);
  if (v === undefined) return false;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new VfsError("invalid-config", `${name}=${v}: expected true or false`);
}

function duration(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = nonEmpty(env[name]);
  if (v === undefined) return fallback;
  try {
    const ms = parseDuration(v);
    if (ms <= 0) throw new Error("must be positive");
    return ms;
  } catch (err) {
    throw new VfsError("invalid-config", `${name}=${v}: ${(err as Error).message}`);
  }
}

function size(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = nonEmpty(env[name]);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new VfsError("invalid-config", `${name}=${v}: expected a number of bytes`);
  return n;
}
