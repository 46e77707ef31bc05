// The clock the renewal timing runs on: monotonic time and timers, swappable for a fake in tests.

/** Monotonic milliseconds and timers. */
export interface Clock {
  /** Monotonic milliseconds (never jumps with the wall clock). */
  now(): number;
  /** Milliseconds since the epoch, for `Date`s shown to users. */
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The process clock: `performance.now()` and Node's timers (unref'd: a lease alone never keeps a process alive). */
export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout(fn, ms) {
    const timer = setTimeout(fn, Math.max(0, ms));
    timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
