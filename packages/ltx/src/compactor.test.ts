/** Tests of compactLtx and mergeLtx: the golden compactions byte for byte, the upstream compactor vectors, and the input checks a merge makes. */
import { hasSharedTestdata, noSharedTestdataReason } from "@sqlrep/testkit";
import { describe, expect, it } from "vitest";
import { concatBytes } from "./binary.js";
import { CHECKSUM_FLAG, formatChecksum } from "./checksum.js";
import { compactLtx, compactLtxToBuffer } from "./compactor.js";
import { decodeLtx, LtxReader } from "./decoder.js";
import { encodeLtx, type LtxHeaderInit } from "./encoder.js";
import { isLtxError, type LtxErrorCode } from "./errors.js";
import { LTX_FORMATS, type LtxFormat } from "./format.js";
import { mergeLtx } from "./merge.js";
import { fixtureBytes, fixtureFolders, formatOf } from "./testing/fixtures.js";
import { asyncSource, randomChunks, Rng } from "./testing/random.js";
import { fill } from "./testing/pages.js";

async function rejects(promise: Promise<unknown>): Promise<LtxErrorCode | undefined> {
  try {
    await promise;
  } catch (err) {
    if (isLtxError(err)) return err.code;
    throw err;
  }
  return undefined;
}

describe.skipIf(!hasSharedTestdata)(`compacting the golden files${hasSharedTestdata ? "" : ` (skipped: ${noSharedTestdataReason})`}`, () => {
  const cases: [string, string, string[], string][] = [];
  for (const folder of fixtureFolders()) {
    const names = folder.entries.map((e) => e.file);
    for (const prefix of new Set(names.map((n) => n.split("-")[0]!))) {
      const has = (suffix: string) => names.includes(`${prefix}-${suffix}.ltx`);
      const add = (inputs: string[], out: string) => {
        if (has(out) && inputs.every(has)) cases.push([`${folder.version}/${prefix}-${out}`, folder.version, inputs.map((i) => `${prefix}-${i}.ltx`), `${prefix}-${out}.ltx`]);
      };
      add(["chain-01-snapshot-txid1", "chain-02-incremental-txid2-3", "chain-03-incremental-shrink-txid4"], "compacted-snapshot-txid1-4");
      add(["chain-02-incremental-txid2-3", "chain-03-incremental-shrink-txid4"], "compacted-incremental-txid2-4");
      add(["gotest-compact-snapshot-in1", "gotest-compact-snapshot-in2"], "gotest-compact-snapshot-out");
      add(["gotest-compact-nonsnap-in1", "gotest-compact-nonsnap-in2", "gotest-compact-nonsnap-in3"], "gotest-compact-nonsnap-out");
      add(["gotest-compact-shrink-in1", "gotest-compact-shrink-in2"], "gotest-compact-shrink-out");
    }
  }

  it("has a compaction case for every layout", () => {
    expect(cases.length).toBe(22);
  });

  it.each(cases)("%s byte for byte (streamed inputs)", async (_name, version, inputs, output) => {
    const want = fixtureBytes(version, output);
    const entry = fixtureFolders()
      .find((f) => f.version === version)!
      .entries.find((e) => e.file === output)!;
    const rng = new Rng(inputs.length);
    const sources = inputs.map((name) => new LtxReader(asyncSource(randomChunks(fixtureBytes(version, name), rng, 300)), { file: name }));
    const out = await compactLtxToBuffer(sources, { format: formatOf(entry), lz4: "js" }); // Go's own LZ4 compressor
    const got = decodeLtx(out);
    const expected = decodeLtx(want);
    expect(got.header).toEqual(expected.header);
    expect(got.pages).toEqual(expected.pages);
    expect(got.trailer).toEqual(expected.trailer);
    expect(out).toEqual(want);
  });
});

const header = (h: Partial<LtxHeaderInit> & Pick<LtxHeaderInit, "minTXID" | "maxTXID" | "commit">): LtxHeaderInit => ({ pageSize: 1024, timestamp: 0, ...h });
const page = (pgno: number, byte: number) => ({ pgno, data: fill(byte, 1024) });

