/** Big-endian binary helpers of the codec: u64 reads and writes that refuse values a `number` cannot hold, u32/u64 bytes, concatenation. */
import { LtxError } from "./errors.js";

/** A big-endian view over the bytes of `b` (no copy). */
export function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Where a value was read from, for error messages. */
export interface Location {
  file?: string | undefined;
  offset?: number | undefined;
}

/**
 * A u64 (or i64 when `signed`) as a `number`; a value outside the safe integer range
 * is a typed error rather than a silent rounding.
 */
export function readSafeInteger(view: DataView, at: number, what: string, where: Location, signed = false): number {
  const value = signed ? view.getBigInt64(at) : view.getBigUint64(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new LtxError("unsupported", `${what} ${value} is beyond Number.MAX_SAFE_INTEGER`, where);
  }
  return Number(value);
}

/** Writes a non-negative safe integer as a u64, or any safe integer as an i64 when `signed`. */
export function writeSafeInteger(view: DataView, at: number, value: number, what: string, signed = false): void {
  if (!Number.isSafeInteger(value) || (!signed && value < 0)) {
    throw new LtxError("invalid-argument", `${what} must be a ${signed ? "" : "non-negative "}safe integer, got ${value}`);
  }
  if (signed) view.setBigInt64(at, BigInt(value));
  else view.setBigUint64(at, BigInt(value));
}

/** Writes a u32, rejecting anything that is not an integer in 0…2^32−1. */
export function writeU32(view: DataView, at: number, value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new LtxError("invalid-argument", `${what} must be a u32, got ${value}`);
  }
  view.setUint32(at, value);
}

/** Writes a u64 bigint, rejecting values outside 0…2^64−1. */
export function writeU64(view: DataView, at: number, value: bigint, what: string): void {
  if (value < 0n || value > 0xffffffffffffffffn) throw new LtxError("invalid-argument", `${what} must be a u64, got ${value}`);
  view.setBigUint64(at, value);
}

/** The bytes of several arrays, one after the other, in a new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A u32 in 4 big-endian bytes. */
export function u32be(value: number): Uint8Array {
  const b = new Uint8Array(4);
  viewOf(b).setUint32(0, value);
  return b;
}

/** A u64 in 8 big-endian bytes. */
export function u64be(value: bigint): Uint8Array {
  const b = new Uint8Array(8);
  viewOf(b).setBigUint64(0, value);
  return b;
}
