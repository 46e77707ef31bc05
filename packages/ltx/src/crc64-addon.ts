/**
 * CRC-64 in the package's C addon (src/native/crc64.c): carry-less multiply folding on
 * x86-64 CPUs with PCLMULQDQ, a table loop elsewhere. The WebAssembly kernel of crc64.ts
 * is bound to one table load per byte and a copy of every input into its memory; a
 * restore hashes every page it decodes, so that was most of its checksum time
 * (packages/ltx/README.md, "CRC-64"). `SQLREP_CRC64=js` or `wasm` turns the addon off
 * for comparisons (`js` the WebAssembly kernel too).
 */
import { nativeAddon } from "./native-addon.js";

/** A CRC register update: (l, h) and `data` in, the new register in `out[0]` (low), `out[1]` (high). */
export type CrcUpdate = (l: number, h: number, data: Uint8Array, out: Int32Array) => void;
/** For i < count, the register of page i of `data` fed to a zero register, into `out[2i]`, `out[2i + 1]`. */
export type CrcPages = (data: Uint8Array, count: number, pageSize: number, out: Int32Array) => void;

/** `SQLREP_CRC64` when it names a kernel to use instead of the addon. */
export const crcSwitch: "js" | "wasm" | undefined = (() => {
  const env = typeof process === "undefined" ? undefined : process.env["SQLREP_CRC64"];
  return env === "js" || env === "wasm" ? env : undefined;
})();

interface CrcAddon {
  update: CrcUpdate;
  pages: CrcPages;
  table: CrcUpdate;
  kernel: string;
}

function load(): { addon: CrcAddon | undefined; reason: string | undefined } {
  if (crcSwitch !== undefined) return { addon: undefined, reason: `SQLREP_CRC64=${crcSwitch}` };
  const { addon, reason } = nativeAddon();
  if (addon === undefined) return { addon: undefined, reason };
  const { crc64, crc64Pages, crc64Table, crc64Kernel } = addon;
  if (crc64 === undefined || crc64Pages === undefined || crc64Table === undefined || crc64Kernel === undefined) {
    return { addon: undefined, reason: "the addon was built without CRC-64 (by an earlier version: rebuild the package)" };
  }
  return { addon: { update: crc64, pages: crc64Pages, table: crc64Table, kernel: crc64Kernel() }, reason: undefined };
}

const loaded = load();

/** The addon's register update, or undefined without it (the hot path tests this once per call). */
export const addonCrcUpdate: CrcUpdate | undefined = loaded.addon?.update;
/** The addon's page-run hashing, or undefined without it. */
export const addonCrcPages: CrcPages | undefined = loaded.addon?.pages;
/** The addon's table kernel whatever the CPU (what runs without PCLMULQDQ), for tests; undefined without the addon. */
export const addonCrcTable: CrcUpdate | undefined = loaded.addon?.table;

/** Whether the addon computes CRC-64 in this process, with which kernel ("pclmul" or "table"), and why not when it does not. */
export function crc64Addon(): { loaded: boolean; kernel: string | undefined; reason: string | undefined } {
  return { loaded: loaded.addon !== undefined, kernel: loaded.addon?.kernel, reason: loaded.reason };
}
