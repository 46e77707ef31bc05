/**
 * The proxy's options (LiteFS's `proxy:` keys, durations in ms) and their validation:
 * every bad value is a `ClusterError("invalid-argument")` naming the `proxy.*` key.
 */
import { ClusterError } from "../errors.js";
import type { PrimaryInfo } from "@sqlrep/lease";
import type { Logger } from "@sqlrep/shipper";

/** A path pattern: a string (`*` is the only wildcard and it must match the whole path, as LiteFS) or a RegExp. */
export type ProxyPathPattern = string | RegExp;

/** Options of {@link startProxyServer}. Durations in ms. */
export interface ProxyOptions {
  /** `proxy.addr`: `host:port`, `:port` (every interface, as LiteFS) or a port; 0 picks one. */
  readonly addr: string | number;
  /** `proxy.target`: the app, `host:port` (or a port on 127.0.0.1). */
  readonly target: string | number;
  /** `proxy.db`: the database whose TXID the `__txid` cookie carries. */
  readonly db: string;
  /** `proxy.debug`: log every request's route at `info` instead of `debug`. */
  readonly debug?: boolean | undefined;
  /** `proxy.passthrough`: paths sent straight to the target (no cookie, no wait, never forwarded). */
  readonly passthrough?: readonly ProxyPathPattern[] | undefined;
  /** `proxy.always-forward`: GET/HEAD paths handled as writes (sent to the primary). */
  readonly alwaysForward?: readonly ProxyPathPattern[] | undefined;
  /** `proxy.primary-redirect-timeout` (default 5000): how long a write waits for a known primary before 503. */
  readonly primaryRedirectTimeout?: number | undefined;
  /** `proxy.max-lag` (default 10000): `/litefs/health` answers 503 past this replication lag; 0 turns the lag check off (LiteFS). */
  readonly maxLag?: number | undefined;
  /** `proxy.read-timeout` (default 0: none): the whole request, body included, must arrive within it. */
  readonly readTimeout?: number | undefined;
  /** `proxy.read-header-timeout` (default 10000): the request's headers must arrive within it. */
  readonly readHeaderTimeout?: number | undefined;
  /** `proxy.write-timeout` (default 0: none): an answer not finished this long after its request arrived is cut. */
  readonly writeTimeout?: number | undefined;
  /** `proxy.idle-timeout` (default 30000): an idle keep-alive connection is closed after it. */
  readonly idleTimeout?: number | undefined;
  /** How long a read carrying `__txid` waits for the database to reach it (default 5000, LiteFS's fixed value); then 504. */
  readonly txidTimeout?: number | undefined;
  /** The `__txid` cookie's lifetime (default 300000, LiteFS's). */
  readonly cookieExpiry?: number | undefined;
  /** How long to retry connection-refused to the target (an app still starting, LiteFS #368); default 30000. */
  readonly targetDialTimeout?: number | undefined;
  /**
   * A write on a replica: `"forward"` (default) sends it to the primary's proxy and streams
   * the answer back; `"fly-replay"` answers `fly-replay: instance=<primary hostname>` as LiteFS
   * does (only useful behind Fly's edge proxy).
   */
  readonly replicaWrites?: "forward" | "fly-replay" | undefined;
  /**
   * The URL other nodes reach this proxy at, published in this node's `/info` as `proxyURL`.
   * Default: the listen address when it names a host, else the host of `lease.advertise-url`
   * with the proxy's port.
   */
  readonly advertiseURL?: string | undefined;
  /**
   * Where the primary's proxy is, overriding what the primary publishes in `/info` (e.g. a
   * fixed map from hostnames). Return undefined to fall back to the default.
   */
  readonly primaryProxyURL?: ((primary: PrimaryInfo) => string | undefined) | undefined;
  /** Logger (default: the node's). */
  readonly logger?: Logger | undefined;
}

/** The options after validation, defaults filled in. */
export interface ResolvedProxyOptions {
  readonly listen: { host: string | undefined; port: number };
  readonly target: { host: string; port: number };
  readonly db: string;
  readonly debug: boolean;
  readonly passthrough: readonly RegExp[];
  readonly alwaysForward: readonly RegExp[];
  readonly primaryRedirectTimeout: number;
  readonly maxLag: number;
  readonly readTimeout: number;
  readonly readHeaderTimeout: number;
  readonly writeTimeout: number;
  readonly idleTimeout: number;
  readonly txidTimeout: number;
  readonly cookieExpiry: number;
  readonly targetDialTimeout: number;
  readonly replicaWrites: "forward" | "fly-replay";
  readonly advertiseURL: string | undefined;
  readonly primaryProxyURL: ((primary: PrimaryInfo) => string | undefined) | undefined;
}

