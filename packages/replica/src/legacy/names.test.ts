/** Unit tests of v0.3 object names: snapshot and segment parsing, offsets of 8 to 16 hex digits, ones beyond 2^53, and the keys v0.3 writes. */
import { describe, expect, it } from "vitest";
import { hex8, isLegacyGeneration, parseLegacyName, segmentKey, snapshotKey } from "./names.js";

const gen = "0123456789abcdef";

describe("v0.3 object names", () => {
  it("parses snapshots and segments, offsets of 8 to 16 hex digits", () => {
    expect(parseLegacyName(`${gen}/snapshots/0000002a.snapshot.lz4`)).toEqual({ kind: "snapshot", generation: gen, index: 42 });
    expect(parseLegacyName(`${gen}/wal/00000003_00001038.wal.lz4`)).toEqual({ kind: "segment", generation: gen, index: 3, offset: 0x1038 });
    // %08x is a minimum width: offsets from 4 GiB up get more digits (v0.3.13 skipped them).
    expect(parseLegacyName(`${gen}/wal/000012c3_11a6bfa58.wal.lz4`)).toEqual({ kind: "segment", generation: gen, index: 0x12c3, offset: 0x11a6bfa58 });
    expect(parseLegacyName(`${gen}/wal/00000003_000001038.wal.lz4`)).toEqual({ kind: "segment", generation: gen, index: 3, offset: 0x1038 });
    expect(parseLegacyName(`${gen}/wal/00000000_001fffffffffffff.wal.lz4`)).toMatchObject({ kind: "segment", offset: Number.MAX_SAFE_INTEGER });
  });

  it("marks offsets beyond 2^53 as unusable instead of rounding them", () => {
    expect(parseLegacyName(`${gen}/wal/00000001_0020000000000000.wal.lz4`)).toMatchObject({ kind: "unusable", index: 1 });
  });

  it.each([
    ["uppercase generation", "0123456789ABCDEF/wal/00000000_00000000.wal.lz4"],
    ["short generation", "0123456789abcde/wal/00000000_00000000.wal.lz4"],
    ["7-digit index", `${gen}/wal/0000000_00000000.wal.lz4`],
    ["9-digit index", `${gen}/wal/000000000_00000000.wal.lz4`],
    ["7-digit offset", `${gen}/wal/00000000_0000000.wal.lz4`],
    ["17-digit offset", `${gen}/wal/00000000_00000000000000000.wal.lz4`],
    ["uppercase offset", `${gen}/wal/00000000_0000ABCD.wal.lz4`],
    ["uncompressed v0.3.0 WAL", `${gen}/wal/00000000.wal`],
    ["v0.4 nested segment", `${gen}/wal/0000000000000000/0000000000000000.wal.lz4`],
    ["snapshot without lz4", `${gen}/snapshots/00000000.snapshot`],
    ["temp file", `${gen}/snapshots/00000000.snapshot.lz4.tmp`],
    ["unknown folder", `${gen}/other/00000000.snapshot.lz4`],
    ["object at the generation level", `${gen}/generation`],
  ])("ignores a %s", (_what, name) => {
    expect(parseLegacyName(name).kind).toBe("other");
  });

  it("formats keys as v0.3 writes them", () => {
    expect(snapshotKey("", gen, 255)).toBe(`generations/${gen}/snapshots/000000ff.snapshot.lz4`);
    expect(segmentKey("db/", gen, 3, 0x1038)).toBe(`db/generations/${gen}/wal/00000003_00001038.wal.lz4`);
    expect(segmentKey("", gen, 0, 0x11a6bfa58)).toBe(`generations/${gen}/wal/00000000_11a6bfa58.wal.lz4`);
    expect(hex8(0x7fffffff)).toBe("7fffffff");
    expect(isLegacyGeneration(gen)).toBe(true);
    expect(isLegacyGeneration(gen.toUpperCase())).toBe(false);
  });
});