/** The inputs of the upstream compactor tests (spec §10.5). */
function upstreamCase(name: "snapshot" | "nonsnap" | "shrink", format: LtxFormat): Uint8Array[] {
  const f = (h: LtxHeaderInit, pages: ReturnType<typeof page>[], post?: bigint) => encodeLtx(h, pages, { format, postApplyChecksum: post, lz4: "js" });
  const F = (n: bigint) => CHECKSUM_FLAG | n;
  switch (name) {
    case "snapshot":
      return [
        f(header({ minTXID: 1, maxTXID: 1, commit: 3, timestamp: 1000 }), [page(1, 0x81), page(2, 0x82), page(3, 0x83)]),
        f(header({ minTXID: 2, maxTXID: 2, commit: 3, timestamp: 2000, preApplyChecksum: 0x8a249272ad9f7dean }), [page(1, 0x91), page(3, 0x93)], 0x8a249272ad9f7dean),
      ];
    case "nonsnap":
      return [
        f(header({ minTXID: 2, maxTXID: 3, commit: 3, timestamp: 1000, preApplyChecksum: F(2n) }), [page(3, 0x83)], F(3n)),
        f(header({ minTXID: 4, maxTXID: 5, commit: 3, timestamp: 2000, preApplyChecksum: F(4n) }), [page(1, 0x91)], F(5n)),
        f(header({ minTXID: 6, maxTXID: 9, commit: 5, timestamp: 3000, preApplyChecksum: F(6n) }), [page(2, 0xa2), page(3, 0xa3), page(5, 0xa5)], F(9n)),
      ];
    case "shrink":
      return [
        f(header({ minTXID: 2, maxTXID: 3, commit: 3, timestamp: 1000, preApplyChecksum: F(2n) }), [page(3, 0x83)], F(3n)),
        f(header({ minTXID: 4, maxTXID: 5, commit: 2, timestamp: 2000, preApplyChecksum: F(4n) }), [page(1, 0x91)], F(5n)),
      ];
  }
}

describe("compactLtx on the upstream compactor vectors (spec §10.5)", () => {
  const expected: Record<"snapshot" | "nonsnap" | "shrink", Record<Exclude<LtxFormat, "v1-lz4">, string>> = {
    snapshot: { v1: "caf341fe1e6cddfb", v2: "ae0ae2e4c2df6049", "v3-frame": "e836ad7ac0be7594", "v3-block": "91206f60138b3298" },
    nonsnap: { v1: "ead633959f3c67a8", v2: "8da4b823aca2e8d7", "v3-frame": "c08218012f50038e", "v3-block": "a211dd2208ba47a3" },
    shrink: { v1: "f688132c3904f118", v2: "a6246dd737ab66ca", "v3-frame": "83c62dde98efed0f", "v3-block": "bda4cf27940698e3" },
  };
  const pagesWanted = {
    snapshot: [
      [1, 0x91],
      [2, 0x82],
      [3, 0x93],
    ],
    nonsnap: [
      [1, 0x91],
      [2, 0xa2],
      [3, 0xa3],
      [5, 0xa5],
    ],
    shrink: [[1, 0x91]],
  };
  for (const name of ["snapshot", "nonsnap", "shrink"] as const) {
    for (const format of ["v1", "v2", "v3-frame", "v3-block"] as const) {
      it(`${name} in ${format} gives file checksum ${expected[name][format]}`, async () => {
        const out = decodeLtx(await compactLtxToBuffer(upstreamCase(name, format), { format, lz4: "js" }));
        expect(formatChecksum(out.trailer.fileChecksum)).toBe(expected[name][format]);
        expect(out.pages.map((p) => [p.pgno, p.data[0]])).toEqual(pagesWanted[name]);
        const ins = upstreamCase(name, format).map((b) => decodeLtx(b).header);
        expect(out.header).toMatchObject({
          minTXID: ins[0]!.minTXID,
          maxTXID: ins[ins.length - 1]!.maxTXID,
          commit: ins[ins.length - 1]!.commit,
          timestamp: ins[ins.length - 1]!.timestamp,
          preApplyChecksum: ins[0]!.preApplyChecksum,
          walOffset: 0,
          nodeID: 0n,
        });
      });
    }
  }
});

