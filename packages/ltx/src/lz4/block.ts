/**
 * Raw LZ4 blocks: a compressor that reproduces pierrec/lz4 v4's "fast"
 * compressor byte for byte (ltx-spec Appendix B), and a bounds-checked decoder.
 */
import { LtxError } from "../errors.js";

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
 * The compressor's hash table, reused across calls: one slot per 16-bit hash
 * holding `(generation << 16) | (position & 0xffff)`. A slot written by an
 * earlier call carries an older generation and reads as unused, which stands in
 * for pierrec's "clear the table and its in-use bits at every call" without
 * clearing 256 KiB per page.
 */
const table = new Int32Array(0x10000);
let generation = 0;

function nextGeneration(): number {
  if (++generation > 0x7fff) {
    table.fill(0);
    generation = 1;
  }
  return generation;
}

function load32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

/**
 * Bits 48…63 of `(x << 16) * 227718039650203 mod 2^64` for the 6 bytes at `p`,
 * i.e. bits 32…47 of `x48 * K`, computed on 16-bit limbs modulo 2^32.
 */
function hashAt(b: Uint8Array, p: number): number {
  const x0 = b[p]! | (b[p + 1]! << 8);
  const x1 = b[p + 2]! | (b[p + 3]! << 8);
  const x2 = b[p + 4]! | (b[p + 5]! << 8);
  const carry = (Math.imul(x0, K1) + Math.imul(x1, K0) + (Math.imul(x0, K0) >>> 16)) >>> 16;
  return (Math.imul(x0, K2) + Math.imul(x1, K1) + Math.imul(x2, K0) + carry) & 0xffff;
}

/** pierrec's candidate for `pos`: the slot's 16 bits placed in pos's 64 KiB window, or the window before. */
function candidate(tag: number, h: number, pos: number): number {
  const e = table[h]!;
  const r = ((e >>> 16 === tag ? e & 0xffff : 0) + (pos & ~0xffff)) | 0;
  return r >= pos ? r - WINDOW : r;
}

function remember(tag: number, h: number, pos: number): void {
  table[h] = (tag << 16) | (pos & 0xffff);
}

