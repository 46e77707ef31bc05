// LiteFS's renewal timing, shared by every backend: renew every TTL/2, retry a failed renew
// every second, step down before the store could have expired the lease, at once when the
// store says it is gone. One copy, tested on a fake clock (renewal.test.ts).
import { systemClock, type Clock } from "./clock.js";
import { describeError, LeaseError } from "./errors.js";

/** The three intervals of the renewal loop, in milliseconds. */
export interface RenewalTiming {
  /** Between successful renews: TTL/2. */
  renewIntervalMs: number;
  /** Between attempts after a failed renew: 1 s (LiteFS), or TTL/4 below a 4 s TTL. */
  retryIntervalMs: number;
  /**
   * Step down this long before the TTL runs out, counted from the start of the last
   * successful renew: 1 s (LiteFS), or TTL/4 below a 4 s TTL.
   */
  marginMs: number;
}

/**
 * The timing for a TTL. LiteFS's fixed 1 s margin and retry leave no room at all at a
 * 2 s TTL (the next renew would be due exactly at the step-down), so below 4 s both
 * shrink to TTL/4; from 4 s up they are LiteFS's.
 */
export function renewalTiming(ttlMs: number): RenewalTiming {
  const step = Math.min(1_000, ttlMs / 4);
  return { renewIntervalMs: ttlMs / 2, retryIntervalMs: step, marginMs: step };
}

/** What one renew attempt found: renewed, or the store says the lease no longer exists. A throw is a failed attempt. */
export type RenewOutcome = "renewed" | "gone";

/** Options of {@link LeaseKeeper}. */
export interface LeaseKeeperOptions {
  ttlMs: number;
  /** `clock.now()` at the start of the request that acquired (or last renewed) the lease. */
  renewedAt: number;
  /** One renew attempt. `signal` fires when the keeper stops or the deadline passes. */
  renew(signal: AbortSignal): Promise<RenewOutcome>;
  /** Names the lease in messages: `etcd lease 7587 on /litefs/a`. */
  describe: string;
  clock?: Clock;
  /** Called once when the keeper steps down by itself (deadline passed or lease gone), after the signal fired. */
  onLost?(reason: LeaseError): void;
}

const abortedGetter = Object.getOwnPropertyDescriptor(AbortSignal.prototype, "aborted")!.get!;

/**
 * Keeps a held lease alive and owns its signal. The deadline is measured from the *start*
 * of the last successful renew, so a slow answer eats into the margin, never past it:
 * the signal fires before the store can have handed the lease to someone else.
 */
export class LeaseKeeper {
  readonly signal: AbortSignal;
  readonly timing: RenewalTiming;
  private readonly controller = new AbortController();
  private readonly clock: Clock;
  private lastRenewStart: number;
  private renewTimer: unknown;
  private deadlineTimer: unknown;
  private inFlight: Promise<void> | undefined;
  private lastFailure: unknown;
  private stopped = false;

  constructor(private readonly options: LeaseKeeperOptions) {
    this.clock = options.clock ?? systemClock;
    this.timing = renewalTiming(options.ttlMs);
    this.lastRenewStart = options.renewedAt;
    this.signal = this.controller.signal;
    // A frozen process (SIGSTOP, a long pause) may run some other timer before the
    // deadline's: reading the signal checks the clock itself, so it never says "still
    // primary" past the deadline.
    Object.defineProperty(this.signal, "aborted", {
      configurable: true,
      get: () => {
        this.checkDeadline();
        return abortedGetter.call(this.signal) as boolean;
      },
    });
    const throwIfAborted = AbortSignal.prototype.throwIfAborted;
    Object.defineProperty(this.signal, "throwIfAborted", {
      configurable: true,
      value: () => {
        this.checkDeadline();
        throwIfAborted.call(this.signal);
      },
    });
    this.armDeadline();
    this.scheduleRenew(this.timing.renewIntervalMs - (this.clock.now() - this.lastRenewStart));
  }

  /** `clock.now()` at the start of the last successful renew. */
  get renewedAt(): number {
    return this.lastRenewStart;
  }

