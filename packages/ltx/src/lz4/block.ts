/**
 * Raw LZ4 blocks: a compressor that reproduces pierrec/lz4 v4's "fast"
 * compressor byte for byte (ltx-spec Appendix B), and a bounds-checked decoder.
 */
import { LtxError } from "../errors.js";
import { addonDecodeBlock, hasAddon } from "./addon.js";
import { nativeDecodeBlock } from "./native.js";

const MF_LIMIT = 14; // no match may start in the last 14 bytes of the input
const WINDOW = 0x10000;
const SKIP_LOG = 7; // how fast the search skips ahead through incompressible data
/** Below this many bytes a plain loop beats the set()/copyWithin() call overhead. */
const SHORT_COPY = 32;

// The multiplier of pierrec's hash, 227718039650203, split into 16-bit limbs.
const K0 = 0xbf9b;
const K1 = 0xbcdc;
const K2 = 0xcf1b;

/**
 * The compressor's hash table, reused across calls: per 16-bit hash, the low 16 bits of
 * the last position seen, tagged in the high bits with the call that stored it. A slot
 * tagged by an earlier call reads as 0, as if pierrec had cleared its table, so no call
 * clears anything (the tags wrap after 32767 calls, and only then is the table zeroed).
 */
const table = new Int32Array(0x10000);
let tag = 0;

/**
 * pierrec's hash of 6 bytes given as three little-endian 16-bit limbs: bits 48…63 of
 * `(x << 16) * 227718039650203 mod 2^64`, i.e. bits 32…47 of `x * K`, computed on
 * 16-bit limbs modulo 2^32 so everything stays in small integers.
 */
function hash6(x0: number, x1: number, x2: number): number {
  const carry = (Math.imul(x0, K1) + Math.imul(x1, K0) + (Math.imul(x0, K0) >>> 16)) >>> 16;
  return (Math.imul(x0, K2) + Math.imul(x1, K1) + Math.imul(x2, K0) + carry) & 0xffff;
}

/** The hash of the 6 bytes at p. */
function hashAt(v: DataView, p: number): number {
  return hash6(v.getUint16(p, true), v.getUint16(p + 2, true), v.getUint16(p + 4, true));
}

/** pierrec's candidate for `pos`: the slot's 16 bits placed in pos's 64 KiB window, or the window before. */
function candidate(h: number, pos: number): number {
  const slot = table[h]!;
  const r = ((slot >>> 16 === tag ? slot & 0xffff : 0) + (pos & ~0xffff)) | 0;
  return r >= pos ? r - WINDOW : r;
}

function remember(h: number, pos: number): void {
  table[h] = (tag << 16) | (pos & 0xffff);
}

/** Starts a call: a fresh tag, so every slot from earlier calls reads as unused. */
function newTag(): void {
  if (++tag > 0x7fff) {
    table.fill(0);
    tag = 1;
  }
}

/** Whether the candidate `r` for position `p` (whose first 4 bytes are `word`) is a usable match. */
function accepted(v: DataView, r: number, p: number, word: number): boolean {
  const off = p - r;
  return off > 0 && off < WINDOW && v.getInt32(r, true) === word;
}

/** Bytes taken by the extension of a 4-bit length field holding `v` (15 or more). */
function extBytes(v: number): number {
  return v < 15 ? 0 : Math.floor((v - 15) / 255) + 1;
}

function writeExt(dst: Uint8Array, di: number, v: number): number {
  const full = Math.floor(v / 255);
  dst.fill(255, di, di + full);
  di += full;
  dst[di++] = v - full * 255;
  return di;
}

/**
 * Copies src[from, from + n) to dst[to…] (`sv`, `dv`: DataViews of src and dst): short
 * runs by 4-byte words and then the last word again, which rewrites up to 3 bytes with
 * the values they already have; long runs with set().
 */