describe("mergeLtx", () => {
  const snap = encodeLtx(header({ minTXID: 1, maxTXID: 1, commit: 2 }), [page(1, 1), page(2, 2)]);
  const snapPost = decodeLtx(snap).trailer.postApplyChecksum;

  it("rejects no inputs, mismatched page sizes and TXID gaps", async () => {
    expect(await rejects(mergeLtx([]))).toBe("invalid-argument");
    const other = encodeLtx({ pageSize: 512, commit: 1, minTXID: 2, maxTXID: 2, timestamp: 0 }, [{ pgno: 1, data: fill(1, 512) }], { checksums: false });
    expect(await rejects(mergeLtx([snap, other]))).toBe("page-size-mismatch");
    const gap = encodeLtx(header({ minTXID: 3, maxTXID: 3, commit: 2, preApplyChecksum: snapPost }), [page(1, 5)], { postApplyChecksum: snapPost });
    expect(await rejects(mergeLtx([snap, gap]))).toBe("non-contiguous");
    const merge = await mergeLtx([snap, gap], { allowNonContiguous: true });
    const pages = [];
    for await (const p of merge) pages.push([p.pgno, p.data[0]]);
    expect(pages).toEqual([
      [1, 5],
      [2, 2],
    ]);
  });

  it("accepts overlapping inputs (upstream IsContiguous) and rejects a repeat", async () => {
    const a = encodeLtx(header({ minTXID: 2, maxTXID: 4, commit: 1, preApplyChecksum: CHECKSUM_FLAG }), [page(1, 1)], { postApplyChecksum: CHECKSUM_FLAG | 1n });
    const b = encodeLtx(header({ minTXID: 3, maxTXID: 5, commit: 1, preApplyChecksum: CHECKSUM_FLAG }), [page(1, 2)], { postApplyChecksum: CHECKSUM_FLAG | 2n });
    expect((await mergeLtx([a, b])).header).toMatchObject({ minTXID: 2, maxTXID: 5 });
    expect(await rejects(mergeLtx([a, a]))).toBe("non-contiguous");
  });

  it("names the faulty input and verifies every input fully", async () => {
    const bad = snap.slice();
    bad[bad.length - 1]! ^= 1;
    const merge = await mergeLtx([bad], { names: ["bad.ltx"] });
    const err = await (async () => {
      try {
        for await (const _ of merge) void _;
      } catch (e) {
        return e;
      }
    })();
    expect(isLtxError(err) && err.code === "file-checksum-mismatch" && err.file === "bad.ltx").toBe(true);
  });

  it("computes a snapshot's post-apply checksum when the inputs do not track checksums", async () => {
    const a = encodeLtx(header({ minTXID: 1, maxTXID: 1, commit: 2 }), [page(1, 1), page(2, 2)], { checksums: false });
    const b = encodeLtx(header({ minTXID: 2, maxTXID: 2, commit: 2 }), [page(2, 3)], { checksums: false });
    expect(await rejects(compactLtxToBuffer([b], { checksums: true }))).toBe("invalid-argument");
    const out = decodeLtx(await compactLtxToBuffer([a, b], { checksums: true }));
    const want = decodeLtx(encodeLtx(header({ minTXID: 1, maxTXID: 2, commit: 2 }), [page(1, 1), page(2, 3)]));
    expect(out.trailer.postApplyChecksum).toBe(want.trailer.postApplyChecksum);
    expect(decodeLtx(await compactLtxToBuffer([a, b])).header.flags).toBe(2);
  });

  it("releases its inputs when the consumer stops early", async () => {
    let returned = 0;
    async function* source(bytes: Uint8Array) {
      try {
        yield* asyncSource(randomChunks(bytes, new Rng(1), 50));
      } finally {
        returned++;
      }
    }
    const merge = await mergeLtx([source(snap), source(snap)], { allowNonContiguous: true });
    for await (const p of merge) {
      expect(p.pgno).toBe(1);
      break;
    }
    expect(returned).toBe(2);
  });

  it("merges many inputs with bounded work per page", async () => {
    const inputs: Uint8Array[] = [snap];
    let post = snapPost;
    for (let txid = 2; txid <= 200; txid++) {
      const pgno = (txid % 2) + 1;
      const next = CHECKSUM_FLAG | BigInt(txid);
      inputs.push(encodeLtx(header({ minTXID: txid, maxTXID: txid, commit: 2, preApplyChecksum: post }), [page(pgno, txid & 0xff)], { postApplyChecksum: next }));
      post = next;
    }
    const out = decodeLtx(await compactLtxToBuffer(inputs.slice(1)));
    expect(out.pages.map((p) => [p.pgno, p.data[0]])).toEqual([
      [1, 200],
      [2, 199],
    ]);
    expect(out.header).toMatchObject({ minTXID: 2, maxTXID: 200 });
  });

  it("yields the same output in every layout", async () => {
    for (const format of LTX_FORMATS) {
      const gen = compactLtx([snap], { format });
      const chunks: Uint8Array[] = [];
      for (;;) {
        const r = await gen.next();
        if (r.done) {
          expect(r.value.postApplyChecksum).toBe(snapPost);
          break;
        }
        chunks.push(r.value);
      }
      expect(decodeLtx(concatBytes(chunks)).pages).toEqual(decodeLtx(snap).pages);
    }
  });
});
