/**
 * Seeded fuzzing of the LZ4 decoders: mutated and truncated blocks and frames must
 * give an LtxError or exactly the data that naive reference decoders (corpus.fuzz.ts)
 * give, never another exception, a hang, or an allocation out of proportion to the
 * input. SQLREP_FUZZ_ITERATIONS raises the count (default 100,000 per decoder).
 */
import { describe, expect, it } from "vitest";
import { isLtxError } from "../errors.js";
import { lz4CompressBlock, lz4DecompressBlock } from "./block.js";
import { below, buildFrame, mutate, referenceDecodeBlock, referenceDecodeFrame, rng, sample, SAMPLE_KINDS, type BuiltBlock } from "./corpus.fuzz.js";
import { lz4DecodeFrame, lz4EncodeFrame, Lz4FrameDecoder } from "./frame.js";

const ITERATIONS = Number(process.env.SQLREP_FUZZ_ITERATIONS ?? 100_000);
const TIMEOUT_MS = 60_000 + ITERATIONS;

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.compare(a, b) === 0;

/** The result of a decoder call: its value or the error it threw (which must be an LtxError). */
function outcome<T>(fn: () => T): T | Error {
  try {
    return fn();
  } catch (err) {
    if (!isLtxError(err)) throw new Error(`decoder threw a non-LtxError: ${String(err)}`, { cause: err });
    return err;
  }
}

interface BlockCase {
  block: Uint8Array;
  data: Uint8Array;
}

function blockCorpus(): BlockCase[] {
  const cases: BlockCase[] = [];
  let seed = 1;
  for (const kind of SAMPLE_KINDS) {
    for (const size of [0, 1, 5, 15, 40, 200, 700, 2000]) {
      const data = sample(kind, size, seed++);
      cases.push({ block: lz4CompressBlock(data), data });
    }
  }
  return cases;
}

interface FrameCase {
  frame: Uint8Array;
  content: Uint8Array;
}

/** Valid sequences that reach back into `historyLength` bytes of earlier output, then a closing literal. */
function dependentBlock(next: () => number, historyLength: number): BuiltBlock {
  const bytes: number[] = [];
  let produced = 0;
  const sequences = 1 + below(next, 4);
  for (let s = 0; s < sequences; s++) {
    const lits = below(next, 4);
    const extra = below(next, 30);
    bytes.push((lits << 4) | Math.min(extra, 15));
    for (let k = 0; k < lits; k++) bytes.push(below(next, 256));
    produced += lits;
    const off = 1 + below(next, Math.min(65535, historyLength + produced));
    bytes.push(off & 255, off >> 8);
    if (extra >= 15) bytes.push(extra - 15);
    produced += extra + 4;
  }
  bytes.push(0x10, below(next, 256));
  return { payload: Uint8Array.from(bytes), compressed: true };
}

function frameCorpus(): FrameCase[] {
  const cases: FrameCase[] = [];
  const next = rng(77);
  let seed = 100;
  // Frames as pierrec writes them.
  for (const kind of SAMPLE_KINDS) {
    for (const size of [0, 1, 20, 300, 2000]) {
      const content = sample(kind, size, seed++);
      cases.push({ frame: lz4EncodeFrame(content, { blockSize: 65536 }), content });
    }
  }
  // Hand-built frames with the other options and several small blocks.
  for (let i = 0; i < 40; i++) {
    const content = sample(SAMPLE_KINDS[i % SAMPLE_KINDS.length]!, 50 + below(next, 1500), seed++);
    const blocks: BuiltBlock[] = [];
    for (let at = 0; at < content.length; ) {
      const piece = content.subarray(at, at + 1 + below(next, 600));
      at += piece.length;
      blocks.push(next() < 0.7 ? { payload: lz4CompressBlock(piece), compressed: true } : { payload: piece, compressed: false });
    }
    const options = {
      blockChecksum: next() < 0.5,
      contentChecksum: next() < 0.6,
      blockSizeCode: 4 + below(next, 4),
      ...(next() < 0.5 ? { contentSize: content.length } : {}),
    };
    cases.push({ frame: buildFrame({ blocks, content, ...options }), content });
  }
  // Dependent blocks that really refer to earlier blocks.
  for (let i = 0; i < 20; i++) {
    const first = sample("text", 20 + below(next, 400), seed++);
    const blocks: BuiltBlock[] = [{ payload: first, compressed: false }, dependentBlock(next, first.length)];
    const draft = buildFrame({ blocks, content: new Uint8Array(0), contentChecksum: false, independent: false });
    const content = referenceDecodeFrame(draft, 0)!.data;
    const options = { blockChecksum: next() < 0.3, ...(next() < 0.3 ? { contentSize: content.length } : {}) };
    cases.push({ frame: buildFrame({ blocks, content, independent: false, ...options }), content });
  }
  return cases;
}

