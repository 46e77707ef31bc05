/** Byte helpers the WAL and journal encoders share: concatenation and checking a caller's u32 field. */
import { WalError } from "./errors.js";

/** Concatenates byte arrays. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Checks that a caller's value fits an unsigned 32-bit field. */
export function u32(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new WalError("invalid-argument", `${name} must be an unsigned 32-bit integer, got ${value}`);
  }
  return value;
}
