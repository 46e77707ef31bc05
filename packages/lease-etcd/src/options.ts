// The options of the etcd lease: the `lease.etcd` block of litefs.yml, key for key, checked
// with errors that name the bad key.
import { LeaseError } from "@sqlrep/lease";

/**
 * `lease.etcd` of litefs.yml. Keys are the YAML keys (all single words), so a parsed
 * block maps over as it is; `ttl` is in milliseconds (what a duration like `10s` parses to).
 */
export interface EtcdLeaseOptions {
  /** Client URLs, one or more: `http://127.0.0.1:2379`. */
  endpoints: string[];
  /** The lease key, unique per cluster: `/litefs/my-cluster`. The cluster ID lives at `<key>/clusterid`. */
  key: string;
  /** Lease TTL in ms, whole seconds (etcd leases count seconds), 2 s or more. Default 10 s. */
  ttl?: number;
  /** etcd user, with `password`. */
  username?: string;
  password?: string;
  /** PEM files: the CA that signed the server's certificate, and a client certificate and key. */
  tls?: { ca?: string; cert?: string; key?: string };
}

/** `EtcdLeaseOptions` with the defaults filled in. */
export interface CheckedEtcdOptions {
  endpoints: string[];
  key: string;
  ttlMs: number;
  auth: { username: string; password: string } | undefined;
  tls: { ca: string | undefined; cert: string | undefined; key: string | undefined } | undefined;
}

/** The default TTL, as LiteFS's Consul lease. */
export const DEFAULT_ETCD_TTL_MS = 10_000;
/** The shortest TTL allowed. */
export const MIN_ETCD_TTL_MS = 2_000;

const KEYS = ["endpoints", "key", "ttl", "username", "password", "tls"];
const TLS_KEYS = ["ca", "cert", "key"];

/**
 * Checks `lease.etcd` options (`where` prefixes key names in messages) and fills in the
 * defaults. Every problem is a `LeaseError("invalid-config")` naming the key.
 */
export function checkEtcdLeaseOptions(input: unknown, where = "lease.etcd"): CheckedEtcdOptions {
  const bad = (key: string, why: string) => new LeaseError("invalid-config", `${where}.${key}: ${why}`, { key: `${where}.${key}` });
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new LeaseError("invalid-config", `${where}: expected a map with endpoints and key`, { key: where });
  }
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.includes(k)) throw bad(k, `unknown key (known: ${KEYS.join(", ")})`);

  const endpoints = o["endpoints"];
  if (!Array.isArray(endpoints) || endpoints.length === 0) throw bad("endpoints", 'required: one or more client URLs, e.g. ["http://127.0.0.1:2379"]');
  endpoints.forEach((e, i) => {
    if (typeof e !== "string") throw bad(`endpoints[${i}]`, "must be a URL string");
    let url: URL;
    try {
      url = new URL(e);
    } catch {
      throw bad(`endpoints[${i}]`, `not a URL: ${JSON.stringify(e)} (write http://host:2379)`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw bad(`endpoints[${i}]`, `must be http or https: ${e}`);
  });

  const key = o["key"];
  if (typeof key !== "string" || key.trim() === "") throw bad("key", "required: the lease key, unique per cluster, e.g. /litefs/my-cluster");

  const ttl = o["ttl"] ?? DEFAULT_ETCD_TTL_MS;
  if (typeof ttl !== "number" || !Number.isFinite(ttl)) throw bad("ttl", "must be a duration (milliseconds)");
  if (ttl < MIN_ETCD_TTL_MS) throw bad("ttl", `${ttl} ms is below the 2s minimum`);
  if (ttl % 1_000 !== 0) throw bad("ttl", `${ttl} ms is not a whole number of seconds (etcd leases count seconds)`);

  const username = o["username"] ?? "";
  const password = o["password"] ?? "";
  if (typeof username !== "string") throw bad("username", "must be a string");
  if (typeof password !== "string") throw bad("password", "must be a string");
  if (password !== "" && username === "") throw bad("username", "required with password");

  let tls: CheckedEtcdOptions["tls"];
  if (o["tls"] !== undefined) {
    const t = o["tls"];
    if (typeof t !== "object" || t === null || Array.isArray(t)) throw bad("tls", "expected a map of ca, cert, key (PEM file paths)");
    const tt = t as Record<string, unknown>;
    for (const k of Object.keys(tt)) if (!TLS_KEYS.includes(k)) throw bad(`tls.${k}`, `unknown key (known: ${TLS_KEYS.join(", ")})`);
    const file = (k: string) => {
      const v = tt[k] ?? "";
      if (typeof v !== "string") throw bad(`tls.${k}`, "must be a file path");
      return v === "" ? undefined : v;
    };
    tls = { ca: file("ca"), cert: file("cert"), key: file("key") };
    if ((tls.cert === undefined) !== (tls.key === undefined)) throw bad(tls.cert ? "tls.key" : "tls.cert", "cert and key go together");
    if (!tls.ca && !tls.cert) tls = undefined;
  }

  return {
    endpoints: endpoints as string[],
    key,
    ttlMs: ttl,
    auth: username === "" ? undefined : { username, password },
    tls,
  };
}