function accepted(src: Uint8Array, r: number, p: number): boolean {
  const off = p - r;
  return off > 0 && off < WINDOW && load32(src, r) === load32(src, p);
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

function copyBytes(src: Uint8Array, from: number, n: number, dst: Uint8Array, to: number): void {
  if (n < SHORT_COPY) {
    for (let k = 0; k < n; k++) dst[to + k] = src[from + k]!;
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
  const tag = nextGeneration();
  let si = 0;
  let anchor = 0;
  let di = dStart;

  while (si < sn) {
    const h1 = hashAt(src, si);
    const h2 = hashAt(src, si + 1);
    const r1 = candidate(tag, h1, si);
    const r2 = candidate(tag, h2, si + 1);
    remember(tag, h1, si);
    remember(tag, h2, si + 1);
    let ref = r1;
    if (!accepted(src, r1, si)) {
      const h3 = hashAt(src, si + 2);
      const r3 = candidate(tag, h3, si + 2);
      si += 1;
      ref = r2;
      if (!accepted(src, r2, si)) {
        si += 1;
        remember(tag, h3, si);
        ref = r3;
        if (!accepted(src, r3, si)) {
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
      const a = load32(src, si) ^ load32(src, si - off);
      if (a !== 0) {
        si += (31 - Math.clz32(a & -a)) >> 3;
        break;
      }
      const b = load32(src, si + 4) ^ load32(src, si + 4 - off);
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
    copyBytes(src, anchor, lits, dst, di);
    di += lits;
    dst[di++] = off & 0xff;
    dst[di++] = off >>> 8;
    if (extra >= 15) di = writeExt(dst, di, extra - 15);
    anchor = si;

    if (si >= sn) break;
    remember(tag, hashAt(src, si - 2), si - 2);
  }

  if (rawIfNoMatch && anchor === 0) return 0;
  const lits = n - anchor;
  if (di + 1 + extBytes(lits) + lits > dEnd) return 0;
  dst[di++] = Math.min(lits, 15) << 4;
  if (lits >= 15) di = writeExt(dst, di, lits - 15);
  copyBytes(src, anchor, lits, dst, di);
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

/** Compresses `src` into `dst[dStart…]` as pierrec's frame writer does: 0 means "store raw". */
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
 * Where a block stands after parsing the sequence at `sp`: the checks shared by the
 * decoder and by {@link lz4BlockDecodedLength}, kept in module state so the hot loop
 * allocates nothing.
 */
let seqLiterals = 0;
let seqMatch = 0; // match length, 0 for the closing literals-only sequence
let seqOffset = 0;
let seqLiteralsAt = 0;
let seqNext = 0;

/** Parses the sequence at `sp` (fills the seq* variables) or throws on a truncated one. */
function parseSequence(src: Uint8Array, sp: number, send: number, bias: number, file: string | undefined): void {
  if (sp >= send) throw fault("LZ4 block ends where a sequence token is expected", sp, bias, file);
  const token = src[sp]!;
  let p = sp + 1;
  let lits = token >>> 4;
  if (lits === 15) {
    const ext = readExt(src, p, send);
    if (ext < 0) throw fault("LZ4 literal length runs past the end of the block", sp, bias, file);
    lits += ext;
    p += Math.floor(ext / 255) + 1;
  }
  if (lits > send - p) throw fault(`LZ4 literal run of ${lits} bytes overruns the block`, sp, bias, file);
  seqLiterals = lits;
  seqLiteralsAt = p;
  p += lits;
  if (p === send) {
    seqMatch = 0;
    seqNext = p;
    return;
  }
  if (send - p < 2) throw fault("LZ4 match offset cut off by the end of the block", p, bias, file);
  seqOffset = src[p]! | (src[p + 1]! << 8);
  if (seqOffset === 0) throw fault("LZ4 match offset is zero", p, bias, file);
  p += 2;
  let match = token & 15;
  if (match === 15) {
    const ext = readExt(src, p, send);
    if (ext < 0) throw fault("LZ4 match length runs past the end of the block", sp, bias, file);
    match += ext;
    p += Math.floor(ext / 255) + 1;
  }
  seqMatch = match + 4;
  seqNext = p;
}

/**
 * Decompresses the block `src[sp, send)` into `dst[dp, dend)`; matches may reach back
 * to `dst[history]` (the output start, or earlier output for dependent frame blocks).
 * Returns the end of the output. Error offsets are `bias` + the index in `src`.
 */
export function decodeBlock(
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
  for (;;) {
    const at = sp;
    parseSequence(src, sp, send, bias, file);
    const lits = seqLiterals;
    if (lits > dend - dp) throw fault("LZ4 literals overrun the output buffer", at, bias, file);
    copyBytes(src, seqLiteralsAt, lits, dst, dp);
    dp += lits;
    sp = seqNext;
    const ml = seqMatch;
    if (ml === 0) return dp;
    const off = seqOffset;
    if (off > dp - history) throw fault(`LZ4 match offset ${off} reaches before the start of the output`, at, bias, file);
    if (ml > dend - dp) throw fault("LZ4 match overruns the output buffer", at, bias, file);
    let m = dp - off;
    if (off >= ml) {
      copyBytes(dst, m, ml, dst, dp);
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
 * The number of bytes the block `src[sp, send)` decompresses to, from its sequence
 * headers alone (nothing is copied), so callers can allocate the exact output. Throws
 * like the decoder on a truncated block, and when the output would exceed `limit`.
 */
export function lz4BlockDecodedLength(
  src: Uint8Array,
  sp: number,
  send: number,
  limit: number,
  bias: number,
  file: string | undefined,
): number {
  let total = 0;
  for (;;) {
    const at = sp;
    parseSequence(src, sp, send, bias, file);
    total += seqLiterals + seqMatch;
    if (total > limit) throw fault(`LZ4 block decompresses to more than ${limit} bytes`, at, bias, file);
    if (seqMatch === 0) return total;
    sp = seqNext;
  }
}

/**
 * Decompresses one raw LZ4 block into dst and returns the number of bytes written.
 * Throws LtxError (code "lz4", offset = byte offset in src) on any malformed input:
 * truncated sequence, zero offset, match before the output start, literal/match
 * overrunning src or dst. Never reads or writes out of bounds, never loops forever.
 */
export function lz4DecompressBlock(src: Uint8Array, dst: Uint8Array): number {
  return decodeBlock(src, 0, src.length, dst, 0, dst.length, 0, 0, undefined);
}
