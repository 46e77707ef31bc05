/** Unit tests of the S3 listing rules the test server follows: UTF-8 byte order, maxKeys counting prefixes, resume points, long delimiters. */
import { describe, expect, it } from "vitest";
import { compareS3Keys, listPage, sortS3Keys } from "./s3-listing.js";

describe("S3 listing rules", () => {
  it("orders by UTF-8 bytes, not UTF-16 code units", () => {
    // U+FF61 sorts before U+1F600 in UTF-8 and after it in UTF-16 (surrogates are D8xx).
    expect("\u{1F600}" < "\uFF61").toBe(true);
    expect(compareS3Keys("\u{1F600}", "\uFF61")).toBeGreaterThan(0);
    expect(sortS3Keys(["b", "\u{1F600}", "\uFF61", "a/", "a"])).toEqual(["a", "a/", "b", "\uFF61", "\u{1F600}"]);
  });

  const keys = sortS3Keys(["a/1", "a/2", "b", "c/x/1", "c/y", "d"]);

  it("counts keys and common prefixes together against maxKeys", () => {
    expect(listPage(keys, { prefix: "", delimiter: "/", after: undefined, maxKeys: 3 })).toEqual({
      keys: ["b"],
      commonPrefixes: ["a/", "c/"],
      truncated: true,
      last: "c/",
    });
    expect(listPage(keys, { prefix: "", delimiter: "/", after: "c/", maxKeys: 3 })).toEqual({
      keys: ["d"],
      commonPrefixes: [],
      truncated: false,
      last: "d",
    });
  });

  it("is not truncated when the page ends exactly at the last item", () => {
    expect(listPage(keys, { prefix: "c/", delimiter: "/", after: undefined, maxKeys: 2 })).toEqual({
      keys: ["c/y"],
      commonPrefixes: ["c/x/"],
      truncated: false,
      last: "c/y",
    });
  });

  it("skips a common prefix that starts at or before the resume point", () => {
    expect(listPage(keys, { prefix: "", delimiter: "/", after: "a/1", maxKeys: 10 }).commonPrefixes).toEqual(["c/"]);
  });

  it("takes delimiters longer than one character", () => {
    const page = listPage(sortS3Keys(["x--1--a", "x--1--b", "x--2", "y"]), { prefix: "x--", delimiter: "--", after: undefined, maxKeys: 10 });
    expect(page).toMatchObject({ keys: ["x--2"], commonPrefixes: ["x--1--"] });
  });
});
