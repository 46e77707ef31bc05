// LITESTREAM_LEASE_URL: which lease store keeps write mode to one writer, as a URL, and the
// leaser it opens. Our own variable (Litestream's VFS has no single-writer guard).
//   etcd://host:2379[,host2:2379]/key/path?ttl=10s      (etcds:// for TLS; user:password@ for auth)
//   consul://[:token@]host:8500/[prefix/]key?ttl=10s&lock-delay=1s   (consuls:// for TLS)
import { hostname } from "node:os";
import { parseDuration } from "@sqlrep/config";
import type { Leaser, NodeIdentity } from "@sqlrep/lease";
import { VfsError } from "@sqlrep/vfs";

/** A parsed LITESTREAM_LEASE_URL. */
export type LeaseTarget =
  | { type: "etcd"; endpoints: string[]; key: string; ttlMs: number | undefined; username: string | undefined; password: string | undefined; display: string }
  | { type: "consul"; url: string; key: string; ttlMs: number | undefined; lockDelayMs: number | undefined; display: string };

const QUERY_KEYS: Record<LeaseTarget["type"], string[]> = { etcd: ["ttl"], consul: ["ttl", "lock-delay"] };

/** Parses LITESTREAM_LEASE_URL; every problem is a VfsError("invalid-config") naming the variable and the part. */
export function parseLeaseUrl(raw: string): LeaseTarget {
  const bad = (why: string) => new VfsError("invalid-config", `LITESTREAM_LEASE_URL=${redactUrl(raw)}: ${why}`);
  const m = /^([a-z]+):\/\/(?:([^@/]*)@)?([^/?#]+)(\/[^?#]*)?(?:\?([^#]*))?$/i.exec(raw.trim());
  if (m === null) throw bad("expected etcd://host:port/key or consul://host:port/key");
  const [, scheme, userinfo, hosts, path = "", query = ""] = m as unknown as [string, string, string | undefined, string, string | undefined, string | undefined];
  const type = scheme.toLowerCase().replace(/s$/, "") as LeaseTarget["type"];
  if (type !== "etcd" && type !== "consul") throw bad(`unknown lease store "${scheme}" (etcd, etcds, consul or consuls)`);
  const secure = scheme.toLowerCase().endsWith("s");
  const params = new URLSearchParams(query);
  for (const k of params.keys()) if (!QUERY_KEYS[type].includes(k)) throw bad(`unknown parameter "${k}" (known: ${QUERY_KEYS[type].join(", ")})`);
  const ms = (k: string) => {
    const v = params.get(k);
    if (v === null) return undefined;
    try {
      return parseDuration(v);
    } catch (err) {
      throw bad(`${k}=${v}: ${(err as Error).message}`);
    }
  };
  const key = decodeURIComponent(path);
  if (key === "" || key === "/") throw bad("the lease key (the URL's path) is missing");
  const [user, pass] = userinfo === undefined ? [undefined, undefined] : userinfo.split(":", 2).map((s) => (s === "" ? undefined : decodeURIComponent(s)));
  const display = redactUrl(raw);
  const proto = secure ? "https" : "http";
  if (type === "etcd") {
    const endpoints = hosts.split(",").map((h) => `${proto}://${h}`);
    return { type, endpoints, key, ttlMs: ms("ttl"), username: user, password: pass, display };
  }
  // Consul: the last path segment is the key, what comes before it the KV prefix (LiteFS's convention).
  const slash = key.lastIndexOf("/");
  const prefix = key.slice(0, slash);
  const auth = pass === undefined ? "" : `:${encodeURIComponent(pass)}@`;
  return { type, url: `${proto}://${auth}${hosts}${prefix}`, key: key.slice(slash + 1), ttlMs: ms("ttl"), lockDelayMs: ms("lock-delay"), display };
}

/**
 * Opens the leaser a target names (its backend is loaded only then); this page server is
 * the candidate. The lease stores want an http(s) advertise URL: a page server serves none,
 * so it names the host, the process and its socket, which is what another writer's error shows.
 */
export async function openLeaser(target: LeaseTarget, socketPath: string): Promise<Leaser> {
  const host = hostname();
  const me: NodeIdentity = {
    hostname: `${host}:${process.pid}`,
    advertiseURL: `http://${host}/litestream-vfs?pid=${process.pid}&socket=${encodeURIComponent(socketPath)}`,
    candidate: true,
  };
  if (target.type === "etcd") {
    const { openEtcdLeaser } = await import("@sqlrep/lease-etcd");
    const auth = target.username === undefined ? {} : { username: target.username, password: target.password ?? "" };
    return openEtcdLeaser({ endpoints: target.endpoints, key: target.key, ...(target.ttlMs === undefined ? {} : { ttl: target.ttlMs }), ...auth }, me);
  }
  const { openConsulLeaser } = await import("@sqlrep/lease-consul");
  return openConsulLeaser(
    {
      url: target.url,
      key: target.key,
      ...(target.ttlMs === undefined ? {} : { ttl: target.ttlMs }),
      ...(target.lockDelayMs === undefined ? {} : { lockDelay: target.lockDelayMs }),
    },
    me,
  );
}

/** The URL with any password or token replaced, for messages and logs. */
export function redactUrl(raw: string): string {
  return raw.replace(/\/\/([^@/]*):[^@/]*@/, "//$1:***@");
}
