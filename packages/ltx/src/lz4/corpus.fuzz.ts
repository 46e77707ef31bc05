/**
 * Test support for the LZ4 tests (not shipped: `*.fuzz.ts` is excluded from the
 * build): seeded sample data, a frame builder for the options pierrec never writes,
 * input mutations, and deliberately naive reference decoders for differential fuzzing.
 */
import { xxhash32 } from "./xxhash32.js";

/** A seeded PRNG (mulberry32): the same seed gives the same sequence on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [0, n). */
export function below(next: () => number, n: number): number {
  return Math.floor(next() * n);
}

export const SAMPLE_KINDS = ["random", "zeros", "text", "page", "runs", "mixed"] as const;
export type SampleKind = (typeof SAMPLE_KINDS)[number];

const WORDS = ["sqlite", "page", "frame", "replica", "litestream", "wal", "checkpoint", "ltx", "txid", "lz4", " ", ", ", "\n"];

/** `size` bytes of a given character, from incompressible to highly compressible. */
export function sample(kind: SampleKind, size: number, seed: number): Uint8Array {
  const next = rng(seed);
  const out = new Uint8Array(size);
  switch (kind) {
    case "random":
      for (let i = 0; i < size; i++) out[i] = below(next, 256);
      break;
    case "zeros":
      break;
    case "text": {
      for (let i = 0; i < size; ) {
        const w = WORDS[below(next, WORDS.length)]!;
        for (let k = 0; k < w.length && i < size; k++) out[i++] = w.charCodeAt(k);
      }
      break;
    }
    case "page": {
      // B-tree-page-like: a header, little-endian cell pointers, records with small ints and text.
      for (let i = 0; i < Math.min(size, 8); i++) out[i] = [13, 0, 0, 0, 40, 15, 0, 0][i]!;
      for (let i = 8; i < size; ) {
        const rowid = below(next, 5000);
        const rec = [3, 0x04, 0x17 + 2 * below(next, 20), rowid >> 8, rowid & 255];
        for (const b of rec) if (i < size) out[i++] = b;
        const w = WORDS[below(next, 10)]!;
        for (let k = 0; k < w.length && i < size; k++) out[i++] = w.charCodeAt(k);
        if (next() < 0.2) for (let k = 0; k < 8 && i < size; k++) out[i++] = below(next, 256);
      }
      break;
    }
    case "runs":
      for (let i = 0; i < size; ) {
        const period = 1 + below(next, 9);
        const pattern = Array.from({ length: period }, () => below(next, 256));
        const len = 1 + below(next, 300);
        for (let k = 0; k < len && i < size; k++) out[i++] = pattern[k % period]!;
      }
      break;
    case "mixed": {
      let i = 0;
      while (i < size) {
        const part = sample(SAMPLE_KINDS[below(next, 5)]!, Math.min(size - i, 1 + below(next, 4096)), below(next, 1e9));
        out.set(part, i);
        i += part.length;
      }
      break;
    }
  }
  return out;
}

function u32le(v: number): number[] {
  return [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24];
}

/** One block of a hand-built frame: its payload as stored and whether it is compressed. */
export interface BuiltBlock {
  payload: Uint8Array;
  compressed: boolean;
}

/** Options of {@link buildFrame}, covering the frame features pierrec never writes. */
export interface BuildFrameOptions {
  blocks: BuiltBlock[];
  content: Uint8Array;
  blockSizeCode?: number;
  independent?: boolean;
  blockChecksum?: boolean;
  contentChecksum?: boolean;
  contentSize?: number;
}

/** Assembles an LZ4 frame byte by byte from the frame-format description. */
export function buildFrame(o: BuildFrameOptions): Uint8Array {
  const flg = 0x40 | ((o.independent ?? true) ? 0x20 : 0) | (o.blockChecksum ? 0x10 : 0) | (o.contentSize !== undefined ? 0x08 : 0) | ((o.contentChecksum ?? true) ? 0x04 : 0);
  const descriptor = [flg, (o.blockSizeCode ?? 4) << 4];
  if (o.contentSize !== undefined) {
    descriptor.push(...u32le(o.contentSize % 2 ** 32), ...u32le(Math.floor(o.contentSize / 2 ** 32)));
  }
  const bytes = [0x04, 0x22, 0x4d, 0x18, ...descriptor, (xxhash32(Uint8Array.from(descriptor)) >>> 8) & 255];
  for (const b of o.blocks) {
    bytes.push(...u32le((b.payload.length | (b.compressed ? 0 : 0x80000000)) >>> 0), ...b.payload);
    if (o.blockChecksum) bytes.push(...u32le(xxhash32(b.payload)));
  }
  bytes.push(0, 0, 0, 0);
  if (o.contentChecksum ?? true) bytes.push(...u32le(xxhash32(o.content)));
  return Uint8Array.from(bytes);
}

