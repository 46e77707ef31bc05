import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Crc64, crc64 } from "./crc64.js";

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

/** The textbook bit-at-a-time definition, as an independent oracle. */
function bitwiseCrc64(data: Uint8Array): bigint {
  const mask = (1n << 64n) - 1n;
  let c = mask;
  for (const b of data) {
    c ^= BigInt(b);
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ 0xd800000000000000n : c >> 1n;
  }
  return c ^ mask;
}
