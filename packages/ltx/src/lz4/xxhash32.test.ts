/** Unit tests of XXH32: published and LZ4 spec vectors, seeds, unaligned views, and streaming equal to one shot. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sample } from "./corpus.fuzz.js";
import { XxHash32, xxhash32 } from "./xxhash32.js";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("xxhash32", () => {
  // Seed 0: content checksums written by the lz4 1.9.4 CLI for the same inputs.
  it.each([
    ["", 0x02cc5d05],
    ["a", 0x550d7456],
    ["abc", 0x32d153ff],
    ["0123456789abcde", 0x1dbdfa0f], // 15 bytes: no stripe
    ["0123456789abcdef", 0xc2c45b69], // exactly one stripe
    ["0123456789abcdefg", 0xcc79b217],
    ["Nobody inspects the spammish repetition", 0xe2293b2f],
  ])("XXH32(%j) = %i", (input, expected) => {
    expect(xxhash32(text(input))).toBe(expected);
  });

  it("matches the LZ4 spec vectors: four zero bytes, and header checksums 64 40 → a7, 64 70 → b9", () => {
    expect(xxhash32(new Uint8Array(4))).toBe(0x08d6d969);
    expect((xxhash32(Uint8Array.of(0x64, 0x40)) >>> 8) & 0xff).toBe(0xa7);
    expect((xxhash32(Uint8Array.of(0x64, 0x70)) >>> 8) & 0xff).toBe(0xb9);
  });

  it("uses the seed (published vectors, seeds 1 and 0x7fffffff)", () => {
    expect(xxhash32(text(""), 1)).toBe(0x0b2cb792);
    expect(xxhash32(text("12345678"), 1)).toBe(0xcfd577ae);
    expect(xxhash32(text("123456789ABCDEF12345"), 0x7fffffff)).toBe(0xbbb5c9a3);
    expect(xxhash32(text("123456789ABCDEF123456789ABCDEF123456789"), 0x7fffffff)).toBe(0xf988dace);
    const ff = new Uint8Array(102400).fill(0xff);
    expect(xxhash32(ff)).toBe(0x81e25350);
    expect(xxhash32(ff, 1)).toBe(0x483f2a90);
    expect(xxhash32(ff, 0x7fffffff)).toBe(0x290e2cca);
  });

  it("gives the same result for aligned and unaligned views of the same bytes", () => {
    const data = sample("random", 1000, 1);
    const shifted = new Uint8Array(1003);
    for (let s = 0; s < 4; s++) {
      const view = shifted.subarray(s, s + 1000);
      view.set(data);
      expect(xxhash32(view)).toBe(xxhash32(data));
    }
  });

  it("streams: any chunking equals the one-shot hash", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat({ max: 300 }), { maxLength: 8 }), fc.integer({ min: 0, max: 0xffffffff }), (data, cutList, seed) => {
        const h = new XxHash32(seed);
        let from = 0;
        for (const cut of [...cutList].sort((a, b) => a - b)) {
          const to = Math.min(cut, data.length);
          h.update(data, from, Math.max(from, to));
          from = Math.max(from, to);
        }
        h.update(data.subarray(from));
        expect(h.digest()).toBe(xxhash32(data, seed));
        expect(h.digest()).toBe(xxhash32(data, seed)); // digest does not end the stream
        expect(h.reset(seed).update(data).digest()).toBe(xxhash32(data, seed));
      }),
      { seed: 3, numRuns: 500 },
    );
  });
});
