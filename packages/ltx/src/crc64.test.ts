/** Unit tests of CRC-64/GO-ISO: published vectors, streaming, the WebAssembly kernel against a bitwise oracle, combine and zero shifts. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Crc64, crc64, crc64Combine, crcRegister, ZeroBytesShift } from "./crc64.js";
import { bitwiseCrc64 } from "./testing/crc-oracle.js";

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("crc64 (CRC-64/GO-ISO)", () => {
  it("matches the standard check value and the published vectors", () => {
    expect(crc64(ascii("123456789"))).toBe(0xb90956c775a41001n);
    expect(crc64(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))).toBe(0x5c98d47bea58893dn);
    expect(crc64(new Uint8Array(0))).toBe(0n);
  });

  it("is not CRC-64/ECMA or XZ", () => {
    expect(crc64(ascii("123456789"))).not.toBe(0x995dc9bbdf1939fan); // CRC-64/XZ check
  });

  it("streams: any split of the input gives the same digest", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(200), (data, cut) => {
        const at = Math.min(cut, data.length);
        const whole = crc64(data);
        const split = new Crc64().update(data.subarray(0, at)).update(data.subarray(at)).digest();
        expect(split).toBe(whole);
        expect(whole).toBe(bitwiseCrc64(data));
      }),
    );
  });
});

describe("crc64 on long inputs (the WebAssembly kernel takes inputs of 64 bytes and more)", () => {
  it("equals the bitwise oracle around the kernel's thresholds and at 64 KiB, whole and split", () => {
    const lengths = [63, 64, 65, 79, 80, 81, 127, 128, 129, 1000, 4096, 4100, 65_536, 65_539];
    let seed = 12345;
    for (const n of lengths) {
      const data = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
        data[i] = seed >>> 24;
      }
      const expected = bitwiseCrc64(data);
      expect(crc64(data), `length ${n}`).toBe(expected);
      // Splits that leave short heads and tails around a long middle.
      for (const cut of [1, 7, 63, Math.floor(n / 2)]) {
        const split = new Crc64().update(data.subarray(0, cut)).update(data.subarray(cut)).digest();
        expect(split, `length ${n} split at ${cut}`).toBe(expected);
      }
      // A view at an odd byte offset into a larger buffer.
      const padded = new Uint8Array(n + 3);
      padded.set(data, 3);
      expect(crc64(padded.subarray(3)), `length ${n} at offset 3`).toBe(expected);
    }
  });
});

describe("crc64Combine", () => {
  it("gives the CRC of A‖B from the CRCs of A and B, for any split", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(3000), (data, cut) => {
        const at = Math.min(cut, data.length);
        const a = data.subarray(0, at);
        const b = data.subarray(at);
        expect(crc64Combine(crc64(a), crc64(b), b.length)).toBe(bitwiseCrc64(data));
      }),
    );
  });

  it("folds many parts in order, empty parts and megabytes included", () => {
    const data = new Uint8Array(5 * 1024 * 1024 + 17);
    let seed = 99;
    for (let i = 0; i < data.length; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      data[i] = seed >>> 24;
    }
    const cuts = [0, 0, 1, 100, 65_536, 1_000_003, 1_000_003, 4_194_304, data.length];
    let acc = 0n; // the CRC of nothing
    for (let i = 1; i < cuts.length; i++) {
      const part = data.subarray(cuts[i - 1], cuts[i]);
      acc = crc64Combine(acc, crc64(part), part.length);
    }
    expect(acc).toBe(crc64(data));
  });

  it("handles a long run of zeros (a length with many bits set) like the direct CRC", () => {
    const zeros = new Uint8Array((1 << 24) - 1);
    const head = new Uint8Array([1, 2, 3, 4, 5]);
    const whole = new Crc64().update(head).update(zeros).digest();
    expect(crc64Combine(crc64(head), crc64(zeros), zeros.length)).toBe(whole);
  });

  it("rejects a length that is not a safe non-negative integer", () => {
    expect(() => crc64Combine(0n, 0n, -1)).toThrow(RangeError);
    expect(() => crc64Combine(0n, 0n, 1.5)).toThrow(RangeError);
  });
});

describe("ZeroBytesShift and crcRegister (the per-page single pass)", () => {
  it("moves a register over n zero bytes, so one CRC of a page serves the file and the page checksum", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 700 }), fc.uint8Array({ maxLength: 20 }), (page, prefix) => {
        const shift = new ZeroBytesShift(page.length);
        const r = new Int32Array(2);
        const g = new Int32Array(2);
        crcRegister(0, 0, page, g); // the page from a zero register
        crcRegister(-1, -1, prefix, r); // the prefix from the initial register
        shift.apply(r[0]!, r[1]!, r);
        const l = r[0]! ^ g[0]!;
        const h = r[1]! ^ g[1]!;
        const digest = (BigInt(~h >>> 0) << 32n) | BigInt(~l >>> 0);
        const whole = new Uint8Array(prefix.length + page.length);
        whole.set(prefix);
        whole.set(page, prefix.length);
        expect(digest).toBe(bitwiseCrc64(whole));
      }),
      { numRuns: 200 },
    );
  });
});
