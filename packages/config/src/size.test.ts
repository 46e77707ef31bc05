/** Unit tests of parseByteSize: SI and IEC units as go-humanize reads them, and the values it rejects. */
import { describe, expect, it } from "vitest";
import { isConfigError } from "./errors.js";
import { parseByteSize } from "./size.js";

describe("parseByteSize", () => {
  it.each([
    ["4096", 4096],
    ["4096B", 4096],
    ["5MB", 5_000_000],
    ["5 mb", 5_000_000],
    ["64MiB", 64 * 1024 * 1024],
    ["1.5GiB", 1.5 * 1024 ** 3],
    ["2k", 2000],
    ["1Ki", 1024],
    ["1TB", 1e12],
  ])("%s = %d", (text, bytes) => {
    expect(parseByteSize(text)).toBe(bytes);
  });

  it.each(["", "MB", "5 XB", "1.5B", "-1MB", "1e6"])("rejects %j", (text) => {
    expect(() => parseByteSize(text)).toThrow(/invalid size/);
    try {
      parseByteSize(text);
    } catch (err) {
      expect(isConfigError(err, "invalid-value")).toBe(true);
    }
  });
});
