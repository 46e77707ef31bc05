/** Polls a condition until it holds, for tests waiting on real processes and servers; a timeout says what was awaited and the last error. */
import { setTimeout as sleep } from "node:timers/promises";
import { TestkitError } from "./errors.js";

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this long (default 10 000 ms). */
  timeoutMs?: number;
  /** Pause between two calls of the predicate (default 25 ms). */
  intervalMs?: number;
  /** Names the awaited condition in the timeout error. */
  message?: string;
  signal?: AbortSignal;
}

/**
 * Calls `predicate` until it returns a truthy value and resolves with that value. A
 * predicate that throws counts as "not yet"; the last error becomes the `cause` of the
 * `TIMEOUT` error, so a test that times out still says why.
 */
export async function waitFor<T>(predicate: () => T | Promise<T>, options: WaitForOptions = {}): Promise<NonNullable<T>> {
  const { timeoutMs = 10_000, intervalMs = 25, message = "condition", signal } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    signal?.throwIfAborted();
    try {
      const value = await predicate();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      throw new TestkitError("TIMEOUT", `timed out after ${timeoutMs} ms waiting for ${message}`, { cause: lastError });
    }
    // Reject with the signal's reason (as throwIfAborted does), not the timer's AbortError.
    await sleep(Math.max(0, Math.min(intervalMs, deadline - Date.now())), undefined, { signal }).catch((error: unknown) => {
      signal?.throwIfAborted();
      throw error;
    });
  }
}
