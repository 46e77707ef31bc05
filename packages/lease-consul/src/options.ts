// The options of the Consul lease: `lease.consul` of litefs.yml, LiteFS's keys and defaults,
// and its URL convention (an ACL token as the password, a key prefix as the path).
import { LeaseError } from "@sqlrep/lease";

/**
 * `lease.consul` of litefs.yml (`url`, `key`, `ttl`, `lock-delay`), in the camelCase a
 * config loader produces; durations in milliseconds.
 */
export interface ConsulLeaseOptions {
  /** `http://127.0.0.1:8500`, or `https://:TOKEN@consul.example/prefix` (Fly's `FLY_CONSUL_URL` style). */
  url: string;
  /** The lease key, unique per cluster; stored at `<prefix>/<key>`, the cluster ID at `<prefix>/<key>/clusterid`. */
  key: string;
  /** Session TTL in ms (default 10 s; Consul refuses less than 10 s, and expires a session up to 2 × TTL after its last renew). */
  ttl?: number;
  /** Consul's lock-delay in ms (default 1 s, as LiteFS): after a holder's session ends, nobody may take the key for this long. */
  lockDelay?: number;
}

/** The options checked, with the URL taken apart as LiteFS does. */
export interface CheckedConsulOptions {
  /** `http(s)://host:port`, without credentials or path: what messages name. */
  endpoint: string;
  host: string;
  port: number;
  secure: boolean;
  token: string | undefined;
  /** The URL path without its leading slash ("" when none). */
  prefix: string;
  /** `<prefix>/<key>`. */
  kvKey: string;
  /** The catalog node sessions attach to: `<prefix>/litefs` when there is a prefix, else none (the agent's node). */
  nodeName: string | undefined;
  ttlMs: number;
  lockDelayMs: number;
}

/** LiteFS's defaults. */
export const DEFAULT_CONSUL_TTL_MS = 10_000;
export const DEFAULT_CONSUL_LOCK_DELAY_MS = 1_000;

const KEYS = ["url", "key", "ttl", "lockDelay"];

/** Checks `lease.consul` options; every problem is a `LeaseError("invalid-config")` naming the key. */
export function checkConsulLeaseOptions(input: unknown, where = "lease.consul"): CheckedConsulOptions {
  const bad = (key: string, why: string) => new LeaseError("invalid-config", `${where}.${key}: ${why}`, { key: `${where}.${key}` });
  if (typeof input !== "object" || input === null || Array.isArray(input)) throw new LeaseError("invalid-config", `${where}: expected a map with url and key`, { key: where });
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.includes(k)) throw bad(k, `unknown key (known: url, key, ttl, lockDelay — lock-delay in the YAML)`);

  if (typeof o["url"] !== "string" || o["url"] === "") throw bad("url", "required: the Consul HTTP API, e.g. http://127.0.0.1:8500");
  let url: URL;
  try {
    url = new URL(o["url"]);
  } catch {
    throw bad("url", `not a URL: ${JSON.stringify(redact(String(o["url"])))}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw bad("url", `must be http or https: ${redact(o["url"])}`);
  const key = o["key"];
  if (typeof key !== "string" || key.trim() === "") throw bad("key", "required: the lease key, unique per cluster");
  const duration = (name: string, fallback: number, min: number) => {
    const v = o[name] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v)) throw bad(name === "lockDelay" ? "lock-delay" : name, "must be a duration (milliseconds)");
    if (v < min) throw bad(name === "lockDelay" ? "lock-delay" : name, `${v} ms is below ${min} ms`);
    return v;
  };
  const secure = url.protocol === "https:";
  const prefix = cleanPath(decodeURIComponent(url.pathname));
  return {
    endpoint: `${url.protocol}//${url.host}`,
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port ? Number(url.port) : secure ? 443 : 80,
    secure,
    token: url.password ? decodeURIComponent(url.password) : undefined,
    prefix,
    kvKey: cleanPath(`${prefix}/${key}`),
    nodeName: prefix ? cleanPath(`${prefix}/litefs`) : undefined,
    ttlMs: duration("ttl", DEFAULT_CONSUL_TTL_MS, 1_000),
    lockDelayMs: duration("lockDelay", DEFAULT_CONSUL_LOCK_DELAY_MS, 0),
  };
}

/** Go's `path.Join` cleaning, as LiteFS builds keys: no leading, trailing or doubled slashes. */
function cleanPath(path: string): string {
  return path
    .split("/")
    .filter((part) => part !== "" && part !== ".")
    .join("/");
}

/** A URL with its password replaced, for messages (the password is an ACL token). */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@");
}