/** Validates `options`; throws `ClusterError("invalid-argument")` naming the `proxy.*` key. */
export function resolveProxyOptions(options: ProxyOptions): ResolvedProxyOptions {
  if (options === null || typeof options !== "object") throw invalid("proxy", "the proxy's options must be an object");
  if (options.target === undefined || options.target === "") throw invalid("proxy.target", "proxy.target is required: the app's host:port");
  if (typeof options.db !== "string" || options.db === "") throw invalid("proxy.db", "proxy.db is required: the database whose TXID the __txid cookie tracks");
  if (options.addr === undefined || options.addr === "") throw invalid("proxy.addr", "proxy.addr is required: the address the proxy listens on (host:port or :port)");
  const replicaWrites = options.replicaWrites ?? "forward";
  if (replicaWrites !== "forward" && replicaWrites !== "fly-replay") {
    throw invalid("replicaWrites", `replicaWrites ${JSON.stringify(replicaWrites)}: must be "forward" or "fly-replay"`);
  }
  if (options.advertiseURL !== undefined) checkURL("advertiseURL", options.advertiseURL);
  if (options.primaryProxyURL !== undefined && typeof options.primaryProxyURL !== "function") throw invalid("primaryProxyURL", "primaryProxyURL must be a function");
  const listen = hostPort("proxy.addr", options.addr, true);
  const target = hostPort("proxy.target", options.target, false);
  return {
    listen,
    target: { host: target.host ?? "127.0.0.1", port: target.port },
    db: options.db,
    debug: options.debug === true,
    passthrough: patterns("proxy.passthrough", options.passthrough),
    alwaysForward: patterns("proxy.always-forward", options.alwaysForward),
    primaryRedirectTimeout: duration("proxy.primary-redirect-timeout", options.primaryRedirectTimeout, 5_000),
    maxLag: duration("proxy.max-lag", options.maxLag, 10_000),
    readTimeout: duration("proxy.read-timeout", options.readTimeout, 0),
    readHeaderTimeout: duration("proxy.read-header-timeout", options.readHeaderTimeout, 10_000),
    writeTimeout: duration("proxy.write-timeout", options.writeTimeout, 0),
    idleTimeout: duration("proxy.idle-timeout", options.idleTimeout, 30_000),
    txidTimeout: duration("txidTimeout", options.txidTimeout, 5_000),
    cookieExpiry: duration("cookieExpiry", options.cookieExpiry, 300_000),
    targetDialTimeout: duration("targetDialTimeout", options.targetDialTimeout, 30_000),
    replicaWrites,
    advertiseURL: options.advertiseURL?.replace(/\/+$/, ""),
    primaryProxyURL: options.primaryProxyURL,
  };
}

/**
 * A `proxy.passthrough` / `proxy.always-forward` entry as a RegExp over the whole path:
 * `*` matches any run of characters (slashes included), everything else literally.
 */
export function compilePathPattern(pattern: ProxyPathPattern, key = "proxy.passthrough"): RegExp {
  if (pattern instanceof RegExp) return pattern;
  if (typeof pattern !== "string" || pattern === "") throw invalid(key, `${key}: ${JSON.stringify(pattern)} is not a path pattern (a non-empty string or a RegExp)`);
  const body = pattern
    .split("*")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${body}$`);
}

/** Whether `path` matches one of `list`. */
export function matchesAny(list: readonly RegExp[], path: string): boolean {
  for (const re of list) {
    re.lastIndex = 0;
    if (re.test(path)) return true;
  }
  return false;
}

function patterns(key: string, list: readonly ProxyPathPattern[] | undefined): RegExp[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw invalid(key, `${key} must be a list of path patterns`);
  return list.map((p) => compilePathPattern(p, key));
}

function duration(key: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) throw invalid(key, `${key} ${JSON.stringify(value)}: must be a duration in ms, 0 or more`);
  return value;
}

function hostPort(key: string, value: string | number, listen: boolean): { host: string | undefined; port: number } {
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < (listen ? 0 : 1) || value > 65535) throw invalid(key, `${key} ${value}: not a port`);
    return { host: undefined, port: value };
  }
  if (typeof value !== "string") throw invalid(key, `${key} must be host:port`);
  if (/^[a-z]+:\/\//i.test(value)) throw invalid(key, `${key} ${JSON.stringify(value)}: give host:port, not a URL`);
  const i = value.lastIndexOf(":");
  const host = i <= 0 ? undefined : value.slice(0, i).replace(/^\[|\]$/g, "");
  const portText = i < 0 ? value : value.slice(i + 1);
  const port = /^\d+$/.test(portText) ? Number(portText) : Number.NaN;
  if (!Number.isInteger(port) || port < (listen ? 0 : 1) || port > 65535) throw invalid(key, `${key} ${JSON.stringify(value)}: not host:port`);
  return { host, port };
}

function checkURL(key: string, value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch (err) {
    throw invalid(key, `${key} ${JSON.stringify(value)}: not a URL`, err);
  }
  if (url.protocol !== "http:") throw invalid(key, `${key} ${JSON.stringify(value)}: only http:// URLs`);
}

function invalid(key: string, message: string, cause?: unknown): ClusterError {
  return new ClusterError("invalid-argument", message, { cause, key });
}
