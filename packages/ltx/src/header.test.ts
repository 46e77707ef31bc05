/** Unit tests of the LTX header and trailer codecs and their checks, and of detectFormat telling the layouts apart. */
import { describe, expect, it } from "vitest";
import { CHECKSUM_FLAG } from "./checksum.js";
import { decodeHeader, encodeHeader, validateHeader, type LtxHeader } from "./header.js";
import { detectFormat } from "./format.js";
import { decodeTrailer, encodeTrailer, validateTrailer } from "./trailer.js";

const header: LtxHeader = {
  flags: 0,
  pageSize: 1024,
  commit: 5,
  minTXID: 2,
  maxTXID: 3,
  timestamp: -1,
  preApplyChecksum: CHECKSUM_FLAG | 0xabcn,
  walOffset: 32,
  walSize: 2096,
  walSalt1: 0x11223344,
  walSalt2: 0xffffffff,
  nodeID: 0x0102030405060708n,
};

describe("header", () => {
  it("round-trips every field, a negative timestamp included", () => {
    const bytes = encodeHeader(header);
    expect(bytes.length).toBe(100);
    expect(decodeHeader(bytes)).toEqual(header);
    expect(bytes.subarray(80).every((b) => b === 0)).toBe(true);
  });

  it("checks flags against the layout's mask", () => {
    expect(() => validateHeader({ ...header, flags: 1 }, { format: "v3-block" })).toThrow(/invalid flags: 0x00000001/);
    expect(() => validateHeader({ ...header, flags: 1 }, { format: "v1" })).toThrow(/raw v1/);
    expect(() => validateHeader({ ...header, flags: 3 }, { format: "v1-lz4" })).toThrow(/pre-apply checksum not allowed/);
    expect(() => validateHeader({ ...header, flags: 2, preApplyChecksum: 0n }, { format: "v1" })).not.toThrow();
    expect(() => encodeHeader({ ...header, commit: 2 ** 32 })).toThrow(/u32/);
    expect(() => encodeHeader({ ...header, maxTXID: 2 ** 53 })).toThrow(/safe integer/);
  });
});

describe("trailer", () => {
  it("round-trips and checks the §3.6 rules", () => {
    const t = { postApplyChecksum: CHECKSUM_FLAG | 5n, fileChecksum: CHECKSUM_FLAG | 6n };
    expect(decodeTrailer(encodeTrailer(t))).toEqual(t);
    expect(() => validateTrailer(header, t)).not.toThrow();
    expect(() => validateTrailer(header, { ...t, fileChecksum: 6n })).toThrow(/invalid file checksum format/);
    expect(() => validateTrailer(header, { ...t, fileChecksum: 0n })).toThrow(/file checksum required/);
    expect(() => validateTrailer({ ...header, commit: 0 }, t)).toThrow(/zero-length database/);
    expect(() => validateTrailer({ ...header, flags: 2 }, t)).toThrow(/not allowed/);
  });
});

describe("detectFormat", () => {
  it("tells empty files apart by size and falls back to v1", () => {
    const head = new Uint8Array(120);
    head.set(encodeHeader(header));
    expect(detectFormat(head.subarray(0, 120), 120)).toBe("v1");
    expect(detectFormat(head.subarray(0, 120), 129)).toBe("v2");
    expect(detectFormat(head.subarray(0, 120), 131)).toBe("v3-block");
    expect(detectFormat(head.subarray(0, 4))).toBe("v1");
  });
});
