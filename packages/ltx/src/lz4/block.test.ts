/** Tests of the LZ4 block codec: every v3-block golden page, the spec's annotated payload, bounds, and fuzzing against a reference decoder. */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { hasSharedTestdata, noSharedTestdataReason, sharedTestdata } from "@sqlrep/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LtxError } from "../errors.js";
import { lz4BlockBound, lz4CompressBlock, lz4CompressBlockInto, lz4DecompressBlock } from "./block.js";
import { referenceDecodeBlock, sample, SAMPLE_KINDS } from "./corpus.fuzz.js";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

function roundTrip(data: Uint8Array): void {
  const packed = lz4CompressBlock(data);
  expect(packed.length).toBeLessThanOrEqual(lz4BlockBound(data.length));
  const out = new Uint8Array(data.length);
  expect(lz4DecompressBlock(packed, out)).toBe(data.length);
  expect(Buffer.compare(out, data)).toBe(0);
}

function expectLz4Error(fn: () => unknown, message: RegExp, offset: number): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(LtxError);
  const e = caught as LtxError;
  expect(e.code).toBe("lz4");
  expect(e.message).toMatch(message);
  expect(e.offset).toBe(offset);
}

interface ManifestEntry {
  file: string;
  header: { page_size: number; flags: number };
  pages: { pgno: number; data_sha256: string }[] | null;
  page_index?: { pgno: number; offset: number; size: number }[];
}

describe.skipIf(!hasSharedTestdata)(`v3-block fixture pages${hasSharedTestdata ? "" : ` (skipped: ${noSharedTestdataReason})`}`, () => {
  const dir = sharedTestdata("ltx", "generated", "v3-block");
  const manifest = hasSharedTestdata ? (JSON.parse(readFileSync(`${dir}/manifest.json`, "utf8")) as ManifestEntry[]) : [];
  const pages = manifest.flatMap((entry) => (entry.page_index ?? []).map((ix, i) => ({ entry, ix, page: entry.pages![i]! })));

  it("covers every page of the manifest", () => {
    expect(pages.length).toBe(55);
  });

  it.each(pages.map((p) => [`${p.entry.file} page ${p.ix.pgno}`, p] as const))("%s", (_name, { entry, ix, page }) => {
    expect(page.pgno).toBe(ix.pgno);
    const file = new Uint8Array(readFileSync(`${dir}/${entry.file}`));
    const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
    const size = view.getUint32(ix.offset + 6);
    const payload = file.subarray(ix.offset + 10, ix.offset + ix.size);
    expect(payload.length).toBe(size);

    const decoded = new Uint8Array(entry.header.page_size);
    expect(lz4DecompressBlock(payload, decoded)).toBe(entry.header.page_size);
    expect(sha256(decoded)).toBe(page.data_sha256);
    expect(hex(lz4CompressBlock(decoded))).toBe(hex(payload));
  });
});

