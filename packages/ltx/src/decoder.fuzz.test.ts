/**
 * Seeded fuzzing of the decoder, whole-buffer and streaming. Inputs are the golden
 * files (or, without them, files made by the encoder) mutated at the byte level —
 * bit flips, overwritten fields, insertions, deletions, splices, truncations — and
 * at the structure level with every checksum recomputed. Each input must give an
 * LtxError or exactly the data its checksums cover: never another exception, a
 * hang, an oversized allocation, or different data accepted.
 *
 * SQLREP_FUZZ_ITERATIONS raises the count (default 100,000); SQLREP_FUZZ_SEED
 * replays another run.
 */
import { hasSharedTestdata, noSharedTestdataReason } from "@sqlrep/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { viewOf } from "./binary.js";
import { CHECKSUM_FLAG } from "./checksum.js";
import { decodeLtx, LtxReader, type DecodedLtx } from "./decoder.js";
import { encodeLtx } from "./encoder.js";
import { isLtxError } from "./errors.js";
import { LTX_FORMATS, type LtxFormat } from "./format.js";
import type { LtxHeader } from "./header.js";
import type { LtxPage } from "./parse-context.js";
import { AllocationTooLarge, installAllocGuard, type AllocGuard } from "./testing/alloc-guard.js";
import { allFixtures, fixtureBytes, formatOf } from "./testing/fixtures.js";
import { genPage } from "./testing/pages.js";
import { randomChunks, Rng } from "./testing/random.js";
import { writeRawLtx, type RawLtx } from "./testing/raw-ltx.js";

const ITERATIONS = Number(process.env.SQLREP_FUZZ_ITERATIONS ?? 100_000);
const SEED = Number(process.env.SQLREP_FUZZ_SEED ?? 0x17c0de);
/** Largest legitimate allocation: an LZ4 frame block (4 MiB) with its 64 KiB window. */
const ALLOC_LIMIT = 4 * 1024 * 1024 + 64 * 1024 + 64;
/** Streaming decode for one input in this many (every input is decoded whole-buffer too). */
const STREAM_EVERY = 1;

interface Seed {
  name: string;
  format: LtxFormat;
  bytes: Uint8Array;
  decoded: DecodedLtx;
}

/** What a file's checksums cover, for comparing an accepted input with its seed. */
interface Content {
  header: LtxHeader;
  pages: LtxPage[];
  postApplyChecksum: bigint;
}

function seeds(): Seed[] {
  if (hasSharedTestdata) {
    return allFixtures()
      .filter(({ entry }) => entry.size <= 50_000)
      .map(({ version, entry }) => {
        const bytes = fixtureBytes(version, entry.file);
        return { name: `${version}/${entry.file}`, format: formatOf(entry), bytes, decoded: decodeLtx(bytes) };
      });
  }
  return LTX_FORMATS.flatMap((format) => {
    const snap = encodeLtx(
      { pageSize: 1024, commit: 3, minTXID: 1, maxTXID: 1, timestamp: 9 },
      [1, 2, 3].map((pgno) => ({ pgno, data: genPage(1024, pgno, 1) })),
      { format },
    );
    return [{ name: `generated ${format}`, format, bytes: snap, decoded: decodeLtx(snap) }];
  });
}

const INTERESTING = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x3ff, 0x400, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