function copyBytes(sv: DataView, src: Uint8Array, from: number, n: number, dv: DataView, dst: Uint8Array, to: number): void {
  if (n < 4) {
    for (let k = 0; k < n; k++) dst[to + k] = src[from + k]!;
  } else if (n < SHORT_COPY) {
    for (let k = 0; k < n - 4; k += 4) dv.setInt32(to + k, sv.getInt32(from + k, true), true);
    dv.setInt32(to + n - 4, sv.getInt32(from + n - 4, true), true);
  } else {
    dst.set(src.subarray(from, from + n), to);
  }
}

/**
 * pierrec's fast compressor over all of `src`, writing at `dst[dStart…]`.
 * Returns the compressed length, or 0 when it would exceed `limit` bytes or,
 * with `rawIfNoMatch`, when no match was found at all.
 */
function compress(src: Uint8Array, dst: Uint8Array, dStart: number, limit: number, rawIfNoMatch: boolean): number {
  const n = src.length;
  const sn = n - MF_LIMIT;
  const dEnd = dStart + limit;
  // Little-endian word loads: one bounds-checked read instead of four byte reads.
  const v = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const dv = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  newTag();
  let si = 0;
  let anchor = 0;
  let di = dStart;

  while (si < sn) {
    // The 8 bytes at si feed the hashes and 4-byte words at si, si+1 and si+2.
    const x = v.getInt32(si, true);
    const y = v.getInt32(si + 4, true);
    const h1 = hash6(x & 0xffff, x >>> 16, y & 0xffff);
    const h2 = hash6((x >>> 8) & 0xffff, ((x >>> 24) | (y << 8)) & 0xffff, (y >>> 8) & 0xffff);
    const r1 = candidate(h1, si);
    const r2 = candidate(h2, si + 1);
    remember(h1, si);
    remember(h2, si + 1);
    let ref = r1;
    if (!accepted(v, r1, si, x)) {
      const h3 = hash6(x >>> 16, y & 0xffff, y >>> 16);
      const r3 = candidate(h3, si + 2);
      si += 1;
      ref = r2;
      if (!accepted(v, r2, si, (x >>> 8) | (y << 24))) {
        si += 1;
        remember(h3, si);
        ref = r3;
        if (!accepted(v, r3, si, (x >>> 16) | (y << 16))) {
          si += 2 + ((si - anchor) >> SKIP_LOG);
          continue;
        }
      }
    }
    const off = si - ref;

    // Extend the match backwards over the pending literals.
    let lits = si - anchor;
    let start = si;
    while (lits > 0 && start - off - 1 >= 0 && src[start - 1] === src[start - off - 1]) {
      start--;
      lits--;
    }
    // Extend forwards 8 bytes at a time, never past sn.
    const base = start + 4;
    si += 4;
    while (si + 8 <= sn) {
      const a = v.getInt32(si, true) ^ v.getInt32(si - off, true);
      if (a !== 0) {
        si += (31 - Math.clz32(a & -a)) >> 3;
        break;
      }
      const b = v.getInt32(si + 4, true) ^ v.getInt32(si + 4 - off, true);
      if (b !== 0) {
        si += 4 + ((31 - Math.clz32(b & -b)) >> 3);
        break;
      }
      si += 8;
    }
    const extra = si - base;

    if (di + 3 + extBytes(lits) + lits + extBytes(extra) > dEnd) return 0;
    dst[di++] = (Math.min(lits, 15) << 4) | Math.min(extra, 15);
    if (lits >= 15) di = writeExt(dst, di, lits - 15);
    copyBytes(v, src, anchor, lits, dv, dst, di);
    di += lits;
    dst[di++] = off & 0xff;
    dst[di++] = off >>> 8;
    if (extra >= 15) di = writeExt(dst, di, extra - 15);
    anchor = si;

    if (si >= sn) break;
    remember(hashAt(v, si - 2), si - 2);
  }

  if (rawIfNoMatch && anchor === 0) return 0;
  const lits = n - anchor;
  if (di + 1 + extBytes(lits) + lits > dEnd) return 0;
  dst[di++] = Math.min(lits, 15) << 4;
  if (lits >= 15) di = writeExt(dst, di, lits - 15);
  copyBytes(v, src, anchor, lits, dv, dst, di);
  return di + lits - dStart;
}

