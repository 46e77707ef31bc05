/**
 * CRC-64/GO-ISO (Go's `hash/crc64` with the ISO table): reflected polynomial
 * 0xD800000000000000, init and xorout all ones. Every LTX checksum is built on it.
 *
 * Two implementations of the same table-driven algorithm, with the same tables:
 * - a WebAssembly kernel (slicing by 16 on native 64-bit integers; 1.5 times the JS
 *   loop's speed, the copy into its memory included) for inputs of `WASM_MIN` bytes or
 *   more. It is assembled below from a hand-written instruction list (no toolchain, no
 *   dependency) and needs no more than the `WebAssembly` global;
 * - plain JS (slicing by 8, the state in two 32-bit halves so the hot loop stays in
 *   small integers) for short inputs and wherever WebAssembly is unavailable.
 */

/** Slicing tables: lo[t * 256 + i] / hi[t * 256 + i] are the halves of entry i of table t. */
const TABLES = 16;
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
  // Table t advances a byte through t further zero bytes.
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

// ---------------------------------------------------------------------------
// The WebAssembly kernel.
//
// Linear memory (2 pages, little-endian like all wasm memory):
//   [0, 32768)        the 16 tables, entry i of table t as an i64 at t * 2048 + i * 8
//   [32768, 32776)    the inverted CRC state, an i64
//   [65536, 131072)   the input buffer: JS copies each chunk of up to 64 KiB here
// Export "update"(p: i32, n: i32): folds memory[p, p + n) into the state.

const STATE = 32768;
const BUF = 65536;
const CHUNK = 65536;
/** Below this many bytes the JS loop wins (no copy, no call into wasm). */
const WASM_MIN = 64;

/** Unsigned and signed LEB128, the integer encodings of the wasm binary format. */
function uleb(v: number): number[] {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}
function sleb(v: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}

// Locals of "update": the two parameters, then i32 scratch, then the i64 state.
const P = 0; // i32 param: input pointer, advanced as bytes are consumed
const N = 1; // i32 param: input length
const END = 2; // i32: p + n
const END16 = 3; // i32: end of the whole 16-byte blocks
const W = [4, 5, 6, 7]; // i32: the four 32-bit words of a block
const CRC = 8; // i64: the inverted state
const X = 9; // i64: a loaded 8-byte word

// The instructions used, by their .wat names.
const localGet = (i: number): number[] => [0x20, i];
const localSet = (i: number): number[] => [0x21, i];
const localTee = (i: number): number[] => [0x22, i];
const i32Const = (v: number): number[] => [0x41, ...sleb(v)];
const i64Const = (v: number): number[] => [0x42, ...sleb(v)];
const i64Load = (offset: number): number[] => [0x29, 3, ...uleb(offset)];
const i64Store = (offset: number): number[] => [0x37, 3, ...uleb(offset)];
const i32Load8U = [0x2d, 0, 0];
const [i32Add, i32And, i32Xor, i32Shl, i32ShrU, i32GeU] = [[0x6a], [0x71], [0x73], [0x74], [0x76], [0x4f]];
const [i64Xor, i64ShrU, i32WrapI64] = [[0x85], [0x88], [0xa7]];
const loop = [0x02, 0x40, 0x03, 0x40]; // block $exit (loop $next
const breakIf = [0x0d, 1]; // br_if $exit
const next = [0x0c, 0, 0x0b, 0x0b]; // br $next) end

/** `table[t][byte k of word w]` as an i64: the byte, scaled by 8, is the address in table t. */
function lookup(w: number, k: number, t: number): number[] {
  const index = k === 0 ? [...localGet(w), ...i32Const(3), ...i32Shl] : [...localGet(w), ...i32Const(8 * k - 3), ...i32ShrU];
  return [...index, ...i32Const(0x7f8), ...i32And, ...i64Load(t * 2048)];
}

