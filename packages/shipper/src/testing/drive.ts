/**
 * Driving a shipper on a ManualClock: the time only moves when a test says so, while
 * the replica's real I/O runs on the event loop in between.
 */
import type { ManualClock } from "../clock.js";
import type { FaultyClient } from "./faulty-client.js";

/** Real time a test waits for the replica's I/O before it calls the shipper stuck (the machine may be busy). */
const PATIENCE_MS = 4000;

function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Runs what is due now (timers of 0 ms included) and lets the replica's requests finish,
 * until nothing is in flight for a few turns of the event loop: the shipper is idle or
 * waits for a later time.
 */
export async function settle(clock: ManualClock, client: FaultyClient): Promise<void> {
  let idle = 0;
  for (const deadline = Date.now() + PATIENCE_MS; Date.now() < deadline; ) {
    clock.advance(0);
    await turn();
    idle = client.inFlight === 0 ? idle + 1 : 0;
    if (idle >= 4) return;
  }
  throw new Error(`the shipper did not settle in ${PATIENCE_MS} ms (${client.inFlight} requests in flight)`);
}

/** Settles, then moves the clock `ms` forward in steps of `stepMs`, settling after each. */
export async function elapse(clock: ManualClock, client: FaultyClient, ms: number, stepMs = 100): Promise<void> {
  await settle(clock, client);
  for (let done = 0; done < ms; ) {
    const step = Math.min(stepMs, ms - done);
    clock.advance(step);
    done += step;
    await settle(clock, client);
  }
}

/** Settles until `promise` is settled (time does not move); its outcome. */
export async function until<T>(clock: ManualClock, promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  promise.then(
    (value) => (outcome = { ok: true, value }),
    (error: unknown) => (outcome = { ok: false, error }),
  );
  for (const deadline = Date.now() + PATIENCE_MS; outcome === undefined && Date.now() < deadline; ) {
    clock.advance(0);
    await turn();
  }
  if (outcome === undefined) throw new Error(`the promise did not settle in ${PATIENCE_MS} ms without the clock moving`);
  return outcome;
}

/** Runs event-loop turns (the clock does not move) until `cond` holds. */
export async function waitUntil(cond: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + PATIENCE_MS; !cond(); ) {
    if (Date.now() > deadline) throw new Error(`waited ${PATIENCE_MS} ms for ${what}`);
    await turn();
  }
}

/** Whether `promise` is still pending after the event loop has run a few turns. */
export async function pending(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await turn();
  return !done;
}
