/**
 * When a shipper may upload next: at once after a quiet spell, at most once per sync
 * interval under load, with jittered exponential back-off after failures. Pure: it
 * only reads the clock it is given.
 */

/** Back-off after the first failure, doubling up to {@link RETRY_MAX_MS}. */
export const RETRY_BASE_MS = 1000;
export const RETRY_MAX_MS = 30_000;

/** The throttle and back-off state of one replica. */
export class UploadPolicy {
  private lastUploadAt = Number.NEGATIVE_INFINITY;
  private backoffUntil = 0;
  private failuresValue = 0;

  constructor(readonly syncInterval: number) {}

  /** Consecutive failed passes (0 once one succeeds). */
  get failures(): number {
    return this.failuresValue;
  }

  /**
   * When the next pass may run: `urgent` (a `sync()` caller waits, a backlog is being
   * drained, the engine is stopping) skips the throttle but not the back-off, which
   * `probeSucceeded` ends early.
   */
  nextAt(urgent: boolean): number {
    const throttle = urgent ? Number.NEGATIVE_INFINITY : this.lastUploadAt + this.syncInterval;
    return Math.max(this.backoffUntil, throttle);
  }

  /** A pass uploaded something at `now`. */
  uploaded(now: number): void {
    this.lastUploadAt = now;
    this.succeeded();
  }

  /** A pass ran without failing. */
  succeeded(): void {
    this.failuresValue = 0;
    this.backoffUntil = 0;
  }

  /** A pass failed at `now`: returns the delay before the next try (1 s … 30 s, ±25 %). */
  failed(now: number, random = Math.random): number {
    this.failuresValue++;
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (this.failuresValue - 1)) * (0.75 + random() * 0.5);
    this.backoffUntil = now + delay;
    return delay;
  }

  /** The store answered again (a probe): the back-off ends now, the failure count stays until an upload succeeds. */
  probeSucceeded(): void {
    this.backoffUntil = 0;
  }
}
