/**
 * CRC-64/GO-ISO (Go's `hash/crc64` with the ISO table): reflected polynomial
 * 0xD800000000000000, init and xorout all ones. Every LTX checksum is built on it.
 *
 * The 64-bit state lives in two 32-bit halves so the hot loop stays in small
 * integers (a BigInt per byte would be ~100x slower). Eight bytes are folded per
 * step with eight lookup tables ("slicing by 8").
 */

const TABLES = 8;
/** lo[t * 256 + i] / hi[t * 256 + i]: low and high halves of slicing table t. */
const lo = new Int32Array(TABLES * 256);
const hi = new Int32Array(TABLES * 256);

(function buildTables(): void {
  for (let i = 0; i < 256; i++) {
    let l = i;
    let h = 0;
    for (let bit = 0; bit < 8; bit++) {
      const carry = l & 1;
      l = (l >>> 1) | ((h & 1) << 31);
      h = h >>> 1;
      if (carry) h ^= 0xd8000000;
    }
    lo[i] = l;
    hi[i] = h;
  }
  for (let t = 1; t < TABLES; t++) {
    for (let i = 0; i < 256; i++) {
      const pl = lo[(t - 1) * 256 + i]!;
      const ph = hi[(t - 1) * 256 + i]!;
      const idx = pl & 0xff;
      lo[t * 256 + i] = ((pl >>> 8) | (ph << 24)) ^ lo[idx]!;
      hi[t * 256 + i] = (ph >>> 8) ^ hi[idx]!;
    }
  }
})();

/** Incremental CRC-64/GO-ISO: `update` any number of chunks, then `digest`. */
export class Crc64 {
  // The inverted running state (~crc), as two signed 32-bit halves.
  private l = -1;
  private h = -1;

  /** Feeds bytes; feeding A then B equals feeding A‖B. */
  update(data: Uint8Array): this {
    let l = this.l;
    let h = this.h;
    let i = 0;
    const n = data.length;
    const end8 = n - (n % 8);
    for (; i < end8; i += 8) {
      const a = l ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
      const b = h ^ (data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24));
      const i7 = 7 * 256 + (a & 0xff);
      const i6 = 6 * 256 + ((a >>> 8) & 0xff);
      const i5 = 5 * 256 + ((a >>> 16) & 0xff);
      const i4 = 4 * 256 + (a >>> 24);
      const i3 = 3 * 256 + (b & 0xff);
      const i2 = 2 * 256 + ((b >>> 8) & 0xff);
      const i1 = 256 + ((b >>> 16) & 0xff);
      const i0 = b >>> 24;
      l = lo[i7]! ^ lo[i6]! ^ lo[i5]! ^ lo[i4]! ^ lo[i3]! ^ lo[i2]! ^ lo[i1]! ^ lo[i0]!;
      h = hi[i7]! ^ hi[i6]! ^ hi[i5]! ^ hi[i4]! ^ hi[i3]! ^ hi[i2]! ^ hi[i1]! ^ hi[i0]!;
    }
    for (; i < n; i++) {
      const idx = (l ^ data[i]!) & 0xff;
      l = ((l >>> 8) | (h << 24)) ^ lo[idx]!;
      h = (h >>> 8) ^ hi[idx]!;
    }
    this.l = l;
    this.h = h;
    return this;
  }

  /** The CRC of everything fed so far (the state is kept; more updates may follow). */
  digest(): bigint {
    return (BigInt(~this.h >>> 0) << 32n) | BigInt(~this.l >>> 0);
  }
}

/** CRC-64/GO-ISO of one buffer. */
export function crc64(data: Uint8Array): bigint {
  return new Crc64().update(data).digest();
}
