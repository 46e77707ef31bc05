/**
 * The package's own LZ4 addon (src/native, built by scripts/build-native.mjs): blocks
 * decoded into the caller's buffer, the blocks of a whole run of pages in one native call
 * or one block at a time. lz4-napi costs one call and one new Buffer per block, more than
 * the decoding itself for a 4 KiB page (packages/ltx/README.md, "LZ4"); without the
 * addon, lz4-napi and the JavaScript decoder do the work.
 */
import { nativeAddon } from "../native-addon.js";

function load(): ReturnType<typeof nativeAddon> {
  const env = typeof process === "undefined" ? undefined : process.env["SQLREP_LZ4"];
  if (env === "js" || env === "napi") return { addon: undefined, reason: `SQLREP_LZ4=${env}` };
  return nativeAddon();
}

const loaded = load();
/** Whether the addon loaded (what `lz4Addon().loaded` says), for the per-block hot path. */
export const hasAddon: boolean = loaded.addon !== undefined;

/** Whether the addon decodes LZ4 blocks in this process, and why not when it does not. */
export function lz4Addon(): { loaded: boolean; reason: string | undefined } {
  return { loaded: loaded.addon !== undefined, reason: loaded.reason };
}

/**
 * Decodes blocks `from…count-1` of `blocks` ([start, end) pairs into `src`), block i into
 * `dst[i × pageSize, (i + 1) × pageSize)`, each of which it must fill exactly. Returns the
 * index of the first block it could not decode (`count` when all decoded), or -1 without
 * the addon. The caller decodes a refused block another way, to place the fault exactly.
 */
export function decodeBlockBatch(src: Uint8Array, blocks: Int32Array, from: number, count: number, dst: Uint8Array, pageSize: number): number {
  if (loaded.addon === undefined) return -1;
  if (from >= count) return count;
  const pairs = blocks.subarray(2 * from, 2 * count);
  const out = dst.subarray(from * pageSize, count * pageSize);
  return from + loaded.addon.decodeBlocks(src, pairs, out, pageSize);
}

/**
 * Decodes the block `src[sp, send)` into `dst[dp, dend)`, matches reaching back to
 * `dst[history]` at most; returns the end of the output, or -1 when the block is malformed
 * or the addon is absent (`lz4Addon()`).
 */
export function addonDecodeBlock(src: Uint8Array, sp: number, send: number, dst: Uint8Array, dp: number, dend: number, history: number): number {
  return loaded.addon === undefined ? -1 : loaded.addon.decodeInto(src, sp, send, dst, dp, dend, history);
}
