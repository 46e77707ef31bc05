/** Tests of the addon's batch decoder: built where a C compiler is, byte-equal to the JavaScript decoder, refusing what it refuses, never writing past a page. */
import { describe, expect, it } from "vitest";
import { genPage } from "../testing/pages.js";
import { hasCompiler } from "../testing/compiler.js";
import { Rng } from "../testing/random.js";
import { addonDecodeBlock, decodeBlockBatch, lz4Addon } from "./addon.js";
import { decodeBlock, decodeBlockFast, lz4CompressBlock } from "./block.js";
import { lz4Backend, nativeCompressBlock } from "./native.js";

const PAGE = 4096;

/** Pages of every kind a database holds: structured, random, constant, and short periods (overlapping matches of every offset under 16). */
function pages(rng: Rng): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 1; i <= 40; i++) out.push(genPage(PAGE, i, i * 7));
  for (let i = 0; i < 10; i++) out.push(Uint8Array.from({ length: PAGE }, () => rng.int(256)));
  out.push(new Uint8Array(PAGE), new Uint8Array(PAGE).fill(0xab));
  for (let period = 1; period <= 40; period++) {
    const p = Uint8Array.from({ length: PAGE }, (_, k) => (k % period) * 31 + period);
    p.fill(rng.int(256), rng.int(PAGE), rng.int(PAGE));
    out.push(p);
  }
  return out;
}

/** Blocks laid end to end in one buffer, as a run holds them (with a gap before each), and their [start, end) pairs. */
function layOut(blocks: Uint8Array[]): { src: Uint8Array; pairs: Int32Array } {
  const src = new Uint8Array(blocks.reduce((n, b) => n + b.length + 10, 0));
  const pairs = new Int32Array(2 * blocks.length);
  let at = 0;
  blocks.forEach((b, i) => {
    at += 10;
    src.set(b, at);
    pairs[2 * i] = at;
    pairs[2 * i + 1] = at + b.length;
    at += b.length;
  });
  return { src, pairs };
}

/** Byte equality (vitest's toEqual walks a typed array element by element, far too slowly for thousands of pages). */
function same(a: Uint8Array, b: Uint8Array | undefined): boolean {
  return b !== undefined && Buffer.compare(a, b) === 0;
}

/** The JavaScript decoder's answer for one block: its page, or undefined when it refuses the block. */
function jsDecode(block: Uint8Array): Uint8Array | undefined {
  const out = new Uint8Array(PAGE);
  try {
    return decodeBlock(block, 0, block.length, out, 0, PAGE, 0, 0, undefined) === PAGE ? out : undefined;
  } catch {
    return undefined;
  }
}