/** Pushes `input` in random pieces; returns the content, or the LtxError thrown. */
function decodeInPieces(input: Uint8Array, next: () => number): Uint8Array | Error {
  return outcome(() => {
    const decoder = new Lz4FrameDecoder();
    const parts: Uint8Array[] = [];
    for (let at = 0; at < input.length; ) {
      const n = 1 + below(next, next() < 0.5 ? 8 : 600);
      parts.push(...decoder.push(input.subarray(at, at + n)));
      at += n;
    }
    decoder.finish();
    return new Uint8Array(Buffer.concat(parts));
  });
}

describe("LZ4 decoder fuzzing", () => {
  it(
    `block decoder: ${ITERATIONS} mutated blocks agree with the reference decoder`,
    () => {
      const corpus = blockCorpus();
      const next = rng(0x5eed);
      let errors = 0;
      for (let i = 0; i < ITERATIONS; i++) {
        const base = corpus[i % corpus.length]!;
        const input = i % 10 === 0 ? base.block : mutate(base.block, next);
        const roll = next();
        const capacity = roll < 0.8 ? base.data.length : roll < 0.9 ? base.data.length + below(next, 64) : below(next, base.data.length + 1);
        const expected = referenceDecodeBlock(input, capacity);
        const dst = new Uint8Array(capacity);
        const got = outcome(() => lz4DecompressBlock(input, dst));
        if (expected === null) {
          expect(got).toBeInstanceOf(Error);
          errors++;
        } else {
          expect(got).toBe(expected.length);
          expect(same(dst.subarray(0, expected.length), expected)).toBe(true);
        }
        if (input === base.block && capacity >= base.data.length) expect(same(dst.subarray(0, base.data.length), base.data)).toBe(true);
      }
      // Enough inputs must get through, and enough must fail, for the comparison to mean something.
      expect(errors).toBeGreaterThan(ITERATIONS / 10);
      expect(errors).toBeLessThan(ITERATIONS * 0.95);
    },
    TIMEOUT_MS,
  );

  it(
    `frame decoders: ${ITERATIONS} mutated or truncated frames, whole and streamed, agree with the reference decoder`,
    () => {
      const corpus = frameCorpus();
      const next = rng(0xf4a3e);
      let errors = 0;
      for (let i = 0; i < ITERATIONS; i++) {
        const base = corpus[i % corpus.length]!;
        const input = i % 10 === 0 ? base.frame : mutate(base.frame, next);
        const expected = referenceDecodeFrame(input, 0);
        const whole = outcome(() => lz4DecodeFrame(input));
        const streamed = decodeInPieces(input, next);
        if (expected === null) {
          expect(whole).toBeInstanceOf(Error);
          expect(streamed).toBeInstanceOf(Error);
          errors++;
          continue;
        }
        if (whole instanceof Error || streamed instanceof Error) throw new Error(`frame ${i} rejected: ${String(whole)} / ${String(streamed)}`);
        expect(whole.end).toBe(expected.end);
        expect(same(whole.data, expected.data)).toBe(true);
        expect(same(streamed, expected.data)).toBe(true);
        // A frame that still carries its content checksum decodes to the original or not at all.
        if (input[4]! & 0x04) expect(same(whole.data, base.content)).toBe(true);
      }
      expect(errors).toBeGreaterThan(ITERATIONS / 10);
      expect(errors).toBeLessThan(ITERATIONS * 0.95);
    },
    TIMEOUT_MS,
  );

  it("allocates in proportion to the input, never from a declared size alone", () => {
    const corpus = frameCorpus();
    // Frames that claim 4 MiB blocks and a huge content size but carry few bytes.
    const hostile = [
      buildFrame({ blocks: [], content: new Uint8Array(0), blockSizeCode: 7, contentSize: 2 ** 52 }),
      Uint8Array.of(...buildFrame({ blocks: [], content: new Uint8Array(0), blockSizeCode: 7 }).subarray(0, 7), 0xff, 0xff, 0x3f, 0x00, 1, 2, 3),
      Uint8Array.of(
        ...buildFrame({ blocks: [], content: new Uint8Array(0), blockSizeCode: 7, independent: false }).subarray(0, 7),
        0x00,
        0x00,
        0x40,
        0x00,
        0x0f,
        1,
        0,
        255,
        255,
        255,
        255,
      ),
    ];
    const next = rng(0xa110c);
    const inputs = [...hostile, ...Array.from({ length: 3000 }, (_, i) => mutate(corpus[i % corpus.length]!.frame, next))];
    const globals = globalThis as { Uint8Array: Uint8ArrayConstructor };
    const original = globals.Uint8Array;
    let largest = 0;
    globals.Uint8Array = new Proxy(original, {
      construct(target, args: unknown[]) {
        if (typeof args[0] === "number") largest = Math.max(largest, args[0]);
        return Reflect.construct(target, args);
      },
    });
    try {
      for (const input of inputs) {
        largest = 0;
        outcome(() => lz4DecodeFrame(input));
        decodeInPieces(input, next);
        // At most 255 output bytes per input byte, plus one 64 KiB window or pending block.
        expect(largest).toBeLessThanOrEqual(255 * input.length + 2 * 65536);
      }
    } finally {
      globals.Uint8Array = original;
    }
  });
});
