/** Tests of LtxRunReader and decodeFrameRun (parallel decoding of cut v3-block files): they decode and reject exactly what decodeLtx does. */
import { hasSharedTestdata, noSharedTestdataReason } from "@sqlrep/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pageChecksum } from "./checksum.js";
import { decodeLtx } from "./decoder.js";
import { encodeLtx } from "./encoder.js";
import { isLtxError } from "./errors.js";
import { decodeFrameRun, LtxRunReader, type LtxRunReaderOptions } from "./frame-run.js";
import type { LtxDecodeSummary, LtxPage } from "./parse-context.js";
import { allFixtures, fixtureBytes, formatOf } from "./testing/fixtures.js";
import { genPage } from "./testing/pages.js";
import { asyncSource, randomChunks, Rng } from "./testing/random.js";
import { rawHeader, writeRawLtx } from "./testing/raw-ltx.js";

/**
 * The parallel decode as a restore runs it: runs cut on one side, decoded "elsewhere"
 * (here: in a shuffled order), shares accepted in that order, then finish().
 */
async function decodeByRuns(bytes: Uint8Array, options: LtxRunReaderOptions & { seed?: number } = {}): Promise<{ summary: LtxDecodeSummary; pages: LtxPage[]; runs: number }> {
  const rng = new Rng(options.seed ?? 1);
  const reader = new LtxRunReader(asyncSource(randomChunks(bytes, rng, 3000)), options);
  const header = await reader.header();
  const runs = [];
  for (let run = await reader.nextRun(); run !== undefined; run = await reader.nextRun()) runs.push(run);
  const order = runs.map((_, i) => i).sort(() => rng.int(3) - 1);
  const pages: LtxPage[][] = [];
  for (const i of order) {
    const run = runs[i]!;
    const out = new Uint8Array(run.pages * header.pageSize);
    const result = decodeFrameRun(run, { pageSize: header.pageSize, out, file: options.file });
    expect(result.pages).toBe(run.pages);
    expect(result.pgnos[0]).toBe(run.firstPgno);
    expect(result.pgnos[run.pages - 1]).toBe(run.lastPgno);
    pages[i] = Array.from(result.pgnos, (pgno, k) => ({ pgno, data: out.slice(k * header.pageSize, (k + 1) * header.pageSize) }));
    result.pgnos.forEach((pgno, k) => expect(result.checksums[k]).toBe(pageChecksum(pgno, pages[i]![k]!.data)));
    reader.accept(run.index, { crc: result.crc, length: result.length, pageSum: result.checksums.reduce((a, b) => a ^ b, 0n) });
  }
  return { summary: await reader.finish(), pages: pages.flat(), runs: runs.length };
}

function snapshot(pageSize: number, commit: number, seed: number, checksums = true): Uint8Array {
  const pages = [];
  const lock = Math.floor(0x40000000 / pageSize) + 1;
  for (let pgno = 1; pgno <= commit; pgno++) if (pgno !== lock) pages.push({ pgno, data: genPage(pageSize, pgno, seed) });
  return encodeLtx({ pageSize, commit, minTXID: 1, maxTXID: 1, timestamp: 1 }, pages, { checksums });
}

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "none";
  } catch (err) {
    if (isLtxError(err)) return err.code;
    throw err;
  }
}