/** Worst-case compressed size of n input bytes: n + floor(n / 255) + 16. */
export function lz4BlockBound(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new LtxError("invalid-argument", `LZ4 block bound of an invalid length: ${n}`);
  }
  return n + Math.floor(n / 255) + 16;
}

/** Output buffer reused by lz4CompressBlock for inputs up to 64 KiB (every SQLite page size). */
let scratch = new Uint8Array(0);

/**
 * Compresses one raw LZ4 block with the exact algorithm of pierrec/lz4 v4's fast
 * compressor (spec Appendix B), so output bytes equal the Go reference's (the v3-block
 * page payload). Returns a new array of the exact length.
 */
export function lz4CompressBlock(src: Uint8Array): Uint8Array {
  const bound = lz4BlockBound(src.length);
  let dst: Uint8Array;
  if (src.length <= WINDOW) {
    if (scratch.length < bound) scratch = new Uint8Array(lz4BlockBound(WINDOW));
    dst = scratch;
  } else {
    dst = new Uint8Array(bound);
  }
  return dst.slice(0, compress(src, dst, 0, bound, false));
}

/**
 * Same algorithm into `dst`; returns the compressed length, or 0 when the result would
 * not fit in `dst`. Like pierrec, a `dst` shorter than `lz4BlockBound(src.length)` means
 * "only if it pays": then 0 is also returned when no match was found at all or when the
 * result would not be shorter than `src` (the cases where pierrec's frame writer stores a
 * block raw, spec §4.2). With a full-bound `dst` the call always succeeds.
 */
export function lz4CompressBlockInto(src: Uint8Array, dst: Uint8Array): number {
  const short = dst.length < lz4BlockBound(src.length);
  return compress(src, dst, 0, short ? Math.min(dst.length, src.length - 1) : dst.length, short);
}

/**
 * Compresses `src` into `dst[dStart…]` as pierrec's frame writer does (room for at most
 * src.length − 1 bytes): 0 means "store raw". Internal to lz4/, not a package export.
 */
export function compressFrameBlock(src: Uint8Array, dst: Uint8Array, dStart: number): number {
  return compress(src, dst, dStart, src.length - 1, true);
}

function fault(message: string, at: number, bias: number, file: string | undefined): LtxError {
  return new LtxError("lz4", message, { offset: at + bias, file });
}

/**
 * Sum of the extension bytes of a length field starting at `sp` (a run of 255s closed
 * by one byte below 255, so the run took floor(sum / 255) + 1 bytes), or -1 when the
 * block ends inside it.
 */
function readExt(src: Uint8Array, sp: number, send: number): number {
  let sum = 0;
  for (;;) {
    if (sp >= send) return -1;
    const b = src[sp++]!;
    sum += b;
    if (b !== 255) return sum;
  }
}

/**
 * Decompresses the block `src[sp, send)` into `dst[dp, dend)`; matches may reach back
 * to `dst[history]` (the output start, or earlier output of a dependent frame block).
 * Returns the end of the output. Error offsets are `bias` + the index in `src`.
 * Internal to lz4/, not a package export.
 */
