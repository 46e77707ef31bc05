// The virtual files' bytes, as LiteFS writes them, and errno mapping (no mount needed).
import { describe, expect, it } from "vitest";
import { errnoOf, FuseError, isFuseError } from "./errors.js";
import { formatLag, formatPosition, LAG_NOT_SYNCED } from "./virtual-files.js";

describe("virtual files", () => {
  it("<db>-pos is %016x/%016x\\n: 34 bytes", () => {
    const pos = formatPosition(0x1f, 0x8000000000000abcn);
    expect(pos).toBe("000000000000001f/8000000000000abc\n");
    expect(Buffer.byteLength(pos)).toBe(34);
    expect(formatPosition(0, 0n)).toBe("0000000000000000/0000000000000000\n");
    expect(() => formatPosition(-1, 0n)).toThrow(RangeError);
    expect(() => formatPosition(1, 1n << 64n)).toThrow(RangeError);
  });

  it(".lag is %+010d\\n, int32 max before the first sync", () => {
    expect(formatLag(0)).toBe("+000000000\n");
    expect(formatLag(1234)).toBe("+000001234\n");
    expect(formatLag(-5)).toBe("-000000005\n");
    expect(formatLag(LAG_NOT_SYNCED)).toBe("+2147483647\n");
    expect(formatLag(1e12)).toBe("+2147483647\n");
  });
});

describe("errnoOf", () => {
  it("maps a backend's refusal to what the calling process sees", () => {
    expect(errnoOf(new FuseError("read-only", "replica"))).toBe(13); // EACCES: SQLITE_READONLY
    expect(errnoOf(new FuseError("no-space", "full"))).toBe(28);
    expect(errnoOf(new FuseError("lock-timeout", "busy"))).toBe(11);
    expect(errnoOf(new FuseError("aborted", "signal"))).toBe(4);
    expect(errnoOf(Object.assign(new Error("disk"), { code: "ENOSPC" }))).toBe(28);
    expect(errnoOf(new Error("anything else"))).toBe(5);
    expect(errnoOf("not even an error")).toBe(5);
  });

  it("isFuseError checks the name and the code", () => {
    const err = new FuseError("exists", "x", { database: "a.db" });
    expect(isFuseError(err)).toBe(true);
    expect(isFuseError(err, "exists")).toBe(true);
    expect(isFuseError(err, "read-only")).toBe(false);
    expect(isFuseError(new Error("x"))).toBe(false);
    expect(err.database).toBe("a.db");
  });
});