/** A byte-level mutation of `bytes`. */
function mutate(bytes: Uint8Array, rng: Rng): Uint8Array {
  const at = () => rng.int(bytes.length);
  switch (rng.int(9)) {
    case 0: {
      const b = bytes.slice();
      for (let i = rng.range(1, 4); i > 0; i--) b[at()]! ^= 1 << rng.int(8);
      return b;
    }
    case 1: {
      const b = bytes.slice();
      for (let i = rng.range(1, 3); i > 0; i--) b[at()] = rng.pick([0, 0xff, rng.next() & 0xff]);
      return b;
    }
    case 2:
      return bytes.subarray(0, at());
    case 3: {
      const i = at();
      const ins = rng.bytes(rng.range(1, 16));
      const b = new Uint8Array(bytes.length + ins.length);
      b.set(bytes.subarray(0, i));
      b.set(ins, i);
      b.set(bytes.subarray(i), i + ins.length);
      return b;
    }
    case 4: {
      const i = at();
      const n = rng.range(1, Math.min(64, bytes.length - i));
      const b = new Uint8Array(bytes.length - n);
      b.set(bytes.subarray(0, i));
      b.set(bytes.subarray(i + n), i);
      return b;
    }
    case 5: {
      // Overwrite a 2/4/8-byte field with an interesting value, big- or little-endian.
      const b = bytes.slice();
      const width = rng.pick([2, 4, 8]);
      const i = rng.int(Math.max(1, b.length - width));
      const v = rng.pick(INTERESTING);
      const view = viewOf(b);
      if (i + width <= b.length) {
        if (width === 2) view.setUint16(i, v & 0xffff, rng.int(2) === 0);
        else if (width === 4) view.setUint32(i, v >>> 0, rng.int(2) === 0);
        else view.setBigUint64(i, BigInt(v) << BigInt(rng.pick([0, 16, 32, 56])), rng.int(2) === 0);
      }
      return b;
    }
    case 6: {
      // Copy a range over another (duplicated frames, shifted structures).
      const b = bytes.slice();
      const from = at();
      const n = rng.range(1, Math.min(200, bytes.length - from));
      b.copyWithin(at(), from, from + n);
      return b;
    }
    case 7: {
      const extra = rng.bytes(rng.range(1, 40));
      const b = new Uint8Array(bytes.length + extra.length);
      b.set(bytes);
      b.set(extra, bytes.length);
      return b;
    }
    default: {
      // Mutate the tail (index, trailer) where a few bytes hold much meaning.
      const b = bytes.slice();
      b[Math.max(0, b.length - 1 - rng.int(Math.min(b.length, 48)))]! ^= 1 << rng.int(8);
      return b;
    }
  }
}

/**
 * A structural mutation written with valid checksums: the decoder must reject it
 * (strict rules) or return exactly the content it was written with.
 */
function restructure(seed: Seed, rng: Rng): { bytes: Uint8Array; content: Content } {
  const d = seed.decoded;
  const header = { ...d.header };
  let pages = d.pages.map((p) => ({ pgno: p.pgno, data: p.data }));
  let post = d.trailer.postApplyChecksum;
  const spec: Partial<RawLtx> = {};
  switch (rng.int(10)) {
    case 0:
      pages = pages.reverse();
      break;
    case 1:
      if (pages.length > 0) pages.splice(rng.int(pages.length), 1);
      break;
    case 2:
      if (pages.length > 0) pages.push({ ...pages[rng.int(pages.length)]! });
      break;
    case 3:
      header.commit = rng.pick([0, 1, header.commit - 1, header.commit + 1, 0xffffffff]) >>> 0;
      break;
    case 4:
      if (pages.length > 0) pages[rng.int(pages.length)]!.pgno = rng.pick([0, 1, header.commit, header.commit + 1, Math.floor(0x40000000 / header.pageSize) + 1]) >>> 0;
      break;
    case 5:
      post = rng.pick([0n, 1n, CHECKSUM_FLAG, post ^ 1n]);
      break;
    case 6:
      if (pages.length > 0) pages[rng.int(pages.length)]!.data = genPage(rng.pick([header.pageSize, header.pageSize / 2, 512]), 1, 1);
      break;
    case 7:
      header.minTXID = rng.pick([1, 2, header.maxTXID, header.maxTXID + 1]);
      break;
    case 8:
      spec.indexSize = BigInt(rng.pick([0, 1, 8, 9, 1000]));
      break;
    default:
      if (d.pageIndex && d.pageIndex.length > 0) {
        spec.index = d.pageIndex.map((e) => ({ ...e }));
        const e = spec.index[rng.int(spec.index.length)]!;
        if (rng.int(2) === 0) e.offset += rng.range(-3, 3);
        else e.size += rng.range(-3, 3);
      }
  }
  const bytes = writeRawLtx({ format: seed.format, header, pages, postApplyChecksum: post, ...spec });
  return { bytes, content: { header, pages, postApplyChecksum: post } };
}

function contentOf(d: { header: LtxHeader; trailer: { postApplyChecksum: bigint } }, pages: LtxPage[]): Content {
  return { header: d.header, pages: pages.map((p) => ({ pgno: p.pgno, data: p.data })), postApplyChecksum: d.trailer.postApplyChecksum };
}