describe.skipIf(!hasCompiler)(`the batch LZ4 decoder (the package's addon)${hasCompiler ? "" : " (skipped: no C compiler here, so the addon is not built)"}`, () => {
  it("is built and loaded where a C compiler is", () => {
    expect(lz4Addon()).toEqual({ loaded: true, reason: undefined });
  });

  it("decodes blocks from both compressors exactly as the JavaScript decoder does, in one call", () => {
    const rng = new Rng(7);
    const originals = pages(rng);
    const compressors = [lz4CompressBlock, ...(lz4Backend().codec === "native" ? [nativeCompressBlock] : [])];
    for (const compress of compressors) {
      const { src, pairs } = layOut(originals.map((p) => compress(p)));
      const dst = new Uint8Array(originals.length * PAGE).fill(0xee);
      expect(decodeBlockBatch(src, pairs, 0, originals.length, dst, PAGE)).toBe(originals.length);
      originals.forEach((p, i) => expect(same(dst.subarray(i * PAGE, (i + 1) * PAGE), p), `page ${i}`).toBe(true));
      // From the middle: only blocks from…count-1, at their own places.
      const again = new Uint8Array(originals.length * PAGE);
      expect(decodeBlockBatch(src, pairs, 5, 9, again, PAGE)).toBe(9);
      expect(again.subarray(0, 5 * PAGE).every((b) => b === 0)).toBe(true);
      expect(same(again.subarray(5 * PAGE, 9 * PAGE), dst.subarray(5 * PAGE, 9 * PAGE))).toBe(true);
    }
  });

  it("stops at the first bad block (returning its index) and never writes past that block's page", () => {
    const rng = new Rng(11);
    const originals = pages(rng).slice(0, 12);
    const blocks = originals.map((p) => lz4CompressBlock(p));
    blocks[6] = blocks[6]!.subarray(0, blocks[6]!.length - 3); // truncated
    const { src, pairs } = layOut(blocks);
    const dst = new Uint8Array(originals.length * PAGE).fill(0xee);
    expect(decodeBlockBatch(src, pairs, 0, blocks.length, dst, PAGE)).toBe(6);
    expect(dst.subarray(7 * PAGE).every((b) => b === 0xee)).toBe(true);
    // A block whose pair points outside the source is refused, not read.
    const wild = Int32Array.of(0, src.length + 100);
    expect(decodeBlockBatch(src, wild, 0, 1, dst, PAGE)).toBe(0);
  });

  it("accepts and refuses what the JavaScript decoder does, on 20,000 damaged blocks (flipped bits, cut ends, noise)", () => {
    const rng = new Rng(1234);
    const sources = pages(rng).map((p) => lz4CompressBlock(p));
    let accepted = 0;
    for (let t = 0; t < 20_000; t++) {
      let block = sources[t % sources.length]!.slice();
      if (t % 3 === 0) block[rng.int(block.length)]! ^= 1 << rng.int(8);
      else if (t % 3 === 1) block = block.subarray(0, rng.int(block.length));
      else block = Uint8Array.from({ length: 1 + rng.int(300) }, () => rng.int(256));
      const dst = new Uint8Array(2 * PAGE).fill(0xee);
      const ok = decodeBlockBatch(block, Int32Array.of(0, block.length), 0, 1, dst, PAGE) === 1;
      const js = jsDecode(block);
      if (ok !== (js !== undefined)) expect.fail(`block ${t}: the addon ${ok ? "accepted" : "refused"} it, the JavaScript decoder did not`);
      if (!dst.subarray(PAGE).every((b) => b === 0xee)) expect.fail(`block ${t}: written past its page`);
      if (ok) {
        accepted++;
        if (!same(dst.subarray(0, PAGE), js)) expect.fail(`block ${t}: decoded differently`);
      }
    }
    expect(accepted).toBeGreaterThan(1000);
  });

  it("decodes one block into the caller's buffer, matches reaching into the history before it and no further", () => {
    // 0 literals + an 8-byte match at offset 4, then a last sequence of one literal "x".
    const block = Uint8Array.of(0x04, 0x04, 0x00, 0x10, 0x78);
    const dst = new Uint8Array(16);
    dst.set(new TextEncoder().encode("abcd"));
    expect(addonDecodeBlock(block, 0, block.length, dst, 4, 16, 0)).toBe(13);
    expect(new TextDecoder().decode(dst.subarray(0, 13))).toBe("abcdabcdabcdx");
    expect(addonDecodeBlock(block, 0, block.length, dst, 4, 16, 1)).toBe(-1); // only 3 bytes of history
    expect(addonDecodeBlock(block, 0, block.length, dst, 4, 12, 0)).toBe(-1); // no room for the literal
    expect(() => addonDecodeBlock(block, 0, block.length + 1, dst, 4, 16, 0)).toThrow(/outside their buffers/);
    // The library's per-block path goes through it, and a refused block is placed by the JavaScript decoder.
    const page = genPage(PAGE, 3, 9);
    const packed = lz4CompressBlock(page);
    const out = new Uint8Array(PAGE);
    expect(decodeBlockFast(packed, 0, packed.length, out, 0, PAGE, 0, 0, undefined)).toBe(PAGE);
    expect(same(out, page)).toBe(true);
    expect(() => decodeBlockFast(packed, 0, packed.length - 2, out, 0, PAGE, 0, 100, "f.ltx")).toThrow(/LZ4/);
  });
});
