/**
 * The proxy's read-your-writes machinery, as LiteFS: the `__txid` cookie (16 lowercase hex
 * digits of the database's TXID after a write), a read waiting for its database to reach
 * the cookie's TXID, a write waiting for a known primary, and `/litefs/health`'s verdict.
 */
import type { PrimaryInfo } from "@sqlrep/lease";
import { formatTxid } from "@sqlrep/ltx";
import type { ClusterNode } from "../roles/node.js";

/** The cookie LiteFS's proxy sets after a write and reads on every GET/HEAD. */
export const TXID_COOKIE = "__txid";

/** The `Set-Cookie` value for `txid`: `__txid=<16 hex>; Path=/; Expires=<HTTP date>; HttpOnly`, as LiteFS writes it. */
export function txidCookie(txid: number, expiryMs: number, now = Date.now()): string {
  return `${TXID_COOKIE}=${formatTxid(txid)}; Path=/; Expires=${new Date(now + expiryMs).toUTCString()}; HttpOnly`;
}

/**
 * The TXID in a `Cookie` header's `__txid`, or 0 when it is absent or not 16 hex digits
 * (LiteFS then forwards the read without waiting).
 */
export function parseTxidCookie(header: string | undefined): number {
  if (header === undefined) return 0;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim() !== TXID_COOKIE) continue;
    const value = part
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, "$1");
    if (!/^[0-9a-fA-F]{16}$/.test(value)) return 0;
    const txid = Number.parseInt(value, 16);
    return Number.isSafeInteger(txid) ? txid : 0;
  }
  return 0;
}

/**
 * Waits until `db` on `node` is at `txid` or beyond. True when it is (at once when the
 * database does not exist here yet, as LiteFS); false after `timeoutMs` or when `signal` fires.
 */
export function waitForTxid(node: ClusterNode, db: string, txid: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const reached = () => {
    const database = node.store.get(db);
    return database === undefined || database.position.txid >= txid;
  };
  if (reached()) return Promise.resolve(true);
  return new Promise((resolve) => {
    let finished = false;
    const finish = (ok: boolean) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      unsubscribe();
      signal?.removeEventListener("abort", onAbort);
      resolve(ok);
    };
    const onAbort = () => finish(false);
    const unsubscribe = node.events.subscribe((event) => {
      if ((event.type === "tx" && event.db === db) || event.type === "databases") {
        if (reached()) finish(true);
      }
    });
    const timer = setTimeout(() => finish(reached()), timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Who takes writes: this node, a primary this replica is connected to, or nobody known. */
export type WriteTarget = { kind: "self" } | { kind: "primary"; primary: PrimaryInfo } | { kind: "none" };

/** Where a write goes now (LiteFS counts a primary as known only while connected to it). */
export function writeTarget(node: ClusterNode): WriteTarget {
  if (node.isPrimary) return { kind: "self" };
  const followed = node.followedPrimary;
  if (followed !== undefined && node.primaryHostname() !== null) return { kind: "primary", primary: followed };
  return { kind: "none" };
}

/** Waits up to `timeoutMs` (`proxy.primary-redirect-timeout`) for a write target other than "none". */
export function waitForWriteTarget(node: ClusterNode, timeoutMs: number, signal?: AbortSignal): Promise<WriteTarget> {
  const now = writeTarget(node);
  if (now.kind !== "none") return Promise.resolve(now);
  return new Promise((resolve) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearInterval(poll);
      unsubscribe();
      signal?.removeEventListener("abort", finish);
      resolve(writeTarget(node));
    };
    const check = () => {
      if (writeTarget(node).kind !== "none") finish();
    };
    const unsubscribe = node.events.subscribe((event) => {
      if (event.type === "primaryChange" || event.type === "lag" || event.type === "ready") check();
    });
    // Becoming writable after a handoff raises no event of its own: look now and then too.
    const poll = setInterval(check, 50);
    const timer = setTimeout(finish, timeoutMs);
    signal?.addEventListener("abort", finish, { once: true });
  });
}

/** `/litefs/health`'s verdict: healthy, or why not. */
export type Health = { ok: true } | { ok: false; reason: string };

/** Healthy: the primary, or a ready replica whose lag (time since the primary's last frame) is within `maxLagMs` (0: any lag, as LiteFS). */
export function health(node: ClusterNode, maxLagMs: number, now = Date.now()): Health {
  const refused = node.refused;
  if (refused !== undefined) return { ok: false, reason: `Not ready: ${refused.message}` };
  const lag = node.lag();
  if (lag.kind === "primary") return { ok: true };
  if (lag.kind === "syncing" || !node.ready) return { ok: false, reason: "Not ready: this replica has not caught up with a primary yet" };
  const ms = Math.max(0, now - lag.timestamp);
  if (maxLagMs > 0 && ms > maxLagMs) return { ok: false, reason: `Replication lag exceeded: ${ms} ms since the primary was last heard from, max-lag ${maxLagMs} ms` };
  return { ok: true };
}
