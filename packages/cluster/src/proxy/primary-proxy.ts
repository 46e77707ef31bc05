/**
 * Finding the primary's proxy from a replica. The lease carries only the primary's API
 * URL (`lease.advertise-url`), so each proxy publishes its own URL in its node's `/info`
 * (`proxyURL`) and a replica asks the primary's `/info` once per primary. When the primary
 * publishes none (an older node, or a proxy that started later), the guess is the
 * advertise URL's host with this proxy's own port (the usual case: every node alike).
 */
import type { PrimaryInfo } from "@sqlrep/lease";
import { describeError } from "../errors.js";
import { peerRequest } from "../http/peer.js";
import type { ClusterNode } from "../roles/node.js";
import type { Upstream } from "./forward.js";

/** Where the primary's proxy is, and how that was learnt. */
export interface PrimaryProxy {
  readonly url: string;
  readonly upstream: Upstream;
  readonly source: "option" | "info" | "guess";
}

const GUESS_TTL_MS = 5_000;

/** Remembers each primary's proxy URL (by the primary's advertise URL and lease epoch). */
export class PrimaryProxyLocator {
  private readonly cache = new Map<string, { proxy: PrimaryProxy; at: number }>();

  constructor(
    private readonly node: ClusterNode,
    private readonly ownPort: () => number,
    private readonly override: ((primary: PrimaryInfo) => string | undefined) | undefined,
  ) {}

  /** The proxy of `primary`. */
  async locate(primary: PrimaryInfo, signal?: AbortSignal): Promise<PrimaryProxy> {
    const fixed = this.override?.(primary);
    if (fixed !== undefined) return toProxy(fixed, "option");
    const key = cacheKey(primary);
    const known = this.cache.get(key);
    // A guess is asked again after a while: the primary's proxy may publish itself later.
    if (known !== undefined && (known.proxy.source === "info" || Date.now() - known.at < GUESS_TTL_MS)) return known.proxy;
    let found: PrimaryProxy | undefined;
    try {
      const res = await peerRequest(primary.advertiseURL, this.node.identity, { method: "GET", path: "/info", signal, timeoutMs: 3_000 });
      if (res.status === 200) {
        const info = JSON.parse(Buffer.from(res.body).toString("utf8")) as { proxyURL?: unknown };
        if (typeof info.proxyURL === "string" && info.proxyURL !== "") found = toProxy(info.proxyURL, "info");
      }
    } catch (err) {
      this.node.logger.debug("proxy: the primary's /info did not answer; guessing its proxy's address", { primary: primary.advertiseURL, error: describeError(err) });
    }
    if (found === undefined) {
      const host = new URL(primary.advertiseURL).hostname;
      found = toProxy(`http://${host.includes(":") ? `[${host}]` : host}:${this.ownPort()}`, "guess");
    }
    this.cache.set(key, { proxy: found, at: Date.now() });
    return found;
  }

  /** Forgets what was learnt about `primary` (its proxy did not answer). */
  forget(primary: PrimaryInfo): void {
    this.cache.delete(cacheKey(primary));
  }
}

function cacheKey(primary: PrimaryInfo): string {
  return `${primary.advertiseURL} ${primary.epoch ?? ""}`;
}

function toProxy(url: string, source: PrimaryProxy["source"]): PrimaryProxy {
  const parsed = new URL(url);
  const port = parsed.port === "" ? 80 : Number(parsed.port);
  return { url: url.replace(/\/+$/, ""), upstream: { host: parsed.hostname.replace(/^\[|\]$/g, ""), port }, source };
}