describe("lz4CompressBlock", () => {
  it("reproduces the annotated v3-block payload of spec Appendix A.1", () => {
    const page = new Uint8Array(1024).fill(0x32);
    const expected = "1f320100ffffffdc000200000200b0" + "32".repeat(11);
    expect(hex(lz4CompressBlock(page))).toBe(expected);
  });

  it("writes short inputs as one literal run (no match may start in the last 14 bytes)", () => {
    expect(hex(lz4CompressBlock(new Uint8Array(0)))).toBe("00");
    expect(hex(lz4CompressBlock(Uint8Array.of(0x61)))).toBe("1061");
    for (const n of [13, 14]) {
      const zeros = new Uint8Array(n);
      expect(hex(lz4CompressBlock(zeros))).toBe(hex(Uint8Array.of(n << 4, ...zeros)));
    }
    // From 15 bytes position 0 may be searched. An unused hash slot proposes position 0,
    // which pierrec accepts at si = 1 as an offset-1 match: '0', match 4, then 10 literals.
    expect(hex(lz4CompressBlock(new Uint8Array(15)))).toBe("1000" + "0100" + "a0" + "00".repeat(10));
    expect(hex(lz4CompressBlock(sample("random", 15, 1)))).toMatch(/^f000/);
  });

  it("gives the same bytes whatever was compressed before (no state leaks between calls)", () => {
    const a = sample("page", 4096, 1);
    const first = lz4CompressBlock(a);
    for (const kind of SAMPLE_KINDS) lz4CompressBlock(sample(kind, 70000, 2));
    expect(hex(lz4CompressBlock(a))).toBe(hex(first));
  });

  it("computes the worst-case bound and rejects impossible lengths", () => {
    expect(lz4BlockBound(0)).toBe(16);
    expect(lz4BlockBound(4096)).toBe(4096 + 16 + 16);
    expect(lz4BlockBound(65536)).toBe(65536 + 257 + 16);
    expect(() => lz4BlockBound(-1)).toThrow(LtxError);
    expect(() => lz4BlockBound(1.5)).toThrow(/invalid length/);
  });

  it("stays within the bound on incompressible data", () => {
    for (const n of [1, 100, 4096, 65536]) {
      const data = sample("random", n, n);
      expect(lz4CompressBlock(data).length).toBeLessThanOrEqual(lz4BlockBound(n));
      roundTrip(data);
    }
  });
});

describe("lz4CompressBlockInto", () => {
  it("with a full-bound dst always compresses, even incompressible input (the v3-block page form)", () => {
    const data = sample("random", 512, 7);
    const dst = new Uint8Array(lz4BlockBound(512));
    const n = lz4CompressBlockInto(data, dst);
    expect(hex(dst.subarray(0, n))).toBe(hex(lz4CompressBlock(data)));
    expect(n).toBeGreaterThan(512);
  });

  it("with a shorter dst returns 0 when no match was found or the block would not shrink (frame writer rule)", () => {
    expect(lz4CompressBlockInto(sample("random", 512, 7), new Uint8Array(512))).toBe(0);
    expect(lz4CompressBlockInto(new Uint8Array(10), new Uint8Array(10))).toBe(0); // too short for any match
    expect(lz4CompressBlockInto(new Uint8Array(0), new Uint8Array(0))).toBe(0);
    // Highly compressible input that fits: the same bytes as the full-bound call.
    const page = sample("zeros", 4096, 0);
    const dst = new Uint8Array(4096);
    const n = lz4CompressBlockInto(page, dst);
    expect(hex(dst.subarray(0, n))).toBe(hex(lz4CompressBlock(page)));
  });

  it("returns 0 when the result does not fit in dst", () => {
    const page = sample("text", 4096, 3);
    const full = lz4CompressBlock(page);
    expect(lz4CompressBlockInto(page, new Uint8Array(full.length - 1))).toBe(0);
    const exact = new Uint8Array(full.length);
    expect(lz4CompressBlockInto(page, exact)).toBe(full.length);
    expect(hex(exact)).toBe(hex(full));
  });
});

