/** Unit tests of UploadPolicy: the throttle, the jittered exponential back-off and the probe. */
import { describe, expect, it } from "vitest";
import { RETRY_BASE_MS, RETRY_MAX_MS, UploadPolicy } from "./policy.js";

describe("UploadPolicy", () => {
  it("allows an upload at once after a quiet spell, then at most one per sync interval unless urgent", () => {
    const p = new UploadPolicy(1000);
    expect(p.nextAt(false)).toBeLessThanOrEqual(0);
    p.uploaded(50_000);
    expect(p.nextAt(false)).toBe(51_000);
    // A sync() caller or a backlog skips the throttle.
    expect(p.nextAt(true)).toBeLessThanOrEqual(50_000);
    // Quiet for longer than the interval: the next upload may go at once.
    expect(p.nextAt(false)).toBeLessThanOrEqual(60_000);
  });

  it("backs off exponentially from 1 s to 30 s, jittered by ±25 %, for urgent passes too", () => {
    const now = 1_000_000;
    const bases: number[] = [];
    for (let failures = 1; failures <= 8; failures++) {
      const base = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (failures - 1));
      bases.push(base);
      for (const r of [0, 0.5, 0.999]) {
        const p = new UploadPolicy(1000);
        for (let i = 1; i < failures; i++) p.failed(now - 1, () => r);
        const delay = p.failed(now, () => r);
        expect(delay).toBeCloseTo(base * (0.75 + r * 0.5), 6);
        expect(p.failures).toBe(failures);
        expect(p.nextAt(true)).toBe(now + delay);
        expect(p.nextAt(false)).toBe(now + delay);
      }
    }
    expect(bases).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  });

  it("keeps every delay inside its bounds with real randomness", () => {
    const p = new UploadPolicy(1000);
    for (let failures = 1; failures <= 12; failures++) {
      const base = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (failures - 1));
      const delay = p.failed(0);
      expect(delay).toBeGreaterThanOrEqual(base * 0.75);
      expect(delay).toBeLessThanOrEqual(base * 1.25);
    }
  });

  it("a probe ends the back-off but keeps the failure count; a success resets both", () => {
    const p = new UploadPolicy(1000);
    p.uploaded(0);
    p.failed(10_000, () => 0.5);
    p.failed(10_000, () => 0.5);
    expect(p.nextAt(true)).toBe(12_000);
    p.probeSucceeded();
    expect(p.failures).toBe(2);
    expect(p.nextAt(true)).toBeLessThanOrEqual(10_000);
    // The throttle still applies to a non-urgent pass after the probe.
    expect(p.nextAt(false)).toBe(1000);
    // The next failure continues the sequence (4 s), since nothing was uploaded yet.
    expect(p.failed(20_000, () => 0.5)).toBe(4000);
    p.uploaded(30_000);
    expect(p.failures).toBe(0);
    expect(p.nextAt(true)).toBeLessThanOrEqual(30_000);
    expect(p.nextAt(false)).toBe(31_000);
    expect(p.failed(40_000, () => 0.5)).toBe(1000);
    p.succeeded();
    expect(p.failures).toBe(0);
    expect(p.nextAt(false)).toBe(31_000);
  });
});
