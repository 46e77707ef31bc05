/** Unit tests of the CLI's output formats (tables, times, sizes) and of parsing `-txid` and `-timestamp`. */
import { describe, expect, it } from "vitest";
import { formatBytes, formatTable, formatTime, parseTimestampFlag, parseTxidFlag } from "./format.js";

describe("format", () => {
  it("pads tables like Go's tabwriter", () => {
    expect(
      formatTable([
        ["level", "size"],
        ["0", "4096"],
        ["10", "1"],
      ]),
    ).toBe("level  size\n0      4096\n10     1\n");
  });

  it("prints times and sizes", () => {
    expect(formatTime(new Date("2024-05-01T10:00:00.123Z"))).toBe("2024-05-01T10:00:00Z");
    expect(formatTime(undefined)).toBe("-");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(5 * 1024 * 1024)).toBe("5.0 MiB");
  });

  it("parses -txid as hex of up to 16 digits", () => {
    expect(parseTxidFlag("000000000000002a")).toBe(42);
    expect(parseTxidFlag("2A")).toBe(42);
    expect(parseTxidFlag("0x10")).toBe(16);
    expect(parseTxidFlag("001fffffffffffff")).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => parseTxidFlag("xyz")).toThrow('invalid -txid "xyz": expected a transaction ID in hex, up to 16 digits');
    expect(() => parseTxidFlag("00000000000000001")).toThrow("up to 16 digits");
    expect(() => parseTxidFlag("0")).toThrow("transaction IDs start at 1");
    expect(() => parseTxidFlag("0020000000000000")).toThrow("beyond 2^53-1");
  });

  it("parses -timestamp as RFC 3339 only", () => {
    expect(parseTimestampFlag("2024-05-01T10:00:00Z").toISOString()).toBe("2024-05-01T10:00:00.000Z");
    expect(parseTimestampFlag("2024-05-01T12:00:00.5+02:00").toISOString()).toBe("2024-05-01T10:00:00.500Z");
    expect(parseTimestampFlag("2024-05-01T10:00:00.123456789Z").toISOString()).toBe("2024-05-01T10:00:00.123Z");
    for (const bad of ["2024-05-01", "2024-05-01 10:00:00Z", "yesterday", "2024-13-01T10:00:00Z", "1714557600"]) {
      expect(() => parseTimestampFlag(bad)).toThrow(/expected RFC 3339/);
    }
  });
});
