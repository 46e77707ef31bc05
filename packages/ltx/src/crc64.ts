/**
 * CRC-64/GO-ISO (Go's `hash/crc64` with the ISO table): reflected polynomial
 * 0xD800000000000000, init and xorout all ones. Every LTX checksum is built on it.
 *
 * Three implementations of the same function, the fastest available taking each input:
 * - the package's C addon (crc64-addon.ts: carry-less multiplies on x86-64 with
 *   PCLMULQDQ, ~6× the WebAssembly kernel on single 4 KiB pages, ~9× on a run of pages
 *   in one call; a table loop elsewhere) for inputs of `ADDON_MIN` bytes or more, below
 *   which its fixed call cost loses;
 * - a WebAssembly kernel (slicing by 16 on native 64-bit integers; 1.5 times the JS
 *   loop's speed, the copy into its memory included) for inputs of `WASM_MIN` bytes or
 *   more where the addon is not built. It is assembled below from a hand-written
 *   instruction list (no toolchain, no dependency) and needs no more than the
 *   `WebAssembly` global;
 * - plain JS (slicing by 8, the state in two 32-bit halves so the hot loop stays in
 *   small integers) for short inputs and wherever neither of the others is available.
 * `SQLREP_CRC64=wasm` or `js` skips the addon (and `js` the kernel), for comparisons.
 */
import { addonCrcPages, addonCrcUpdate, crc64Addon, crcSwitch } from "./crc64-addon.js";

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
    ...i32Const(STATE),
    ...i64Load(0),
    ...localSet(CRC),
    ...localGet(P),
    ...localGet(N),
    ...i32Add,
    ...localSet(END),
    ...localGet(P),
    ...localGet(N),
    ...i32Const(-16),
    ...i32And,
    ...i32Add,
    ...localSet(END16),
    // while (p < end16) { crc = fold(block at p); p += 16 }
    ...loop,
    ...localGet(P),
    ...localGet(END16),
    ...i32GeU,
    ...breakIf,
    ...loads,
    ...fold,
    ...localSet(CRC),
    ...localGet(P),
    ...i32Const(16),
    ...i32Add,
    ...localSet(P),
    ...next,
    // while (p < end) { crc = table0[(crc ^ byte at p) & 0xff] ^ (crc >> 8); p++ }
    ...loop,
    ...localGet(P),
    ...localGet(END),
    ...i32GeU,
    ...breakIf,
    ...localGet(CRC),
    ...i32WrapI64,
    ...localGet(P),
    ...i32Load8U,
    ...i32Xor,
    ...i32Const(0xff),
    ...i32And,
    ...i32Const(3),
    ...i32Shl,
    ...i64Load(0),
    ...localGet(CRC),
    ...i64Const(8),
    ...i64ShrU,
    ...i64Xor,
    ...localSet(CRC),
    ...localGet(P),
    ...i32Const(1),
    ...i32Add,
    ...localSet(P),
    ...next,
    // state = crc
    ...i32Const(STATE),
    ...localGet(CRC),
    ...i64Store(0),
    0x0b,
  ];
}

function kernelModule(): Uint8Array {
  const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
  const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
  const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
  const I32 = 0x7f;
  const I64 = 0x7e;
  const code = [
    ...vec([
      [6, I32],
      [2, I64],
    ]),
    ...kernelBody(),
  ];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0], // "\0asm", version 1
    ...section(1, vec([[0x60, 2, I32, I32, 0]])), // type 0: (i32, i32) -> ()
    ...section(3, vec([[0]])), // function 0 has type 0
    ...section(5, vec([[0x01, 2, 2]])), // memory 0: exactly 2 pages
    ...section(
      7,
      vec([
        [...name("memory"), 0x02, 0],
        [...name("update"), 0x00, 0],
      ]),
    ),
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
  if (typeof WebAssembly !== "object" || crcSwitch === "js") return undefined;
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

/**
 * From this many bytes on, the addon beats the others (measured: packages/ltx/README.md,
 * "CRC-64"). Its call costs ~85 ns: with carry-less multiplies it overtakes the
 * WebAssembly kernel at ~128 bytes (the JS loop at ~80); its table kernel only catches
 * up with the WebAssembly one at ~1 KiB.
 */
const ADDON_MIN = crc64Addon().kernel === "pclmul" || kernel === undefined ? 128 : 1024;

/** Incremental CRC-64/GO-ISO: `update` any number of chunks, then `digest`. */
export class Crc64 {
  // The inverted running state (~crc), as two signed 32-bit halves.
  private l = -1;
  private h = -1;