/** A copy of `input` with 1–3 random edits (bit flips, byte writes, cuts, inserts, deletions, copies). */
export function mutate(input: Uint8Array, next: () => number): Uint8Array {
  let b = Array.from(input);
  const edits = 1 + below(next, 3);
  for (let e = 0; e < edits; e++) {
    const at = below(next, Math.max(1, b.length));
    switch (below(next, 7)) {
      case 0:
        if (b.length) b[at] = b[at]! ^ (1 << below(next, 8));
        break;
      case 1:
        if (b.length) b[at] = below(next, 256);
        break;
      case 2:
        if (b.length) b[at] = next() < 0.5 ? 0 : 255;
        break;
      case 3:
        b = b.slice(0, at);
        break;
      case 4:
        b.splice(at, 0, below(next, 256));
        break;
      case 5:
        b.splice(at, 1 + below(next, 4));
        break;
      case 6: {
        const from = below(next, Math.max(1, b.length));
        b.splice(at, 0, ...b.slice(from, from + 1 + below(next, 16)));
        break;
      }
    }
  }
  return Uint8Array.from(b);
}

/**
 * The LZ4 block format read the slow, obvious way: a sequence is a token, literal
 * length bytes, literals, then (unless the block ends) a non-zero 2-byte offset no
 * further back than the output so far (which may start with `history`) and match
 * length bytes. Returns the new output, or null on any fault.
 */
export function referenceDecodeBlock(src: Uint8Array, capacity: number, history: readonly number[] = []): Uint8Array | null {
  const out: number[] = [...history];
  capacity += history.length;
  let p = 0;
  const length = (base: number): number | null => {
    let n = base;
    if (base !== 15) return n;
    for (;;) {
      if (p >= src.length) return null;
      const b = src[p++]!;
      n += b;
      if (b !== 255) return n;
    }
  };
  for (;;) {
    if (p >= src.length) return null;
    const token = src[p++]!;
    const lits = length(token >> 4);
    if (lits === null || p + lits > src.length || out.length + lits > capacity) return null;
    for (let k = 0; k < lits; k++) out.push(src[p++]!);
    if (p === src.length) return Uint8Array.from(out.slice(history.length));
    if (p + 2 > src.length) return null;
    const off = src[p]! | (src[p + 1]! << 8);
    p += 2;
    if (off === 0 || off > out.length) return null;
    const ml = length(token & 15);
    if (ml === null || out.length + ml + 4 > capacity) return null;
    for (let k = 0; k < ml + 4; k++) out.push(out[out.length - off]!);
  }
}

/**
 * The LZ4 frame format read the slow, obvious way (the same acceptance rules as the
 * real decoder: a size word whose low 31 bits are zero ends the blocks). Returns null
 * on any fault.
 */
export function referenceDecodeFrame(src: Uint8Array, offset: number): { data: Uint8Array; end: number } | null {
  const u32 = (i: number): number | null => (i + 4 <= src.length ? (src[i]! | (src[i + 1]! << 8) | (src[i + 2]! << 16) | (src[i + 3]! << 24)) >>> 0 : null);
  if (u32(offset) !== 0x184d2204 || offset + 7 > src.length) return null;
  const flg = src[offset + 4]!;
  const bd = src[offset + 5]!;
  if (flg >> 6 !== 1 || flg & 3 || bd & 0x8f || bd >> 4 < 4) return null;
  const blockMax = 1 << (2 * (bd >> 4) + 8);
  const headerLength = flg & 8 ? 15 : 7;
  if (offset + headerLength > src.length) return null;
  const descriptor = src.subarray(offset + 4, offset + headerLength - 1);
  if (src[offset + headerLength - 1] !== ((xxhash32(descriptor) >>> 8) & 255)) return null;
  const declared = flg & 8 ? u32(offset + 6)! + u32(offset + 10)! * 2 ** 32 : undefined;
  const out: number[] = [];
  let p = offset + headerLength;
  for (;;) {
    const word = u32(p);
    if (word === null) return null;
    p += 4;
    const size = word & 0x7fffffff;
    if (size === 0) break;
    if (size > blockMax || p + size + (flg & 0x10 ? 4 : 0) > src.length) return null;
    const payload = src.subarray(p, p + size);
    p += size;
    if (flg & 0x10) {
      if (u32(p) !== xxhash32(payload)) return null;
      p += 4;
    }
    if (word >>> 31) {
      for (const v of payload) out.push(v);
    } else {
      // Dependent blocks see the previous 64 KiB of output.
      const block = referenceDecodeBlock(payload, blockMax, flg & 0x20 ? [] : out.slice(-65536));
      if (block === null) return null;
      for (const v of block) out.push(v);
    }
  }
  if (declared !== undefined && declared !== out.length) return null;
  const data = Uint8Array.from(out);
  if (flg & 4) {
    if (u32(p) !== xxhash32(data)) return null;
    p += 4;
  }
  return { data, end: p };
}
