/** Property tests (fast-check, seeded) of encode, decode, apply and compact against a naive in-memory model database. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyLtx } from "./apply.js";
import { compactLtxToBuffer } from "./compactor.js";
import { decodeLtx, LtxReader } from "./decoder.js";
import { encodeLtx } from "./encoder.js";
import { LTX_FORMATS, type LtxFormat } from "./format.js";
import { MemoryPageStore } from "./page-store.js";
import type { LtxPage } from "./parse-context.js";
import { applyModel, chainArbitrary, encodeChain, modelBytes, modelChecksum, modelStates, type ModelDb } from "./testing/model.js";
import { randomChunks, Rng } from "./testing/random.js";

const SEED = 20260101;
const formatArb = fc.constantFrom<LtxFormat>(...LTX_FORMATS);

/** Seeded property runs take seconds on an idle machine and several times that on a loaded 2-core one. */
const PROPERTY_TIMEOUT = 60_000;

describe("properties against a naive in-memory model (fast-check, seeded)", () => {
  it(
    "decode(encode(tx)) gives back the header, pages and checksums, whole-buffer and streaming",
    async () => {
      await fc.assert(
        fc.asyncProperty(chainArbitrary(), formatArb, fc.boolean(), fc.integer(), async (chain, format, checksums, chunkSeed) => {
          const files = encodeChain(chain, format, checksums);
          const states = modelStates(chain);
          for (const [i, file] of files.entries()) {
            const d = decodeLtx(file);
            expect(d.format === format || (format === "v3-frame" && d.pages.length === 0)).toBe(true);
            expect(d.header).toMatchObject({ pageSize: chain.pageSize, commit: chain.txs[i]!.commit, minTXID: i + 1, maxTXID: i + 1 });
            expect(d.pages).toEqual(chain.txs[i]!.pages);
            expect(d.trailer.postApplyChecksum).toBe(checksums ? modelChecksum(states[i]!, chain.pageSize) : 0n);
            const reader = new LtxReader(randomChunks(file, new Rng(chunkSeed), 300), { format });
            const streamed: LtxPage[] = [];
            for await (const p of reader) streamed.push({ pgno: p.pgno, data: p.data });
            expect(streamed).toEqual(d.pages);
            expect((await reader.finish()).trailer).toEqual(d.trailer);
            // Re-encoding the decoded file is the identity.
            expect(encodeLtx(d.header, d.pages, { format, postApplyChecksum: d.trailer.postApplyChecksum })).toEqual(file);
          }
        }),
        { seed: SEED, numRuns: 150 },
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "applying a chain reproduces the model database and its checksum after every file",
    async () => {
      await fc.assert(
        fc.asyncProperty(chainArbitrary(), formatArb, fc.boolean(), async (chain, format, checksums) => {
          const files = encodeChain(chain, format, checksums);
          const states = modelStates(chain);
          const store = new MemoryPageStore();
          let pos: Awaited<ReturnType<typeof applyLtx>> | undefined;
          for (const [i, file] of files.entries()) {
            pos = await applyLtx(store, [file], { pos });
            expect(store.bytes()).toEqual(modelBytes(states[i]!));
            expect(pos).toEqual({ txid: i + 1, postApplyChecksum: modelChecksum(states[i]!, chain.pageSize) });
          }
        }),
        { seed: SEED + 1, numRuns: 150 },
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "compacting any contiguous run equals applying its files one by one",
    async () => {
      await fc.assert(
        fc.asyncProperty(chainArbitrary(), formatArb, fc.boolean(), fc.nat(), fc.nat(), async (chain, format, checksums, a, b) => {
          const files = encodeChain(chain, format, checksums);
          const states = modelStates(chain);
          const from = a % files.length;
          const to = from + (b % (files.length - from));
          const compacted = await compactLtxToBuffer(files.slice(from, to + 1), { format });
          const d = decodeLtx(compacted);
          expect(d.header).toMatchObject({ minTXID: from + 1, maxTXID: to + 1, commit: chain.txs[to]!.commit });
          // The naive model: the state before the run, then each transaction of the run.
          const before: ModelDb = from === 0 ? [] : states[from - 1]!;
          let db = before;
          for (let i = from; i <= to; i++) db = applyModel(db, chain.txs[i]!, chain.pageSize);
          const store = new MemoryPageStore(modelBytes(before));
          const pos = await applyLtx(store, [compacted], { pos: from === 0 ? undefined : { txid: from, postApplyChecksum: modelChecksum(before, chain.pageSize) } });
          expect(store.bytes()).toEqual(modelBytes(db));
          expect(pos.postApplyChecksum).toBe(modelChecksum(db, chain.pageSize));
          if (from === 0) expect(d.pages.map((p) => p.data)).toEqual(db.filter((_, i) => i < chain.txs[to]!.commit));
        }),
        { seed: SEED + 2, numRuns: 150 },
      );
    },
    PROPERTY_TIMEOUT,
  );
});
