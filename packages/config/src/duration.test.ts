/** Unit tests of parseDuration/formatDuration against Go's time.ParseDuration syntax: units, fractions, signs, hints for day/week. */
import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "./duration.js";
import { isConfigError } from "./errors.js";

describe("parseDuration", () => {
  it.each([
    ["0", 0],
    ["-0", 0],
    ["500ms", 500],
    ["1s", 1000],
    ["1m", 60_000],
    ["24h", 86_400_000],
    ["1h30m", 5_400_000],
    ["1h30m15s250ms", 5_415_250],
    ["1.5h", 5_400_000],
    [".5s", 500],
    ["1.s", 1000],
    ["-2m", -120_000],
    ["+3s", 3000],
    ["1500us", 1.5],
    ["1500µs", 1.5],
    ["2000000ns", 2],
  ])("%s = %d ms", (text, ms) => {
    expect(parseDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each([
    ["1d", /no day unit: write 24h/],
    ["7days", /no day unit/],
    ["2w", /no week unit/],
    ["10", /missing unit after 10/],
    ["1h30", /missing unit after 30/],
    ["", /expected a number and a unit/],
    ["s", /expected a number and a unit/],
    ["1 s", /unknown unit " s"/],
    ["1S", /unknown unit "S"/],
    ["1x", /unknown unit "x"/],
    ["5min", /write m for minutes/],
    [".s", /expected a number and a unit/],
    ["1e3s", /unknown unit "e"/],
  ])("rejects %j", (text, why) => {
    let caught: unknown;
    try {
      parseDuration(text);
    } catch (err) {
      caught = err;
    }
    expect(isConfigError(caught, "invalid-value")).toBe(true);
    expect((caught as Error).message).toContain(`invalid duration ${JSON.stringify(text)}`);
    expect((caught as Error).message).toMatch(why);
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0s"],
    [500, "500ms"],
    [1000, "1s"],
    [1500, "1.5s"],
    [60_000, "1m0s"],
    [5_400_000, "1h30m0s"],
    [86_400_000, "24h0m0s"],
    [-2000, "-2s"],
    [0.5, "500µs"],
  ])("%d ms → %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("round-trips through parseDuration", () => {
    for (const ms of [1, 999, 1000, 61_000, 3_600_000, 90_061_500]) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});
