/**
 * XXH32, the 32-bit xxHash used by the LZ4 frame format for its header,
 * block and content checksums. All arithmetic stays in 32-bit integers
 * (`Math.imul`), so no value ever leaves V8's small-integer fast paths.
 */

const P1 = 0x9e3779b1 | 0;
const P2 = 0x85ebca77 | 0;
const P3 = 0xc2b2ae3d | 0;
const P4 = 0x27d4eb2f | 0;
const P5 = 0x165667b1 | 0;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function read32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

/** Incremental XXH32: `update` any number of chunks, then `digest` (which does not end the stream). */
export class XxHash32 {
  private v1 = 0;
  private v2 = 0;
  private v3 = 0;
  private v4 = 0;
  private seed = 0;
  /** Total bytes fed, modulo 2^32 as the algorithm defines it. */
  private total = 0;
  /** Whether at least 16 bytes were fed (the lanes are in use). */
  private large = false;
  /** Bytes not yet folded into a 16-byte stripe. */
  private readonly tail = new Uint8Array(16);
  private tailLen = 0;

  constructor(seed = 0) {
    this.reset(seed);
  }

  /** Starts over, as a new hasher with this seed. */
  reset(seed = 0): this {
    this.seed = seed | 0;
    this.v1 = (this.seed + P1 + P2) | 0;
    this.v2 = (this.seed + P2) | 0;
    this.v3 = this.seed;
    this.v4 = (this.seed - P1) | 0;
    this.total = 0;
    this.large = false;
    this.tailLen = 0;
    return this;
  }

  /** Feeds `data[start, end)`; feeding A then B equals feeding A‖B. */
  update(data: Uint8Array, start = 0, end = data.length): this {
    let i = start;
    const n = end - start;
    this.total = (this.total + n) | 0;
    if (this.tailLen + n < 16) {
      this.tail.set(data.subarray(i, end), this.tailLen);
      this.tailLen += n;
      return this;
    }
    this.large = true;
    if (this.tailLen > 0) {
      const fill = 16 - this.tailLen;
      this.tail.set(data.subarray(i, i + fill), this.tailLen);
      this.stripes(this.tail, 0, 16);
      i += fill;
      this.tailLen = 0;
    }
    const stop = end - ((end - i) & 15);
    this.stripes(data, i, stop);
    this.tail.set(data.subarray(stop, end), 0);
    this.tailLen = end - stop;
    return this;
  }

  /** The hash of everything fed so far, as an unsigned 32-bit number. */
  digest(): number {
    let h = this.large ? (rotl(this.v1, 1) + rotl(this.v2, 7) + rotl(this.v3, 12) + rotl(this.v4, 18)) | 0 : (this.seed + P5) | 0;
    h = (h + this.total) | 0;
    const t = this.tail;
    let i = 0;
    for (; i + 4 <= this.tailLen; i += 4) h = Math.imul(rotl((h + Math.imul(read32(t, i), P3)) | 0, 17), P4);
    for (; i < this.tailLen; i++) h = Math.imul(rotl((h + Math.imul(t[i]!, P5)) | 0, 11), P1);
    h ^= h >>> 15;
    h = Math.imul(h, P2);
    h ^= h >>> 13;
    h = Math.imul(h, P3);
    h ^= h >>> 16;
    return h >>> 0;
  }

  /** Folds whole 16-byte stripes of `b[i, end)` (end − i is a multiple of 16). */
  private stripes(b: Uint8Array, i: number, end: number): void {
    let v1 = this.v1;
    let v2 = this.v2;
    let v3 = this.v3;
    let v4 = this.v4;
    if (LITTLE_ENDIAN && ((b.byteOffset + i) & 3) === 0) {
      // Aligned input (every buffer this package allocates): whole-word loads are ~1.5x faster.
      const w = new Int32Array(b.buffer, b.byteOffset + i, (end - i) >>> 2);
      for (let k = 0; k < w.length; k += 4) {
        v1 = Math.imul(rotl((v1 + Math.imul(w[k]!, P2)) | 0, 13), P1);
        v2 = Math.imul(rotl((v2 + Math.imul(w[k + 1]!, P2)) | 0, 13), P1);
        v3 = Math.imul(rotl((v3 + Math.imul(w[k + 2]!, P2)) | 0, 13), P1);
        v4 = Math.imul(rotl((v4 + Math.imul(w[k + 3]!, P2)) | 0, 13), P1);
      }
    } else {
      for (; i < end; i += 16) {
        v1 = Math.imul(rotl((v1 + Math.imul(read32(b, i), P2)) | 0, 13), P1);
        v2 = Math.imul(rotl((v2 + Math.imul(read32(b, i + 4), P2)) | 0, 13), P1);
        v3 = Math.imul(rotl((v3 + Math.imul(read32(b, i + 8), P2)) | 0, 13), P1);
        v4 = Math.imul(rotl((v4 + Math.imul(read32(b, i + 12), P2)) | 0, 13), P1);
      }
    }
    this.v1 = v1;
    this.v2 = v2;
    this.v3 = v3;
    this.v4 = v4;
  }
}

/** Reused by xxhash32(), which is synchronous, so one-shot hashes allocate nothing. */
const shared = new XxHash32();

/** XXH32 of `data` (seed 0 unless given), as an unsigned 32-bit number. */
export function xxhash32(data: Uint8Array, seed = 0): number {
  return shared.reset(seed).update(data).digest();
}
