/** Unit tests of the shipper's timers: the real Scheduler (deadline order, cancel, errors, close) and ManualClock's advance. */
import { describe, expect, it } from "vitest";
import { ManualClock, Scheduler } from "./clock.js";

describe("Scheduler", () => {
  it("runs callbacks in deadline order on one timer, skips cancelled ones, reports errors", async () => {
    const errors: unknown[] = [];
    const s = new Scheduler((e) => errors.push(e));
    const order: string[] = [];
    s.schedule(30, () => order.push("c"));
    s.schedule(10, () => order.push("a"));
    const cancelled = s.schedule(15, () => order.push("x"));
    s.schedule(20, () => {
      order.push("b");
      throw new Error("boom");
    });
    cancelled.cancel();
    await new Promise((r) => setTimeout(r, 80));
    expect(order).toEqual(["a", "b", "c"]);
    expect(errors).toHaveLength(1);
    s.close();
    s.schedule(0, () => order.push("after close"));
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toHaveLength(3);
  });
});

describe("ManualClock", () => {
  it("runs due timers in deadline order, each at its own time, only when advanced", () => {
    const clock = new ManualClock(1000);
    const seen: [string, number][] = [];
    clock.schedule(50, () => seen.push(["b", clock.now()]));
    clock.schedule(10, () => {
      seen.push(["a", clock.now()]);
      clock.schedule(15, () => seen.push(["a+15", clock.now()]));
    });
    clock.schedule(500, () => seen.push(["late", clock.now()])).cancel();
    clock.advance(5);
    expect(seen).toEqual([]);
    clock.advance(100);
    expect(seen).toEqual([
      ["a", 1010],
      ["a+15", 1025],
      ["b", 1050],
    ]);
    expect(clock.now()).toBe(1105);
    expect(clock.pending).toBe(0);
  });
});
