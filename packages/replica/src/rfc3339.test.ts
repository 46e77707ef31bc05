// Go's RFC3339Nano as Litestream writes timestamps: formatting, parsing with offsets and nanoseconds, round trips.
import { describe, expect, it } from "vitest";
import { formatRFC3339Nano, parseRFC3339 } from "./rfc3339.js";

describe("Go's RFC3339Nano", () => {
  it("formats in UTC with the fraction's trailing zeros trimmed", () => {
    expect(formatRFC3339Nano(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)))).toBe("2024-01-02T03:04:05.678Z");
    expect(formatRFC3339Nano(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 500)))).toBe("2024-01-02T03:04:05.5Z");
    expect(formatRFC3339Nano(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 120)))).toBe("2024-01-02T03:04:05.12Z");
    expect(formatRFC3339Nano(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 7)))).toBe("2024-01-02T03:04:05.007Z");
    expect(formatRFC3339Nano(new Date(Date.UTC(2024, 0, 2, 3, 4, 50, 0)))).toBe("2024-01-02T03:04:50Z");
    expect(formatRFC3339Nano(new Date(0))).toBe("1970-01-01T00:00:00Z");
  });

  it("parses what Go writes: nanoseconds (truncated to ms), offsets, no fraction", () => {
    expect(parseRFC3339("2024-01-02T03:04:05.678Z")?.getTime()).toBe(Date.UTC(2024, 0, 2, 3, 4, 5, 678));
    expect(parseRFC3339("2024-01-02T03:04:05.123456789Z")?.getTime()).toBe(Date.UTC(2024, 0, 2, 3, 4, 5, 123));
    expect(parseRFC3339("2024-01-02T03:04:05.9999Z")?.getTime()).toBe(Date.UTC(2024, 0, 2, 3, 4, 5, 999));
    expect(parseRFC3339("2024-01-02T03:04:05.5Z")?.getTime()).toBe(Date.UTC(2024, 0, 2, 3, 4, 5, 500));
    expect(parseRFC3339("2024-01-02T03:04:05Z")?.getTime()).toBe(Date.UTC(2024, 0, 2, 3, 4, 5));
    expect(parseRFC3339("2024-01-02T05:04:05.25+02:00")?.getTime()).toBe(Date.UTC(2024, 0, 2, 3, 4, 5, 250));
    expect(parseRFC3339("2024-01-01T22:34:05-04:30")?.getTime()).toBe(Date.UTC(2024, 0, 2, 3, 4, 5));
    expect(parseRFC3339("0099-03-01T00:00:00Z")?.getUTCFullYear()).toBe(99);
    expect(parseRFC3339("2024-02-29T00:00:00Z")?.getUTCDate()).toBe(29);
  });

  it("round-trips every millisecond value", () => {
    const base = Date.UTC(2025, 5, 30, 23, 59, 59, 0);
    for (let ms = 0; ms < 1000; ms++) {
      const text = formatRFC3339Nano(new Date(base + ms));
      expect(parseRFC3339(text)?.getTime()).toBe(base + ms);
    }
  });

  it("rejects text that is not RFC 3339", () => {
    for (const text of [
      "",
      "2024-01-02",
      "2024-01-02 03:04:05Z",
      "2024-01-02T03:04:05",
      "2024-01-02T03:04:05.Z",
      "2024-01-02T03:04:05.1234567890Z",
      "2024-13-02T03:04:05Z",
      "2023-02-29T03:04:05Z",
      "2024-01-02T24:00:00Z",
      "2024-01-02T03:60:05Z",
      "2024-01-02T03:04:60Z",
      "2024-01-02T03:04:05+24:00",
      "1704164645678",
    ]) {
      expect(parseRFC3339(text), text).toBeUndefined();
    }
  });
});
