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
