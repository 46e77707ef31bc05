/** CRC-64/GO-ISO by its textbook bit-at-a-time definition: the oracle the table, WebAssembly and native kernels are checked against. */

/** The CRC-64/GO-ISO of `data`, one bit at a time (no table). */
export function bitwiseCrc64(data: Uint8Array): bigint {
  const mask = (1n << 64n) - 1n;
  let c = mask;
  for (const b of data) {
    c ^= BigInt(b);
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ 0xd800000000000000n : c >> 1n;
  }
  return c ^ mask;
}