describe("LtxRunReader + decodeFrameRun", () => {
  it("decode exactly what decodeLtx decodes, for any cut of the runs and any order of the shares", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          pageSize: fc.constantFrom(512, 1024, 4096),
          commit: fc.integer({ min: 1, max: 40 }),
          seed: fc.nat(),
          checksums: fc.boolean(),
          runBytes: fc.integer({ min: 1, max: 20_000 }),
          runPages: fc.integer({ min: 1, max: 12 }),
        }),
        async ({ pageSize, commit, seed, checksums, runBytes, runPages }) => {
          const bytes = snapshot(pageSize, commit, seed, checksums);
          const want = decodeLtx(bytes);
          const got = await decodeByRuns(bytes, { runBytes, runPages, seed });
          expect(got.pages).toEqual(want.pages.map((p) => ({ pgno: p.pgno, data: p.data.slice() })));
          const { pages: _p, pageIndex: _i, ...summary } = want;
          expect(got.summary).toEqual(summary);
          expect(got.runs).toBeGreaterThanOrEqual(Math.ceil(commit / runPages));
        },
      ),
      { numRuns: 40, seed: 7 },
    );
  }, 60_000); // seeded property runs: seconds idle, several times that on a loaded 2-core machine

  it("accept an incremental file too (sparse page numbers, no post-apply check of its own)", async () => {
    const pages = [3, 9, 10, 200].map((pgno) => ({ pgno, data: genPage(1024, pgno, 5) }));
    const bytes = encodeLtx({ pageSize: 1024, commit: 300, minTXID: 5, maxTXID: 7, timestamp: 9, preApplyChecksum: 0x8000000000000123n }, pages, {
      postApplyChecksum: 0x8000000000000456n,
    });
    const got = await decodeByRuns(bytes, { runPages: 2 });
    expect(got.pages.map((p) => p.pgno)).toEqual([3, 9, 10, 200]);
    expect(got.summary.trailer).toEqual(decodeLtx(bytes).trailer);
  });

  it("reject whatever decodeLtx rejects: any flipped byte fails one of them", async () => {
    const bytes = snapshot(512, 30, 3);
    const rng = new Rng(42);
    for (let i = 0; i < 300; i++) {
      const bad = bytes.slice();
      const at = rng.int(bad.length);
      bad[at]! ^= 1 << rng.int(8);
      let streaming = "none";
      try {
        decodeLtx(bad);
      } catch (err) {
        streaming = isLtxError(err) ? err.code : "other";
      }
      const byRuns = await failure(decodeByRuns(bad, { runPages: 4, seed: i, file: "bad.ltx" }));
      expect(byRuns === "none", `flip at ${at}: decodeLtx ${streaming}, runs ${byRuns}`).toBe(streaming === "none");
    }
  });

  it("place a fault found in a run at its absolute offset", async () => {
    const pages = [1, 2, 3].map((pgno) => ({ pgno, data: genPage(512, pgno, 1) }));
    // Page 2's block decompresses to 511 bytes: only a decoder of that run can tell.
    const short = writeRawLtx({
      format: "v3-block",
      header: rawHeader({ pageSize: 512, commit: 3, minTXID: 1, maxTXID: 1, flags: 2 }),
      pages: pages.map((p) => (p.pgno === 2 ? { ...p, data: p.data.subarray(0, 511) } : p)),
      postApplyChecksum: 0n,
    });
    const want = (() => {
      try {
        decodeLtx(short);
      } catch (err) {
        return err;
      }
    })() as { code: string; offset: number };
    const reader = new LtxRunReader(short, { runPages: 1, file: "short.ltx" });
    const header = await reader.header();
    let fault: unknown;
    for (let run = await reader.nextRun(); run !== undefined; run = await reader.nextRun()) {
      try {
        decodeFrameRun(run, { pageSize: header.pageSize, out: new Uint8Array(512), file: "short.ltx" });
      } catch (err) {
        fault ??= err;
      }
    }
    expect(fault).toMatchObject({ code: want.code, offset: want.offset, file: "short.ltx" });
  });

  it("cut later runs into recycled buffers, decoding exactly as with fresh ones", async () => {
    const file = snapshot(4096, 40, 7);
    const want = decodeLtx(file);
    const reader = new LtxRunReader(asyncSource(randomChunks(file, new Rng(3), 5000)), { runPages: 4 });
    const header = await reader.header();
    const buffers = new Set<ArrayBufferLike>();
    const pages: LtxPage[] = [];
    const out = new Uint8Array(4 * header.pageSize);
    for (let run = await reader.nextRun(); run !== undefined; run = await reader.nextRun()) {
      buffers.add(run.bytes.buffer);
      const r = decodeFrameRun(run, { pageSize: header.pageSize, out });
      for (let i = 0; i < r.pages; i++) pages.push({ pgno: r.pgnos[i]!, data: out.slice(i * header.pageSize, (i + 1) * header.pageSize) });
      reader.accept(run.index, { crc: r.crc, length: r.length, pageSum: r.checksums.reduce((a, b) => a ^ b, 0n) });
      reader.recycle(run.bytes);
    }
    const summary = await reader.finish();
    expect(pages).toEqual(want.pages);
    expect(summary.trailer).toEqual(want.trailer);
    // Ten runs, each taken back before the next was cut: one buffer served them all.
    expect(buffers.size).toBe(1);
  });

  it("refuse other layouts and a page stored as an LZ4 frame in a v3-block file (unsupported: decode those with LtxReader)", async () => {
    const pages = [1, 2].map((pgno) => ({ pgno, data: genPage(512, pgno, 1) }));
    const v1 = encodeLtx({ pageSize: 512, commit: 2, minTXID: 1, maxTXID: 1, timestamp: 1 }, pages, { format: "v1" });
    await expect(new LtxRunReader(v1).header()).rejects.toMatchObject({ code: "unsupported" });
    const mixed = writeRawLtx({
      format: "v3-block",
      header: rawHeader({ pageSize: 512, commit: 2, minTXID: 1, maxTXID: 1, flags: 2 }),
      pages: [pages[0]!, { ...pages[1]!, flags: 0 }],
      postApplyChecksum: 0n,
    });
    expect(decodeLtx(mixed).pages).toHaveLength(2); // valid LTX
    const reader = new LtxRunReader(mixed);
    await expect(reader.nextRun().then(() => reader.nextRun())).rejects.toMatchObject({ code: "unsupported", offset: expect.any(Number) });
  });

  it("finish only once every run's share is in, each once", async () => {
    const bytes = snapshot(512, 6, 1);
    const reader = new LtxRunReader(bytes, { runPages: 3 });
    const first = await reader.nextRun();
    const second = await reader.nextRun();
    expect(await reader.nextRun()).toBeUndefined();
    const share = (run: NonNullable<typeof first>) => {
      const r = decodeFrameRun(run, { pageSize: 512, out: new Uint8Array(3 * 512) });
      return { crc: r.crc, length: r.length, pageSum: r.checksums.reduce((a, b) => a ^ b, 0n) };
    };
    reader.accept(1, share(second!));
    expect(() => reader.accept(1, share(second!))).toThrow(/already accepted/);
    await expect(reader.finish()).rejects.toMatchObject({ code: "invalid-argument" });
    reader.accept(0, share(first!));
    await expect(reader.finish()).resolves.toMatchObject({ pageCount: 6 });
  });

  it("fail a run whose output has no room for its pages", async () => {
    const reader = new LtxRunReader(snapshot(512, 4, 1), { runPages: 4 });
    const run = (await reader.nextRun())!;
    expect(() => decodeFrameRun(run, { pageSize: 512, out: new Uint8Array(3 * 512) })).toThrow(/room for/);
  });
});

describe.skipIf(!hasSharedTestdata)(`LtxRunReader on the golden v3-block files${hasSharedTestdata ? "" : ` (${noSharedTestdataReason})`}`, () => {
  const fixtures = allFixtures().filter(({ entry }) => formatOf(entry) === "v3-block");

  it("decodes each like decodeLtx, or rejects what it rejects", async () => {
    expect(fixtures.length).toBeGreaterThan(0);
    for (const { version, entry } of fixtures) {
      const bytes = fixtureBytes(version, entry.file);
      let want: ReturnType<typeof decodeLtx> | undefined;
      try {
        want = decodeLtx(bytes, { format: "v3-block" });
      } catch {
        want = undefined;
      }
      const got = await decodeByRuns(bytes, { runPages: 2, format: "v3-block", file: entry.file }).catch((err: unknown) => err);
      if (want === undefined) {
        expect(isLtxError(got), entry.file).toBe(true);
        continue;
      }
      const { pages, pageIndex: _i, ...summary } = want;
      expect(got, entry.file).toMatchObject({ summary });
      expect(
        (got as Awaited<ReturnType<typeof decodeByRuns>>).pages.map((p) => p.pgno),
        entry.file,
      ).toEqual(pages.map((p) => p.pgno));
    }
  });
});
