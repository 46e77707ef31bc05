/** Tests of the decoders on every golden LTX file made by the reference implementations: whole-buffer, streamed in random chunks, layout detection. */
import { hasSharedTestdata, noSharedTestdataReason } from "@sqlrep/testkit";
import { describe, expect, it } from "vitest";
import { formatChecksum, pageChecksum } from "./checksum.js";
import { decodeLtx, LtxReader, type DecodedLtx } from "./decoder.js";
import { detectFormat, type LtxFormat } from "./format.js";
import type { LtxHeader } from "./header.js";
import type { LtxPage } from "./parse-context.js";
import { allFixtures, fixtureBytes, formatOf, hex64, sha256, topFixtureBytes, type ManifestEntry } from "./testing/fixtures.js";
import { asyncSource, randomChunks, Rng } from "./testing/random.js";

const fixtures = allFixtures();

function expectHeader(header: LtxHeader, m: ManifestEntry): void {
  const h = m.header;
  expect(header).toEqual({
    flags: h.flags,
    pageSize: h.page_size,
    commit: h.commit,
    minTXID: h.min_txid,
    maxTXID: h.max_txid,
    timestamp: h.timestamp_ms,
    preApplyChecksum: hex64(h.pre_apply_checksum),
    walOffset: h.wal_offset,
    walSize: h.wal_size,
    walSalt1: h.wal_salt1,
    walSalt2: h.wal_salt2,
    nodeID: hex64(h.node_id),
  });
}

function expectPages(pages: LtxPage[], m: ManifestEntry): void {
  expect(pages.map((p) => p.pgno)).toEqual(m.pages.map((p) => p.pgno));
  pages.forEach((page, i) => {
    const want = m.pages[i]!;
    expect(page.data.length).toBe(m.header.page_size);
    expect(`0x${formatChecksum(pageChecksum(page.pgno, page.data))}`).toBe(want.page_checksum);
    expect(sha256(page.data)).toBe(want.data_sha256);
  });
}

/** The layout detection reports: an empty v3-frame file is byte-identical to an empty v3-block one. */
function detectedFormat(m: ManifestEntry): LtxFormat {
  return formatOf(m) === "v3-frame" && m.pages.length === 0 ? "v3-block" : formatOf(m);
}

function expectDecoded(d: Omit<DecodedLtx, "pageIndex">, m: ManifestEntry, format = detectedFormat(m)): void {
  expect(d.format).toBe(format);
  expectHeader(d.header, m);
  expectPages(d.pages, m);
  expect(d.trailer.postApplyChecksum).toBe(hex64(m.post_apply_checksum));
  expect(d.trailer.fileChecksum).toBe(hex64(m.file_checksum));
  expect(d.size).toBe(m.size);
  expect(d.pageCount).toBe(m.pages.length);
}

describe.skipIf(!hasSharedTestdata)(`decoder on the golden files${hasSharedTestdata ? "" : ` (skipped: ${noSharedTestdataReason})`}`, () => {
  it("finds all 106 generated fixtures", () => {
    expect(fixtures.length).toBe(106);
  });

  describe.each(fixtures.map(({ version, entry }) => [`${version}/${entry.file}`, version, entry] as const))("%s", (_name, version, entry) => {
    const bytes = fixtureBytes(version, entry.file);

    it("has the manifest's size and sha256", () => {
      expect(bytes.length).toBe(entry.size);
      expect(sha256(bytes)).toBe(entry.sha256);
    });

    it("decodes whole-buffer to the manifest", () => {
      const d = decodeLtx(bytes, { file: entry.file });
      expectDecoded(d, entry);
      if (entry.page_index) expect(d.pageIndex).toEqual(entry.page_index);
      else expect(d.pageIndex).toBeUndefined();
    });

    it("decodes whole-buffer with the layout forced", () => {
      expectDecoded(decodeLtx(bytes, { format: formatOf(entry) }), entry, formatOf(entry));
    });

    it("decodes streaming with random chunk sizes to the manifest", async () => {
      const rng = new Rng(0x5eed ^ entry.size);
      for (let round = 0; round < 3; round++) {
        const reader = new LtxReader(asyncSource(randomChunks(bytes, rng, round === 0 ? 64 : 8192)), { file: entry.file });
        const header = await reader.header();
        const pages: LtxPage[] = [];
        for await (const page of reader) pages.push(page);
        const summary = await reader.finish();
        expect(summary.header).toBe(header);
        expectDecoded({ ...summary, pages }, entry);
      }
    });

    it("is detected from its first bytes alone", () => {
      expect(detectFormat(bytes.subarray(0, 132), bytes.length)).toBe(detectedFormat(entry));
    });
  });

  describe("LiteFS fixture litefs-v1-incremental-txid13-3pages.ltx", () => {
    it("decodes with the values of the testdata README", async () => {
      const bytes = topFixtureBytes("litefs-v1-incremental-txid13-3pages.ltx");
      const d = decodeLtx(bytes, { file: "litefs-v1-incremental-txid13-3pages.ltx" });
      expect(sha256(bytes)).toBe("79a22871c930cd51d85ed25b5ed8f603355175ef815d00d71230624b7762b1ad");
      expect(d.format).toBe("v1");
      expect(d.header).toMatchObject({ flags: 0, pageSize: 4096, commit: 10, minTXID: 13, maxTXID: 13, timestamp: 0, walOffset: 0, nodeID: 0n });
      expect(formatChecksum(d.header.preApplyChecksum)).toBe("9c74a15b4e4f246c");
      expect(d.pages.map((p) => p.pgno)).toEqual([1, 7, 8]);
      expect(d.pages.map((p) => formatChecksum(pageChecksum(p.pgno, p.data)))).toEqual(["adf3e188cb5dc241", "eaf0947b2055d648", "9a7407c73d4bb9da"]);
      expect(new TextDecoder().decode(d.pages[0]!.data.subarray(0, 16))).toBe("SQLite format 3\0");
      expect(formatChecksum(d.trailer.postApplyChecksum)).toBe("fe3831a381c602b9");
      expect(formatChecksum(d.trailer.fileChecksum)).toBe("9496a29358326fb5");
      const streamed: number[] = [];
      for await (const page of new LtxReader(asyncSource(randomChunks(bytes, new Rng(13), 1000)))) streamed.push(page.pgno);
      expect(streamed).toEqual([1, 7, 8]);
    });
  });
});
