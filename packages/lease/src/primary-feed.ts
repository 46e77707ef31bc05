// Turns a backend's push source of primary changes (an etcd watch, Consul blocking queries)
// into the `watchPrimary()` async iterable: the current primary first, then every change.
import type { PrimaryInfo } from "./contract.js";
import { LeaseError } from "./errors.js";

/** Pushes what the store reports; `fail` ends the iteration with an error. */
export interface PrimarySink {
  push(primary: PrimaryInfo | undefined): void;
  fail(error: unknown): void;
}

/**
 * Runs `source(sink, signal)` while the consumer iterates. Consecutive equal values
 * (same hostname, URL and epoch) are dropped; every other change is queued in order, so a
 * consumer never misses an intermediate "no primary". `source` stops when `signal` fires
 * (the consumer stopped, `options.signal` fired or `closed` fired).
 */
export function primaryFeed(
  source: (sink: PrimarySink, signal: AbortSignal) => void | Promise<void>,
  options: { signal?: AbortSignal | undefined; closed?: AbortSignal | undefined } = {},
): AsyncIterable<PrimaryInfo | undefined> {
  return {
    [Symbol.asyncIterator]() {
      const stop = new AbortController();
      const outer = [options.signal, options.closed].filter((s): s is AbortSignal => s !== undefined);
      const signal = AbortSignal.any([stop.signal, ...outer]);
      const queue: (PrimaryInfo | undefined)[] = [];
      let last: PrimaryInfo | undefined | null = null; // null: nothing pushed yet
      let failure: { error: unknown } | undefined;
      let wake: (() => void) | undefined;
      const notify = () => {
        wake?.();
        wake = undefined;
      };
      signal.addEventListener("abort", notify, { once: true });
      const sink: PrimarySink = {
        push(primary) {
          if (signal.aborted || (last !== null && samePrimary(last, primary))) return;
          last = primary;
          queue.push(primary);
          notify();
        },
        fail(error) {
          failure ??= { error };
          notify();
        },
      };
      let started = false;
      return {
        async next(): Promise<IteratorResult<PrimaryInfo | undefined>> {
          if (!started) {
            started = true;
            Promise.resolve()
              .then(() => source(sink, signal))
              .catch((error: unknown) => sink.fail(error));
          }
          for (;;) {
            if (queue.length > 0) return { value: queue.shift(), done: false };
            if (failure) {
              stop.abort();
              throw failure.error;
            }
            if (signal.aborted) return { value: undefined, done: true };
            await new Promise<void>((resolve) => (wake = resolve));
          }
        },
        async return(): Promise<IteratorResult<PrimaryInfo | undefined>> {
          stop.abort();
          return { value: undefined, done: true };
        },
      };
    },
  };
}

/** Same holder: hostname, advertise URL and epoch. */
export function samePrimary(a: PrimaryInfo | undefined, b: PrimaryInfo | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.hostname === b.hostname && a.advertiseURL === b.advertiseURL && a.epoch === b.epoch;
}

/** Parses the JSON value LiteFS stores under the lease key: `{"hostname": …, "advertise-url": …}`. */
export function parsePrimaryValue(text: string, where: string): PrimaryInfo {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new LeaseError("store", `${where}: the primary's value is not JSON: ${JSON.stringify(text.slice(0, 80))}`, { cause: error, key: where });
  }
  const record = value as Record<string, unknown>;
  if (typeof value !== "object" || value === null || typeof record["hostname"] !== "string" || typeof record["advertise-url"] !== "string") {
    throw new LeaseError("store", `${where}: the primary's value lacks "hostname" or "advertise-url": ${text.slice(0, 200)}`, { key: where });
  }
  return { hostname: record["hostname"], advertiseURL: record["advertise-url"] };
}

/** The JSON value LiteFS stores under the lease key for this node. */
export function formatPrimaryValue(info: { hostname: string; advertiseURL: string }): string {
  return JSON.stringify({ hostname: info.hostname, "advertise-url": info.advertiseURL });
}
