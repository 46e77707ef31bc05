// The values PRAGMA litestream_time accepts, and the text it answers with.
import { describe, expect, it } from "vitest";
import { isVfsError } from "./errors.js";
import { formatTime, parseTimeValue } from "./time-value.js";

const now = new Date("2025-03-15T12:00:00.000Z");

describe("parseTimeValue", () => {
  it.each([
    ["2024-05-01T10:00:00Z", "2024-05-01T10:00:00.000Z"],
    ["2024-05-01T10:00:00.123456789Z", "2024-05-01T10:00:00.123Z"],
    ["2024-05-01T12:00:00+02:00", "2024-05-01T10:00:00.000Z"],
    ["2024-05-01 10:00:00.5Z", "2024-05-01T10:00:00.500Z"],
    ["5 minutes ago", "2025-03-15T11:55:00.000Z"],
    ["2 hours ago", "2025-03-15T10:00:00.000Z"],
    ["an hour ago", "2025-03-15T11:00:00.000Z"],
    ["30s ago", "2025-03-15T11:59:30.000Z"],
    ["3 days ago", "2025-03-12T12:00:00.000Z"],
    ["1 month ago", "2025-02-15T12:00:00.000Z"],
    ["yesterday", "2025-03-14T12:00:00.000Z"],
    ["now", "2025-03-15T12:00:00.000Z"],
  ])("%s", (text, iso) => {
    expect(parseTimeValue(text, now)?.toISOString()).toBe(iso);
  });

  it("latest (any case) follows the replica", () => {
    expect(parseTimeValue("latest", now)).toBeUndefined();
    expect(parseTimeValue("LATEST", now)).toBeUndefined();
  });

  it.each(["tomorrow-ish", "2024-13-01T00:00:00Z", "5 fortnights ago", "12345"])("refuses %s, naming it", (text) => {
    let err: unknown;
    try {
      parseTimeValue(text, now);
    } catch (e) {
      err = e;
    }
    expect(isVfsError(err, "time")).toBe(true);
    expect((err as Error).message).toContain(JSON.stringify(text));
  });
});

describe("formatTime", () => {
  it("is RFC 3339 with the fraction's trailing zeros dropped", () => {
    expect(formatTime(new Date("2024-05-01T10:00:00.000Z"))).toBe("2024-05-01T10:00:00Z");
    expect(formatTime(new Date("2024-05-01T10:00:00.120Z"))).toBe("2024-05-01T10:00:00.12Z");
    expect(formatTime(new Date("2024-05-01T10:00:10.000Z"))).toBe("2024-05-01T10:00:10Z");
  });
});