  /** Feeds bytes; feeding A then B equals feeding A‖B. */
  update(data: Uint8Array): this {
    crcRegister(this.l, this.h, data, scratch);
    this.l = scratch[0]!;
    this.h = scratch[1]!;
    return this;
  }

  /** The CRC of everything fed so far (the state is kept; more updates may follow). */
  digest(): bigint {
    return (BigInt(~this.h >>> 0) << 32n) | BigInt(~this.l >>> 0);
  }
}

const scratch = new Int32Array(2);

/**
 * The CRC register (the inverted state, as low and high 32-bit halves) after feeding
 * `data` to a register holding (l, h), stored in `out[0]`, `out[1]`. Internal to the
 * package: `Crc64` is the public form; the frame-run decoder works on registers so
 * that it never allocates a bigint per page.
 */
export function crcRegister(l: number, h: number, data: Uint8Array, out: Int32Array): void {
  const n = data.length;
  if (addonCrcUpdate !== undefined && n >= ADDON_MIN) addonCrcUpdate(l, h, data, out);
  else if (kernel === undefined || n < WASM_MIN) crcRegisterJs(l, h, data, out);
  else updateWasm(kernel, l, h, data, out);
}

/**
 * `crcRegister` through the WebAssembly kernel whatever the length (for tests and
 * comparisons); false, `out` untouched, when the kernel did not load.
 */
export function crcRegisterWasm(l: number, h: number, data: Uint8Array, out: Int32Array): boolean {
  if (kernel === undefined) return false;
  updateWasm(kernel, l, h, data, out);
  return true;
}

function updateWasm({ view, bytes, update }: Kernel, l: number, h: number, data: Uint8Array, out: Int32Array): void {
  const n = data.length;
  view.setInt32(STATE, l, true);
  view.setInt32(STATE + 4, h, true);
  for (let i = 0; i < n; i += CHUNK) {
    const m = Math.min(CHUNK, n - i);
    bytes.set(m === n ? data : data.subarray(i, i + m), BUF);
    update(BUF, m);
  }
  out[0] = view.getInt32(STATE, true);
  out[1] = view.getInt32(STATE + 4, true);
}

/**
 * For i < count, the register of page i (`data[i × pageSize, (i + 1) × pageSize)`) fed to
 * a zero register, into `out[2i]` (low), `out[2i + 1]` (high): a run's pages in one call
 * into the addon when it is loaded, page by page otherwise. Internal, like `crcRegister`.
 */
export function crcPageRegisters(data: Uint8Array, count: number, pageSize: number, out: Int32Array): void {
  if (!Number.isSafeInteger(count) || count < 0 || !Number.isSafeInteger(pageSize) || pageSize < 1 || count * pageSize > data.length || 2 * count > out.length) {
    throw new RangeError(`crcPageRegisters: ${count} pages of ${pageSize} bytes do not fit in ${data.length} bytes, or their registers in ${out.length} slots`);
  }
  if (addonCrcPages !== undefined) {
    addonCrcPages(data, count, pageSize, out);
    return;
  }
  for (let i = 0; i < count; i++) {
    crcRegister(0, 0, data.subarray(i * pageSize, (i + 1) * pageSize), scratch);
    out[2 * i] = scratch[0]!;
    out[2 * i + 1] = scratch[1]!;
  }
}

/**
 * `crcRegister` in JS (slicing by 8) whatever the length: the fallback of the other two,
 * and their reference in tests. `from`/`to` hash part of `data` without a view of it
 * (a view per page frame was garbage enough to show in the decoder's GC time).
 */
export function crcRegisterJs(l: number, h: number, data: Uint8Array, out: Int32Array, from = 0, to = data.length): void {
  let i = from;
  const n = to;
  const end8 = n - ((n - from) % 8);
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
  out[0] = l;
  out[1] = h;
}

/** CRC-64/GO-ISO of one buffer. */
export function crc64(data: Uint8Array): bigint {
  return new Crc64().update(data).digest();
}

// ---------------------------------------------------------------------------
// Combining. The register after n zero bytes is a linear function of the register
// before them: multiplication by x^(8n) modulo the polynomial, in the reflected bit
// order the tables use (bit 63 is the coefficient of x^0). Hence, with L_n that map,
// crc(A‖B) = L_|B|(crc(A)) ^ crc(B): the init and final inversions cancel out.

/**
 * (ah, al) × (bh, bl) modulo the polynomial, reflected, into out[0] (low), out[1] (high).
 * `a` must not be 0 (powers of x never are).
 */