function kernelBody(): number[] {
  // Load a block as four words, the first two xored with the state.
  const loads: number[] = [];
  for (let half = 0; half < 2; half++) {
    loads.push(...localGet(P), ...i64Load(half * 8));
    if (half === 0) loads.push(...localGet(CRC), ...i64Xor);
    loads.push(...localTee(X), ...i32WrapI64, ...localSet(W[2 * half]!));
    loads.push(...localGet(X), ...i64Const(32), ...i64ShrU, ...i32WrapI64, ...localSet(W[2 * half + 1]!));
  }
  // Byte j of the block goes through table 15 - j; the 16 entries are xored together.
  const fold: number[] = [];
  for (let j = 0; j < 16; j++) {
    fold.push(...lookup(W[j >> 2]!, j & 3, 15 - j));
    if (j > 0) fold.push(...i64Xor);
  }
  return [
    // crc = state; end = p + n; end16 = p + (n & ~15)
    ...i32Const(STATE), ...i64Load(0), ...localSet(CRC),
    ...localGet(P), ...localGet(N), ...i32Add, ...localSet(END),
    ...localGet(P), ...localGet(N), ...i32Const(-16), ...i32And, ...i32Add, ...localSet(END16),
    // while (p < end16) { crc = fold(block at p); p += 16 }
    ...loop,
    ...localGet(P), ...localGet(END16), ...i32GeU, ...breakIf,
    ...loads, ...fold, ...localSet(CRC),
    ...localGet(P), ...i32Const(16), ...i32Add, ...localSet(P),
    ...next,
    // while (p < end) { crc = table0[(crc ^ byte at p) & 0xff] ^ (crc >> 8); p++ }
    ...loop,
    ...localGet(P), ...localGet(END), ...i32GeU, ...breakIf,
    ...localGet(CRC), ...i32WrapI64, ...localGet(P), ...i32Load8U, ...i32Xor,
    ...i32Const(0xff), ...i32And, ...i32Const(3), ...i32Shl, ...i64Load(0),
    ...localGet(CRC), ...i64Const(8), ...i64ShrU, ...i64Xor, ...localSet(CRC),
    ...localGet(P), ...i32Const(1), ...i32Add, ...localSet(P),
    ...next,
    // state = crc
    ...i32Const(STATE), ...localGet(CRC), ...i64Store(0),
    0x0b,
  ];
}

function kernelModule(): Uint8Array {
  const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
  const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
  const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
  const I32 = 0x7f;
  const I64 = 0x7e;
  const code = [...vec([[6, I32], [2, I64]]), ...kernelBody()];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0], // "\0asm", version 1
    ...section(1, vec([[0x60, 2, I32, I32, 0]])), // type 0: (i32, i32) -> ()
    ...section(3, vec([[0]])), // function 0 has type 0
    ...section(5, vec([[0x01, 2, 2]])), // memory 0: exactly 2 pages
    ...section(7, vec([[...name("memory"), 0x02, 0], [...name("update"), 0x00, 0]])),
    ...section(10, vec([[...uleb(code.length), ...code]])),
  ]);
}

/**
 * The part of the WebAssembly JS API used here (this package compiles without the DOM
 * lib that declares it); absent in some runtimes, hence the `typeof` check.
 */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
};

interface Kernel {
  update: (p: number, n: number) => void;
  bytes: Uint8Array;
  view: DataView;
}

function loadKernel(): Kernel | undefined {
  if (typeof WebAssembly !== "object") return undefined;
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(kernelModule()));
    const memory = instance.exports["memory"] as { buffer: ArrayBuffer };
    const kernel: Kernel = {
      update: instance.exports["update"] as Kernel["update"],
      bytes: new Uint8Array(memory.buffer),
      view: new DataView(memory.buffer),
    };
    for (let i = 0; i < TABLES * 256; i++) {
      kernel.view.setInt32(i * 8, lo[i]!, true);
      kernel.view.setInt32(i * 8 + 4, hi[i]!, true);
    }
    return kernel;
  } catch {
    // WebAssembly present but not allowed to compile (a CSP, --jitless): the JS loop it is.
    return undefined;
  }
}

const kernel = loadKernel();

/** Incremental CRC-64/GO-ISO: `update` any number of chunks, then `digest`. */
export class Crc64 {
  // The inverted running state (~crc), as two signed 32-bit halves.
  private l = -1;
  private h = -1;

  /** Feeds bytes; feeding A then B equals feeding A‖B. */
  update(data: Uint8Array): this {
    const n = data.length;
    if (kernel === undefined || n < WASM_MIN) return this.updateJs(data);
    const { view, bytes, update } = kernel;
    view.setInt32(STATE, this.l, true);
    view.setInt32(STATE + 4, this.h, true);
    for (let i = 0; i < n; i += CHUNK) {
      const m = Math.min(CHUNK, n - i);
      bytes.set(m === n ? data : data.subarray(i, i + m), BUF);
      update(BUF, m);
    }
    this.l = view.getInt32(STATE, true);
    this.h = view.getInt32(STATE + 4, true);
    return this;
  }

  /** JS slicing by 8. */
  private updateJs(data: Uint8Array): this {
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