function sameContent(a: Content, b: Content): boolean {
  if (a.postApplyChecksum !== b.postApplyChecksum || a.pages.length !== b.pages.length) return false;
  for (const k of Object.keys(a.header) as (keyof LtxHeader)[]) if (a.header[k] !== b.header[k]) return false;
  return a.pages.every((p, i) => {
    const q = b.pages[i]!;
    return p.pgno === q.pgno && p.data.length === q.data.length && p.data.every((x, j) => x === q.data[j]);
  });
}

type Outcome = { ok: true; content: Content } | { ok: false; code: string };

function decodeWhole(bytes: Uint8Array): Outcome {
  try {
    const d = decodeLtx(bytes);
    return { ok: true, content: contentOf(d, d.pages) };
  } catch (err) {
    if (isLtxError(err)) return { ok: false, code: err.code };
    throw err;
  }
}

async function decodeStreaming(bytes: Uint8Array, rng: Rng): Promise<Outcome> {
  try {
    const reader = new LtxReader(randomChunks(bytes, rng, 700));
    const pages: LtxPage[] = [];
    for await (const p of reader) pages.push(p);
    const summary = await reader.finish();
    return { ok: true, content: contentOf(summary, pages) };
  } catch (err) {
    if (isLtxError(err)) return { ok: false, code: err.code };
    throw err;
  }
}

describe(`decoder fuzz (${ITERATIONS} inputs, seed ${SEED})${hasSharedTestdata ? "" : ` — golden files absent (${noSharedTestdataReason}), fuzzing encoder output instead`}`, () => {
  let guard: AllocGuard;
  beforeAll(() => {
    guard = installAllocGuard(ALLOC_LIMIT);
  });
  afterAll(() => guard.uninstall());

  it("never throws anything but LtxError, never accepts wrong data", { timeout: 600_000 }, async () => {
    expect(() => new Uint8Array(ALLOC_LIMIT + 1)).toThrow(AllocationTooLarge); // the guard is live
    guard.reset();
    const corpus = seeds();
    const rng = new Rng(SEED);
    const stats = { accepted: 0, rejected: 0, structural: 0, streamed: 0, slowest: 0, codes: new Map<string, number>() };
    for (let i = 0; i < ITERATIONS; i++) {
      const seed = corpus[rng.int(corpus.length)]!;
      const structural = rng.int(10) === 0;
      const { bytes, content } = structural ? restructure(seed, rng) : { bytes: mutate(seed.bytes, rng), content: contentOf(seed.decoded, seed.decoded.pages) };
      const context = () => `iteration ${i} (seed ${SEED}) from ${seed.name}${structural ? " (structural)" : ""}`;
      const started = performance.now();
      let whole: Outcome;
      try {
        whole = decodeWhole(bytes);
      } catch (err) {
        throw new Error(`${context()}: non-LtxError ${err instanceof AllocationTooLarge ? "allocation" : "exception"}: ${String(err)}`, { cause: err });
      }
      stats.slowest = Math.max(stats.slowest, performance.now() - started);
      if (whole.ok) {
        if (!sameContent(whole.content, content)) throw new Error(`${context()}: accepted data that differs from what its checksums cover`);
        stats.accepted++;
      } else {
        stats.rejected++;
        stats.codes.set(whole.code, (stats.codes.get(whole.code) ?? 0) + 1);
      }
      if (structural) stats.structural++;
      if (i % STREAM_EVERY === 0) {
        let streamed: Outcome;
        try {
          streamed = await decodeStreaming(bytes, rng);
        } catch (err) {
          throw new Error(`${context()}: streaming threw a non-LtxError: ${String(err)}`, { cause: err });
        }
        // Both drivers run the same checks, so they must agree.
        if (streamed.ok !== whole.ok || (streamed.ok && !sameContent(streamed.content, content))) {
          throw new Error(
            `${context()}: streaming ${streamed.ok ? "accepted" : `rejected (${streamed.code})`}, whole-buffer ${whole.ok ? "accepted" : `rejected (${whole.code})`}`,
          );
        }
        stats.streamed++;
      }
    }
    console.info(
      `fuzz: ${ITERATIONS} inputs (${stats.structural} structural, ${stats.streamed} also streamed): ${stats.accepted} accepted, ${stats.rejected} rejected;` +
        ` largest allocation ${guard.largest} bytes; slowest decode ${stats.slowest.toFixed(1)} ms; codes ${JSON.stringify(Object.fromEntries(stats.codes))}`,
    );
    expect(stats.rejected).toBeGreaterThan(ITERATIONS / 2);
    expect(stats.slowest).toBeLessThan(2000);
  });
});
