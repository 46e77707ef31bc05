/**
 * The native LZ4 codec (npm `lz4-napi`: lz4_flex, in Rust, bounds-checked) when it loads,
 * and the choice between it and the JavaScript codec of block.ts. Native blocks decode
 * ~1.7× and compress ~2.5× faster than the JavaScript here (packages/ltx/README.md);
 * the JavaScript compressor stays for output byte-identical to the Go reference.
 */
import { createRequire } from "node:module";
import { LtxError } from "../errors.js";

/** Which LZ4 compressor writes: `native` (lz4-napi) or `js` (the port of pierrec/lz4, byte-exact with Go). */
export type Lz4Codec = "native" | "js";

/** The part of lz4-napi used here. Its blocks carry a 4-byte little-endian size prefix. */
interface Lz4Napi {
  compressSync(data: Uint8Array): Uint8Array;
  uncompressSync(data: Uint8Array, dict?: Uint8Array): Uint8Array;
}

function load(): { codec: Lz4Napi | undefined; reason: string | undefined } {
  const env = typeof process === "undefined" ? undefined : process.env["SQLREP_LZ4"];
  if (env === "js") return { codec: undefined, reason: "SQLREP_LZ4=js" };
  try {
    return { codec: createRequire(import.meta.url)("lz4-napi") as Lz4Napi, reason: undefined };
  } catch (err) {
    // No prebuilt binary for this platform, or a runtime without N-API.
    return { codec: undefined, reason: `lz4-napi did not load: ${(err as Error).message.split("\n")[0]}` };
  }
}

const loaded = load();
const napi = loaded.codec;

/**
 * Which LZ4 codec this process uses by default, and why not the native one when it is
 * not (`SQLREP_LZ4=js` in the environment, or lz4-napi has no binary for the platform).
 * Decoding always tries the native codec first when it loaded.
 */
export function lz4Backend(): { codec: Lz4Codec; reason: string | undefined } {
  return { codec: napi === undefined ? "js" : "native", reason: loaded.reason };
}

/** Whether to compress natively for `choice` (default: when lz4-napi loaded); "native" without it is an error. */
export function useNativeCompressor(choice: Lz4Codec | undefined): boolean {
  if (choice === "js") return false;
  if (choice === "native" && napi === undefined) throw new LtxError("unsupported", `the native LZ4 codec is not available (${loaded.reason})`);
  return napi !== undefined;
}

/** Compresses `src` into one raw LZ4 block with lz4-napi (a view on its output). */
export function nativeCompressBlock(src: Uint8Array): Uint8Array {
  return napi!.compressSync(src).subarray(4);
}

/**
 * Below this much room the JavaScript decoder wins: a native call costs about a
 * microsecond more, which 1 KiB pages do not amortize (bench: 1 KiB blocks decode at
 * 289 MB/s in JS, 157 MB/s natively; 4 KiB blocks 317 against 391).
 */
const NATIVE_DECODE_MIN = 4096;

/** Input staging for the size prefix lz4-napi expects, reused (with a view on it). */
let staging = new Uint8Array(0);
let stagingView = new DataView(staging.buffer);

/**
 * Decodes the block `src[sp, send)` into `dst[dp, dend)` with lz4-napi; returns the end of
 * the output, or -1 when the native codec is absent, the output is small (under 4 KiB,
 * where JavaScript is faster) or lz4-napi refused the block: the caller then decodes
 * with the JavaScript decoder, which also places a fault exactly. `dict`: the
 * output a dependent block may reach back into.
 */
export function nativeDecodeBlock(src: Uint8Array, sp: number, send: number, dst: Uint8Array, dp: number, dend: number, dict?: Uint8Array): number {
  if (napi === undefined || dend - dp < NATIVE_DECODE_MIN) return -1;
  const size = send - sp;
  if (staging.length < size + 4) {
    staging = new Uint8Array(Math.max(size + 4, 2 * staging.length));
    stagingView = new DataView(staging.buffer);
  }
  // The prefix is the room there is: lz4_flex fails rather than write past it.
  stagingView.setUint32(0, dend - dp, true);
  staging.set(src.subarray(sp, send), 4);
  return take(() => napi.uncompressSync(staging.subarray(0, size + 4), dict), dst, dp, dend);
}

/**
 * `nativeDecodeBlock` for a block whose 4 bytes before it (`src[sp − 4, sp)`) belong to
 * the caller and may be overwritten for the duration of the call (a v3-block frame's
 * size field, in a run buffer of its own): lz4-napi's size prefix goes there, so the
 * block is not copied. The 4 bytes are put back before returning.
 */
export function nativeDecodeBlockInPlace(src: Uint8Array, sp: number, send: number, dst: Uint8Array, dp: number, dend: number): number {
  if (napi === undefined || dend - dp < NATIVE_DECODE_MIN || sp < 4) return -1;
  const p = sp - 4;
  const b0 = src[p]!;
  const b1 = src[p + 1]!;
  const b2 = src[p + 2]!;
  const b3 = src[p + 3]!;
  const room = dend - dp;
  src[p] = room & 0xff;
  src[p + 1] = (room >>> 8) & 0xff;
  src[p + 2] = (room >>> 16) & 0xff;
  src[p + 3] = room >>> 24;
  try {
    return take(() => napi.uncompressSync(src.subarray(p, send)), dst, dp, dend);
  } finally {
    src[p] = b0;
    src[p + 1] = b1;
    src[p + 2] = b2;
    src[p + 3] = b3;
  }
}

/** Runs a native decode and copies its output to `dst[dp…]`; -1 when it failed or would not fit. */
function take(decode: () => Uint8Array, dst: Uint8Array, dp: number, dend: number): number {
  let out: Uint8Array;
  try {
    out = decode();
  } catch {
    return -1;
  }
  if (out.length > dend - dp) return -1;
  dst.set(out, dp);
  return dp + out.length;
}
