/** checkReadRange: the offsets and lengths a ranged read accepts, and the error it names the key in. */
import { describe, expect, it } from "vitest";
import { isReplicaError } from "./errors.js";
import { checkReadRange } from "./read-range.js";

describe("checkReadRange", () => {
  it("accepts offset 0 and up, with no length, a length of 0 or more", () => {
    expect(() => checkReadRange(0, undefined, "k")).not.toThrow();
    expect(() => checkReadRange(7, 0, "k")).not.toThrow();
    expect(() => checkReadRange(Number.MAX_SAFE_INTEGER, 4096, "k")).not.toThrow();
  });

  it.each([
    [-1, undefined],
    [1.5, undefined],
    [Number.NaN, undefined],
    [2 ** 53, undefined],
    [0, -1],
    [0, 0.5],
    [0, Number.POSITIVE_INFINITY],
  ])("refuses offset %s length %s with invalid-config naming the key", (offset, length) => {
    let caught: unknown;
    try {
      checkReadRange(offset, length, "ltx/0/x.ltx");
    } catch (err) {
      caught = err;
    }
    expect(isReplicaError(caught, "invalid-config")).toBe(true);
    expect((caught as Error).message).toBe(`invalid byte range offset=${offset} length=${length} for ltx/0/x.ltx`);
    expect((caught as { key?: string }).key).toBe("ltx/0/x.ltx");
  });
});