describe("lz4DecompressBlock", () => {
  it("copies overlapping matches byte by byte (offset 1, 2, 3 and long runs)", () => {
    // 'ab' then a match of offset 2, length 4 + 15 + 300, then the literal 'z'.
    const block = Uint8Array.of(0x2f, 0x61, 0x62, 0x02, 0x00, 255, 45, 0x10, 0x7a);
    const out = new Uint8Array(400);
    const n = lz4DecompressBlock(block, out);
    expect(n).toBe(2 + 319 + 1);
    const expected = referenceDecodeBlock(block, 400)!;
    expect(hex(out.subarray(0, n))).toBe(hex(expected));
    for (const off of [1, 2, 3, 5, 31, 33]) {
      const lits = Array.from({ length: off }, (_, i) => 65 + i);
      const b = Uint8Array.of((Math.min(off, 15) << 4) | 15, ...(off >= 15 ? [off - 15] : []), ...lits, off, 0, 200, 0x10, 0x7a);
      const o = new Uint8Array(1000);
      const m = lz4DecompressBlock(b, o);
      expect(hex(o.subarray(0, m))).toBe(hex(referenceDecodeBlock(b, 1000)!));
    }
  });

  it("returns the length written and leaves the rest of dst alone", () => {
    const out = new Uint8Array(8).fill(9);
    expect(lz4DecompressBlock(Uint8Array.of(0x30, 1, 2, 3), out)).toBe(3);
    expect([...out]).toEqual([1, 2, 3, 9, 9, 9, 9, 9]);
    expect(lz4DecompressBlock(Uint8Array.of(0x00), new Uint8Array(0))).toBe(0);
  });

  const dst = (): Uint8Array => new Uint8Array(64);
  it.each([
    ["an empty block", [], /ends where a sequence token/, 0],
    ["a block that ends after a match", [0x10, 0x61, 0x01, 0x00], /ends where a sequence token/, 4],
    ["a literal length cut off", [0xf0, 255], /literal length runs past/, 0],
    ["literals running past the block", [0x50, 1, 2], /literal run of 5 bytes overruns the block/, 0],
    ["a match offset cut off", [0x10, 0x61, 0x01], /offset cut off/, 2],
    ["a zero offset", [0x10, 0x61, 0x00, 0x00, 0x10, 0x61], /offset is zero/, 2],
    ["a match before the output start", [0x10, 0x61, 0x02, 0x00, 0x10, 0x61], /offset 2 reaches before the start/, 2],
    ["a match length cut off", [0x1f, 0x61, 0x01, 0x00, 255], /match length runs past/, 0],
  ])("rejects %s", (_name, bytes, message, offset) => {
    expectLz4Error(() => lz4DecompressBlock(Uint8Array.from(bytes), dst()), message, offset);
  });

  it("rejects output that overruns dst, for literals and for matches", () => {
    expectLz4Error(() => lz4DecompressBlock(Uint8Array.of(0x30, 1, 2, 3), new Uint8Array(2)), /literals overrun the output/, 0);
    const block = Uint8Array.of(0x10, 0x61, 0x01, 0x00, 0x10, 0x62); // 'a', 4×'a', 'b' = 6 bytes
    expectLz4Error(() => lz4DecompressBlock(block, new Uint8Array(4)), /match of 4 bytes overruns the output/, 0);
    expectLz4Error(() => lz4DecompressBlock(block, new Uint8Array(5)), /literals overrun the output/, 4);
    expect(lz4DecompressBlock(block, new Uint8Array(6))).toBe(6);
  });
});

describe("block round trips (seeded property tests)", () => {
  const sizes = [0, 1, 13, 14, 15, 16, 17, 4096, 65535, 65536, 65537];
  it.each(SAMPLE_KINDS.flatMap((kind) => sizes.map((size) => [kind, size] as const)))("%s × %i bytes", (kind, size) => {
    roundTrip(sample(kind, size, size + 1));
  });

  it("several MiB in one block (offsets wrap the 64 KiB hash window)", () => {
    roundTrip(sample("mixed", 3 * 1048576 + 17, 5));
    roundTrip(sample("runs", 5 * 1048576, 6));
  });

  it("arbitrary byte arrays", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (data) => roundTrip(data)),
      { seed: 20240601, numRuns: 300 },
    );
  });

  it("arbitrary compressible arrays (repeated fragments)", () => {
    const fragments = fc.array(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 80 })), {
      maxLength: 60,
    });
    fc.assert(
      fc.property(fragments, (parts) => {
        const bytes: number[] = [];
        for (const [frag, times] of parts) for (let t = 0; t < times; t++) bytes.push(...frag);
        roundTrip(Uint8Array.from(bytes));
      }),
      { seed: 42, numRuns: 200 },
    );
  });
});