  /** When the store may expire the lease (`clock.now()` scale). */
  get expiresAt(): number {
    return this.lastRenewStart + this.options.ttlMs;
  }

  /** When this holder steps down unless a renew succeeds first (`clock.now()` scale). */
  get deadline(): number {
    return this.expiresAt - this.timing.marginMs;
  }

  /** Whether the signal has fired (without consulting the clock). */
  get ended(): boolean {
    return this.stopped;
  }

  /**
   * Renews now (joining a renew already under way). Rejects with the signal's reason
   * once the lease has ended, with `LeaseError("lost")` when the store says it is gone,
   * and with the attempt's error when the store could not be reached (the loop goes on
   * retrying until the deadline).
   */
  async renewNow(): Promise<void> {
    this.checkDeadline();
    if (this.stopped) throw this.signal.reason;
    await (this.inFlight ?? this.attempt());
    if (this.stopped) throw this.signal.reason;
    if (this.lastFailure !== undefined) throw this.lastFailure;
  }

  /** Ends the lease from the holder's side (release, handoff, close): timers stop, the signal fires with `reason`. */
  stop(reason: LeaseError): void {
    this.end(reason, false);
  }

  private checkDeadline(): void {
    if (!this.stopped && this.clock.now() >= this.deadline) this.stepDownForDeadline();
  }

  private stepDownForDeadline(): void {
    const since = Math.round(this.clock.now() - this.lastRenewStart);
    const last = this.lastFailure === undefined ? "" : `; last renew error: ${describeError(this.lastFailure)}`;
    this.end(
      new LeaseError("lost", `${this.options.describe}: not renewed for ${since} ms (TTL ${this.options.ttlMs} ms, stepping down ${this.timing.marginMs} ms early)${last}`, {
        cause: this.lastFailure,
      }),
      true,
    );
  }

  private end(reason: LeaseError, lost: boolean): void {
    if (this.stopped) return;
    this.stopped = true;
    this.clock.clearTimeout(this.renewTimer);
    this.clock.clearTimeout(this.deadlineTimer);
    this.controller.abort(reason);
    if (lost) this.options.onLost?.(reason);
  }

  private armDeadline(): void {
    this.clock.clearTimeout(this.deadlineTimer);
    this.deadlineTimer = this.clock.setTimeout(() => this.checkDeadline(), this.deadline - this.clock.now());
  }

  private scheduleRenew(ms: number): void {
    this.clock.clearTimeout(this.renewTimer);
    if (this.stopped) return;
    this.renewTimer = this.clock.setTimeout(() => {
      if (!this.inFlight) void this.attempt();
    }, ms);
  }

  private attempt(): Promise<void> {
    const started = this.clock.now();
    const attemptAbort = new AbortController();
    const onStop = () => attemptAbort.abort(this.signal.reason);
    this.controller.signal.addEventListener("abort", onStop, { once: true });
    // An attempt that is still running at the deadline cannot help any more.
    const cutoff = this.clock.setTimeout(
      () => attemptAbort.abort(new LeaseError("lost", `${this.options.describe}: renew still unanswered at the deadline`)),
      this.deadline - started,
    );
    const run = (async () => {
      let outcome: RenewOutcome | undefined;
      try {
        outcome = await this.options.renew(attemptAbort.signal);
        this.lastFailure = undefined;
      } catch (error) {
        this.lastFailure = error;
      } finally {
        this.clock.clearTimeout(cutoff);
        this.controller.signal.removeEventListener("abort", onStop);
      }
      this.checkDeadline();
      if (this.stopped) return;
      if (outcome === "gone") {
        this.end(new LeaseError("lost", `${this.options.describe}: the store says the lease no longer exists`), true);
      } else if (outcome === "renewed") {
        this.lastRenewStart = Math.max(this.lastRenewStart, started);
        this.armDeadline();
        this.scheduleRenew(this.timing.renewIntervalMs - (this.clock.now() - started));
      } else {
        this.scheduleRenew(this.timing.retryIntervalMs);
      }
    })();
    this.inFlight = run.finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }
}
