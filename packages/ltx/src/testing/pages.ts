/** The page generators of the fixture generator (spec §10.3), to rebuild expected pages. */

/** `lcg(seed, n)`: x = x·1664525 + 1013904223 mod 2^32, each output byte `x >> 24`. */
export function lcg(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** `genPage(PS, pgno, txid)`: a fill byte, 64 pseudo-random bytes, then a line of text. */
export function genPage(pageSize: number, pgno: number, txid: number): Uint8Array {
  const page = new Uint8Array(pageSize).fill((pgno * 16 + txid) & 0xff);
  page.set(lcg((pgno * 1000 + txid) >>> 0, 64), 0);
  page.set(new TextEncoder().encode(`page ${pgno} written by txid ${txid}`), 64);
  return page;
}

/** A page of `n` bytes all equal to `byte`. */
export function fill(byte: number, n: number): Uint8Array {
  return new Uint8Array(n).fill(byte);
}
