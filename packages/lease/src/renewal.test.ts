// LiteFS's renewal timing on a fake clock: when renews happen, when a holder steps down.
import { describe, expect, it } from "vitest";
import { isLeaseError, LeaseError } from "./errors.js";
import { LeaseKeeper, renewalTiming, type RenewOutcome } from "./renewal.js";
import { FakeClock } from "./testing/fake-clock.js";

/** A scripted store: each renew answers with the next behaviour; records when renews started. */
function store(clock: FakeClock, script: (n: number) => RenewOutcome | Error | { delayMs: number; outcome: RenewOutcome | Error }) {
  const starts: number[] = [];
  return {
    starts,
    renew: async (signal: AbortSignal): Promise<RenewOutcome> => {
      starts.push(clock.now());
      let step = script(starts.length);
      if (typeof step === "object" && "delayMs" in step) {
        const { delayMs, outcome } = step;
        await new Promise<void>((resolve, reject) => {
          const t = clock.setTimeout(resolve, delayMs);
          signal.addEventListener("abort", () => {
            clock.clearTimeout(t);
            reject(signal.reason);
          });
        });
        step = outcome;
      }
      if (step instanceof Error) throw step;
      return step;
    },
  };
}

function keeper(clock: FakeClock, ttlMs: number, renew: (s: AbortSignal) => Promise<RenewOutcome>) {
  const lost: LeaseError[] = [];
  const k = new LeaseKeeper({ ttlMs, renewedAt: clock.now(), renew, describe: "test lease", clock, onLost: (r) => lost.push(r) });
  return { k, lost };
}

describe("renewalTiming", () => {
  it("is LiteFS's from a 4 s TTL up: renew every TTL/2, retry every 1 s, step down 1 s early", () => {
    expect(renewalTiming(10_000)).toEqual({ renewIntervalMs: 5_000, retryIntervalMs: 1_000, marginMs: 1_000 });
    expect(renewalTiming(4_000)).toEqual({ renewIntervalMs: 2_000, retryIntervalMs: 1_000, marginMs: 1_000 });
  });
  it("shrinks retry and margin to TTL/4 below 4 s, so a 2 s TTL keeps room for a retry", () => {
    expect(renewalTiming(2_000)).toEqual({ renewIntervalMs: 1_000, retryIntervalMs: 500, marginMs: 500 });
  });
});