function multModP(ah: number, al: number, bh: number, bl: number, out: Int32Array): void {
  let ph = 0;
  let pl = 0;
  for (let i = 63; i >= 0; i--) {
    if ((i >= 32 ? ah >>> (i - 32) : al >>> i) & 1) {
      ph ^= bh;
      pl ^= bl;
    }
    const carry = bl & 1;
    bl = (bl >>> 1) | (bh << 31);
    bh >>>= 1;
    if (carry) bh ^= 0xd8000000;
  }
  out[0] = pl;
  out[1] = ph;
}

/** x^(2^k) modulo the polynomial for k = 0…63, as (low, high) pairs: built on first use. */
let powers: Int32Array | undefined;

/** x^(8n) modulo the polynomial (the operator of n zero bytes) into out[0] (low), out[1] (high). */
function zeroBytesOperator(n: number, out: Int32Array): void {
  if (powers === undefined) {
    powers = new Int32Array(128);
    powers[1] = 1 << 30; // x^1: bit 62
    const t = new Int32Array(2);
    for (let k = 1; k < 64; k++) {
      const h = powers[2 * k - 1]!;
      const l = powers[2 * k - 2]!;
      multModP(h, l, h, l, t);
      powers[2 * k] = t[0]!;
      powers[2 * k + 1] = t[1]!;
    }
  }
  let pl = 0;
  let ph = 1 << 31; // x^0
  const t = new Int32Array(2);
  // n bytes are 8n bits: start at x^(2^3).
  for (let k = 3; n > 0; k++, n = Math.floor(n / 2)) {
    if (n % 2 === 1) {
      multModP(powers[2 * k + 1]!, powers[2 * k]!, ph, pl, t);
      pl = t[0]!;
      ph = t[1]!;
    }
  }
  out[0] = pl;
  out[1] = ph;
}

/**
 * The CRC-64/GO-ISO of A‖B from the CRCs of A and B and the length of B: lets parts of a
 * stream be checksummed separately (on several threads) and still give the checksum of
 * the whole. `lengthB` is a byte count up to `Number.MAX_SAFE_INTEGER`.
 */
export function crc64Combine(crcA: bigint, crcB: bigint, lengthB: number): bigint {
  if (!Number.isSafeInteger(lengthB) || lengthB < 0) throw new RangeError(`crc64Combine: invalid length ${lengthB}`);
  const op = new Int32Array(2);
  zeroBytesOperator(lengthB, op);
  const out = new Int32Array(2);
  multModP(op[1]!, op[0]!, Number((crcA >> 32n) & 0xffffffffn) | 0, Number(crcA & 0xffffffffn) | 0, out);
  return crcB ^ ((BigInt(out[1]! >>> 0) << 32n) | BigInt(out[0]! >>> 0));
}

/**
 * The map "feed n zero bytes" on CRC registers, for one fixed n, as eight 256-entry tables
 * (one per byte of the register; the map is linear, so their entries XOR together).
 * Internal: the frame-run decoder checksums each page's bytes once and places that CRC
 * both in the file checksum stream and behind the page number of its page checksum.
 */
export class ZeroBytesShift {
  private readonly lo = new Int32Array(8 * 256);
  private readonly hi = new Int32Array(8 * 256);

  constructor(readonly n: number) {
    const op = new Int32Array(2);
    zeroBytesOperator(n, op);
    const t = new Int32Array(2);
    for (let k = 0; k < 8; k++) {
      for (let b = 1; b < 256; b++) {
        const shift = 8 * (k & 3);
        multModP(op[1]!, op[0]!, k >= 4 ? b << shift : 0, k < 4 ? b << shift : 0, t);
        this.lo[k * 256 + b] = t[0]!;
        this.hi[k * 256 + b] = t[1]!;
      }
    }
  }

  /** L_n(l, h) into out[0] (low), out[1] (high). */
  apply(l: number, h: number, out: Int32Array): void {
    const { lo: L, hi: H } = this;
    const i0 = l & 0xff;
    const i1 = 256 + ((l >>> 8) & 0xff);
    const i2 = 512 + ((l >>> 16) & 0xff);
    const i3 = 768 + (l >>> 24);
    const i4 = 1024 + (h & 0xff);
    const i5 = 1280 + ((h >>> 8) & 0xff);
    const i6 = 1536 + ((h >>> 16) & 0xff);
    const i7 = 1792 + (h >>> 24);
    out[0] = L[i0]! ^ L[i1]! ^ L[i2]! ^ L[i3]! ^ L[i4]! ^ L[i5]! ^ L[i6]! ^ L[i7]!;
    out[1] = H[i0]! ^ H[i1]! ^ H[i2]! ^ H[i3]! ^ H[i4]! ^ H[i5]! ^ H[i6]! ^ H[i7]!;
  }
}
