/**
 * `heartbeat-url` / `heartbeat-interval`: a GET to a dead man's switch (healthchecks.io,
 * Cronitor…) at most once per interval, and only while every database is replicated.
 */
import type { DatabaseStatus } from "@sqlrep/backup";
import type { Logger } from "@sqlrep/runtime";

/** Litestream v0.5's default interval. */
export const DEFAULT_HEARTBEAT_INTERVAL = 5 * 60_000;
/** Litestream v0.5 refuses a shorter interval. */
export const MIN_HEARTBEAT_INTERVAL = 60_000;
/** How often health is looked at (Litestream's heartbeat check interval). */
const CHECK_MS = 15_000;
/** A ping that takes longer is a failure (Litestream's heartbeat timeout). */
const PING_TIMEOUT_MS = 30_000;

/**
 * Whether every database is replicated: at least one database, each replicating (not
 * waiting for its file, not deleted), and on each replica no error since the last
 * upload and nothing committed more than `intervalMs` ago still missing.
 */
export function allReplicated(status: readonly DatabaseStatus[], intervalMs: number): boolean {
  if (status.length === 0) return false;
  return status.every((db) => db.state === "replicating" && db.replicas.every((r) => r.lastError === undefined && r.lagMs < intervalMs));
}

/** Options of {@link Heartbeat}. */
export interface HeartbeatOptions {
  url: string;
  intervalMs: number;
  /** The engine's status now. */
  status: () => DatabaseStatus[];
  logger: Logger;
  /** How often health is checked (15 s). */
  checkMs?: number;
}

/**
 * Pings `url` when the last ping is at least an interval old and every database is
 * replicated ({@link allReplicated}); the first check runs at `start`, then every
 * check interval. A failed ping is logged and counts as a ping (as in Litestream: the
 * endpoint is not retried faster than the interval).
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private lastPingAt = Number.NEGATIVE_INFINITY;
  private readonly abort = new AbortController();
  private inFlight: Promise<void> | undefined;

  constructor(private readonly options: HeartbeatOptions) {}

  /** Checks now, then every check interval. */
  start(): void {
    this.check();
    this.timer = setInterval(() => this.check(), this.options.checkMs ?? CHECK_MS);
    this.timer.unref();
  }

  /** Stops checking; a ping in flight is aborted. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.abort.abort();
    await this.inFlight;
  }

  private check(): void {
    const { intervalMs, url, logger } = this.options;
    if (this.inFlight !== undefined || Date.now() - this.lastPingAt < intervalMs) return;
    if (!allReplicated(this.options.status(), intervalMs)) return;
    this.lastPingAt = Date.now();
    this.inFlight = this.ping()
      .then(
        () => logger.debug("heartbeat ping sent", { url }),
        (err: unknown) => {
          if (!this.abort.signal.aborted) logger.error("heartbeat ping failed", { url, error: err instanceof Error ? err.message : String(err) });
        },
      )
      .finally(() => (this.inFlight = undefined));
  }

  private async ping(): Promise<void> {
    const response = await fetch(this.options.url, { method: "GET", signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(PING_TIMEOUT_MS)]) });
    await response.body?.cancel();
    if (response.status < 200 || response.status >= 300) throw new Error(`unexpected status code: ${response.status}`);
  }
}
