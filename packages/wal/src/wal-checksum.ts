/** SQLite's running WAL checksum in both byte orders, kept apart so the format and the reader share one hot loop. */
import { WalError } from "./errors.js";

/** The two 32-bit words of SQLite's running WAL checksum. */
export type WalChecksum = readonly [number, number];

/**
 * SQLite's WAL checksum (fileformat2 §4.2) over `data`, continuing from `seed`. The
 * data is read as pairs of 32-bit words in the byte order the WAL magic selects:
 * big-endian for 0x377f0683, little-endian for 0x377f0682.
 */
export function walChecksum(data: Uint8Array, bigEndian: boolean, seed: WalChecksum = [0, 0]): [number, number] {
  if (data.length % 8 !== 0) {
    throw new WalError("invalid-argument", `WAL checksum input must be a multiple of 8 bytes, got ${data.length}`);
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return checksumRange(view, 0, data.length, bigEndian, seed[0], seed[1]);
}

/** The checksum over `view[start, end)`; the range length is a multiple of 8. */
export function checksumRange(view: DataView, start: number, end: number, bigEndian: boolean, s1: number, s2: number): [number, number] {
  const le = !bigEndian;
  let a = s1;
  let b = s2;
  // The sums stay below 2^34, exact in a double; `>>> 0` reduces them mod 2^32 as C's u32 does.
  for (let i = start; i < end; i += 8) {
    a = (a + view.getUint32(i, le) + b) >>> 0;
    b = (b + view.getUint32(i + 4, le) + a) >>> 0;
  }
  return [a, b];
}