describe("LeaseKeeper", () => {
  it("renews every TTL/2 while the store answers, and never fires the signal", async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const s = store(clock, () => "renewed");
    const { k } = keeper(clock, 10_000, s.renew);
    await clock.advance(31_000);
    expect(s.starts.map((t) => t - t0)).toEqual([5_000, 10_000, 15_000, 20_000, 25_000, 30_000]);
    expect(k.signal.aborted).toBe(false);
    expect(k.renewedAt - t0).toBe(30_000);
    k.stop(new LeaseError("released", "done"));
  });

  it("after a failed renew retries every second and steps down once last renew + 1 s would exceed the TTL", async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const s = store(clock, (n) => (n === 1 ? "renewed" : new Error("connection refused")));
    const { k, lost } = keeper(clock, 10_000, s.renew);
    await clock.advance(5_000); // renewed at +5 s: the deadline is now +5 + 10 - 1 = +14 s
    await clock.advance(8_999);
    expect(k.signal.aborted).toBe(false);
    expect(s.starts.map((t) => t - t0)).toEqual([5_000, 10_000, 11_000, 12_000, 13_000]);
    await clock.advance(1);
    expect(clock.now() - t0).toBe(14_000);
    expect(lost).toHaveLength(1);
    const reason = k.signal.reason as LeaseError;
    expect(isLeaseError(reason, "lost")).toBe(true);
    expect(reason.message).toMatch(/test lease: not renewed for 9000 ms \(TTL 10000 ms, stepping down 1000 ms early\); last renew error: connection refused/);
    const before = s.starts.length;
    await clock.advance(20_000);
    expect(s.starts.length).toBe(before); // no renew after stepping down
  });

  it("recovers when a retry succeeds before the deadline, and goes back to TTL/2", async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const s = store(clock, (n) => (n === 2 || n === 3 ? new Error("unavailable") : "renewed"));
    const { k } = keeper(clock, 10_000, s.renew);
    await clock.advance(20_000);
    expect(s.starts.map((t) => t - t0)).toEqual([5_000, 10_000, 11_000, 12_000, 17_000]);
    expect(k.signal.aborted).toBe(false);
    k.stop(new LeaseError("released", "done"));
  });

  it("steps down at once when the store says the lease is gone", async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const s = store(clock, () => "gone");
    const { k, lost } = keeper(clock, 10_000, s.renew);
    await clock.advance(5_000);
    expect(clock.now() - t0).toBe(5_000);
    expect(k.signal.aborted).toBe(true);
    expect((k.signal.reason as LeaseError).message).toMatch(/the store says the lease no longer exists/);
    expect(lost).toHaveLength(1);
  });

  it("measures the deadline from the start of a renew, so a slow answer cannot stretch it", async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    // Each renew takes 3 s to answer: the deadline follows the request's start, not its answer.
    const s = store(clock, () => ({ delayMs: 3_000, outcome: "renewed" }));
    const { k } = keeper(clock, 10_000, s.renew);
    await clock.advance(8_000);
    expect(k.renewedAt - t0).toBe(5_000);
    expect(k.deadline - t0).toBe(14_000);
  });

  it("gives up on a renew still unanswered at the deadline", async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const s = store(clock, () => ({ delayMs: 60_000, outcome: "renewed" }));
    const { k } = keeper(clock, 10_000, s.renew);
    await clock.advance(9_000);
    expect(k.signal.aborted).toBe(true);
    expect(clock.now() - t0).toBe(9_000);
    expect(s.starts).toHaveLength(1);
  });

  it("with a 2 s TTL renews every second and retries every 500 ms before stepping down at 1.5 s", async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const s = store(clock, (n) => (n <= 2 ? "renewed" : new Error("down")));
    const { k } = keeper(clock, 2_000, s.renew);
    await clock.advance(3_499);
    expect(s.starts.map((t) => t - t0)).toEqual([1_000, 2_000, 3_000]);
    expect(k.signal.aborted).toBe(false);
    await clock.advance(1);
    expect(k.signal.aborted).toBe(true); // renewed at +2 s: 2 + 2 - 0.5 = +3.5 s
  });

  it("reports the signal fired to a frozen process that reads it before any timer ran", async () => {
    const clock = new FakeClock();
    const s = store(clock, () => "renewed");
    const { k, lost } = keeper(clock, 10_000, s.renew);
    clock.jump(60_000); // SIGSTOP for a minute: no timer has run
    expect(lost).toHaveLength(0);
    expect(k.signal.aborted).toBe(true);
    expect(lost).toHaveLength(1);
    expect(() => k.signal.throwIfAborted()).toThrow(/not renewed for 60000 ms/);
  });

  it("renewNow renews at once, joins a renew under way, and rejects with the reason once ended", async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const s = store(clock, (n) => (n === 3 ? "gone" : "renewed"));
    const { k } = keeper(clock, 10_000, s.renew);
    await clock.advance(1_000);
    await k.renewNow();
    expect(k.renewedAt - t0).toBe(1_000);
    await Promise.all([k.renewNow(), k.renewNow()]);
    expect(s.starts).toHaveLength(2);
    await clock.advance(6_000); // the scheduled renew at +6 s says "gone"
    expect(k.signal.aborted).toBe(true);
    await expect(k.renewNow()).rejects.toSatisfy((e: unknown) => isLeaseError(e, "lost"));
  });

  it("renewNow surfaces a failed attempt but keeps the lease until the deadline", async () => {
    const clock = new FakeClock();
    const s = store(clock, () => new Error("timeout"));
    const { k } = keeper(clock, 10_000, s.renew);
    await expect(k.renewNow()).rejects.toThrow("timeout");
    expect(k.signal.aborted).toBe(false);
    await clock.advance(9_000);
    expect(k.signal.aborted).toBe(true);
  });
});
