/** Unit tests of RetentionPlan on a simulated stream of compactions: runs spaced by l0Retention, never early, retried after failure. */
import { describe, expect, it } from "vitest";
import { RetentionPlan } from "./retention-plan.js";

const MIN = 60_000;

/** Simulates a replica with a level-1 compaction every 30 s for `minutes`, then 15 idle minutes; returns the times retention ran. */
function simulate(plan: RetentionPlan, l0Retention: number, minutes: number): number[] {
  const runs: number[] = [];
  for (let t = 0; t <= (minutes + 15) * MIN; t += 1000) {
    if (t > 0 && t <= minutes * MIN && t % 30_000 === 0) {
      plan.request(t);
      plan.request(t + l0Retention);
    }
    const next = plan.next();
    if (next !== undefined && next <= t) {
      plan.started(t);
      runs.push(t);
    }
  }
  return runs;
}

describe("RetentionPlan", () => {
  it("asks for nothing until something is requested", () => {
    expect(new RetentionPlan(5 * MIN).next()).toBeUndefined();
  });

  it("under sustained compactions runs about once per l0Retention, and stops once they stop", () => {
    const plan = new RetentionPlan(5 * MIN);
    const runs = simulate(plan, 5 * MIN, 30);
    // 30 minutes of compactions: a run every 5 minutes (not every 15 s), the last one
    // at least l0Retention after the last compaction, then nothing.
    expect(runs.length).toBeGreaterThanOrEqual(7);
    expect(runs.length).toBeLessThanOrEqual(8);
    for (let i = 1; i < runs.length; i++) expect(runs[i]! - runs[i - 1]!).toBeGreaterThanOrEqual(5 * MIN);
    expect(runs.at(-1)).toBeGreaterThanOrEqual(30 * MIN + 5 * MIN);
    expect(runs.at(-1)).toBeLessThan(30 * MIN + 10 * MIN);
    expect(plan.next()).toBeUndefined();
  });

  it("never runs before a requested moment, and late by less than one step", () => {
    const plan = new RetentionPlan(2000);
    plan.request(10_500);
    expect(plan.next()).toBe(12_000);
    plan.request(100_000);
    plan.started(12_000);
    expect(plan.next()).toBe(100_000);
  });

  it("a short l0Retention still spaces runs by a second; a failed run is retried a step later", () => {
    const plan = new RetentionPlan(0);
    plan.request(1234);
    plan.request(1700);
    expect(plan.next()).toBe(2000);
    plan.started(2000);
    plan.failed(2000);
    expect(plan.next()).toBe(3000);
  });
});