export function decodeBlock(src: Uint8Array, sp: number, send: number, dst: Uint8Array, dp: number, dend: number, history: number, bias: number, file: string | undefined): number {
  // For copyBytes (byte order is irrelevant: words are read and written alike).
  const sv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const dv = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  for (;;) {
    const at = sp;
    if (sp >= send) throw fault("LZ4 block ends where a sequence token is expected", sp, bias, file);
    const token = src[sp++]!;
    let lits = token >>> 4;
    if (lits === 15) {
      const ext = readExt(src, sp, send);
      if (ext < 0) throw fault("LZ4 literal length runs past the end of the block", at, bias, file);
      lits += ext;
      sp += Math.floor(ext / 255) + 1;
    }
    if (lits > send - sp) throw fault(`LZ4 literal run of ${lits} bytes overruns the block`, at, bias, file);
    if (lits > dend - dp) throw fault("LZ4 literals overrun the output", at, bias, file);
    copyBytes(sv, src, sp, lits, dv, dst, dp);
    dp += lits;
    sp += lits;
    if (sp === send) return dp;

    if (send - sp < 2) throw fault("LZ4 match offset cut off by the end of the block", sp, bias, file);
    const off = src[sp]! | (src[sp + 1]! << 8);
    if (off === 0) throw fault("LZ4 match offset is zero", sp, bias, file);
    if (off > dp - history) throw fault(`LZ4 match offset ${off} reaches before the start of the output`, sp, bias, file);
    sp += 2;
    let ml = token & 15;
    if (ml === 15) {
      const ext = readExt(src, sp, send);
      if (ext < 0) throw fault("LZ4 match length runs past the end of the block", at, bias, file);
      ml += ext;
      sp += Math.floor(ext / 255) + 1;
    }
    ml += 4;
    if (ml > dend - dp) throw fault(`LZ4 match of ${ml} bytes overruns the output`, at, bias, file);
    let m = dp - off;
    if (ml < SHORT_COPY && off >= 4) {
      // A short run goes by words; with 4 <= off every word's source is final before it
      // is read, so this equals the byte-by-byte copy LZ4 defines, overlap or not.
      copyBytes(dv, dst, m, ml, dv, dst, dp);
      dp += ml;
    } else if (off >= ml) {
      dst.copyWithin(dp, m, m + ml);
      dp += ml;
    } else if (off === 1) {
      dst.fill(dst[m]!, dp, dp + ml);
      dp += ml;
    } else if (ml < SHORT_COPY) {
      for (const end = dp + ml; dp < end; ) dst[dp++] = dst[m++]!;
    } else {
      // Overlapping: dst[m, dp) repeats with period `off`, so doubling copies keep it.
      for (const end = dp + ml; dp < end; ) {
        const k = Math.min(dp - m, end - dp);
        dst.copyWithin(dp, m, m + k);
        dp += k;
      }
    }
  }
}

/**
 * `decodeBlock` through native code: the package's addon when it loaded, else lz4-napi
 * (the bytes before `dp` back to `history`, at most 64 KiB, as its dictionary), falling
 * back to the JavaScript decoder when neither is there or the block is refused, so faults
 * are reported (and placed) by one decoder whatever the platform. Internal to the package.
 */
export function decodeBlockFast(
  src: Uint8Array,
  sp: number,
  send: number,
  dst: Uint8Array,
  dp: number,
  dend: number,
  history: number,
  bias: number,
  file: string | undefined,
): number {
  if (hasAddon) {
    const end = addonDecodeBlock(src, sp, send, dst, dp, dend, history);
    return end >= 0 ? end : decodeBlock(src, sp, send, dst, dp, dend, history, bias, file);
  }
  const dict = dp > history ? dst.subarray(Math.max(history, dp - WINDOW), dp) : undefined;
  const end = nativeDecodeBlock(src, sp, send, dst, dp, dend, dict);
  return end >= 0 ? end : decodeBlock(src, sp, send, dst, dp, dend, history, bias, file);
}

/**
 * The most a compressed block of `size` bytes can decompress to: a match sequence
 * turns each length byte into at most 255 output bytes, a literal byte into one.
 */
export function maxDecodedSize(size: number): number {
  return 255 * size;
}

/**
 * Decompresses one raw LZ4 block into dst and returns the number of bytes written.
 * Natively when lz4-napi loaded (see `lz4Backend`), else in JavaScript; the result is
 * the same. Throws LtxError (code "lz4", offset = byte offset in src) on any malformed input:
 * truncated sequence, zero offset, match before the output start, literal/match
 * overrunning src or dst. Never reads or writes out of bounds, never loops forever.
 */
export function lz4DecompressBlock(src: Uint8Array, dst: Uint8Array): number {
  return decodeBlockFast(src, 0, src.length, dst, 0, dst.length, 0, 0, undefined);
}
