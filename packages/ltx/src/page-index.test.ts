/** Tests of the page index: the golden files' indexes, round trips, malformed indexes, ranged reads of large ones, and single-frame decoding. */
import { hasSharedTestdata, noSharedTestdataReason } from "@sqlrep/testkit";
import { describe, expect, it } from "vitest";
import { viewOf } from "./binary.js";
import { CHECKSUM_FLAG } from "./checksum.js";
import { decodeLtx } from "./decoder.js";
import { encodeLtx } from "./encoder.js";
import { isLtxError, type LtxErrorCode } from "./errors.js";
import { hasPageIndex } from "./format.js";
import { decodePageFrame, readIndexedPage } from "./page-frame.js";
import { decodePageIndex, encodePageIndex, readPageIndex, type ReadAt } from "./page-index.js";
import { allFixtures, fixtureBytes, formatOf, sha256 } from "./testing/fixtures.js";
import { genPage } from "./testing/pages.js";

function rangeReader(bytes: Uint8Array): { readAt: ReadAt; reads: [number, number][] } {
  const reads: [number, number][] = [];
  return {
    reads,
    readAt: async (offset, length) => {
      reads.push([offset, length]);
      if (length > 1 << 24) throw new Error(`test reader asked for ${length} bytes`);
      return bytes.slice(offset, offset + length);
    },
  };
}

async function codeOf(fn: () => unknown): Promise<LtxErrorCode | undefined> {
  try {
    await fn();
  } catch (err) {
    if (isLtxError(err)) return err.code;
    throw err;
  }
  return undefined;
}

describe.skipIf(!hasSharedTestdata)(`page index of the golden files${hasSharedTestdata ? "" : ` (skipped: ${noSharedTestdataReason})`}`, () => {
  const indexed = allFixtures().filter(({ entry }) => hasPageIndex(formatOf(entry)));

  it.each(indexed.map(({ version, entry }) => [`${version}/${entry.file}`, version, entry] as const))(
    "%s: index from the tail, then each page by one ranged read",
    async (_name, version, entry) => {
      const bytes = fixtureBytes(version, entry.file);
      for (const tailSize of [undefined, 24]) {
        const { readAt, reads } = rangeReader(bytes);
        const index = await readPageIndex(readAt, bytes.length, { tailSize, file: entry.file });
        expect(index.entries).toEqual(entry.page_index);
        expect(index.trailer.fileChecksum).toBe(BigInt(entry.file_checksum));
        expect(reads.length).toBe(tailSize === undefined ? 1 : 2);
      }
      const { readAt } = rangeReader(bytes);
      for (const [i, e] of entry.page_index!.entries()) {
        const page = await readIndexedPage(readAt, e, entry.header.page_size, { file: entry.file });
        expect(page.pgno).toBe(e.pgno);
        expect(sha256(page.data)).toBe(entry.pages[i]!.data_sha256);
      }
    },
  );
});

describe("page index", () => {
  it("round-trips and records IndexSize exactly (empty index = 00 + size 1)", () => {
    expect(encodePageIndex([])).toEqual(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 1]));
    const entries = [
      { pgno: 1, offset: 100, size: 36 },
      { pgno: 2, offset: 136, size: 36 },
    ];
    const bytes = encodePageIndex(entries);
    expect([...bytes]).toEqual([1, 100, 36, 2, 0x88, 1, 36, 0, 0, 0, 0, 0, 0, 0, 0, 8]);
    expect(decodePageIndex(bytes, { offset: 200 })).toEqual(entries);
  });

  it("rejects malformed indexes", async () => {
    const good = encodePageIndex([{ pgno: 3, offset: 100, size: 10 }]);
    const withSize = (b: number[]) => {
      const out = new Uint8Array(b.length + 8);
      out.set(b);
      viewOf(out).setBigUint64(b.length, BigInt(b.length));
      return out;
    };
    expect(await codeOf(() => decodePageIndex(good.subarray(1)))).toBe("invalid-page-index");
    expect(await codeOf(() => decodePageIndex(withSize([3, 100, 10, 2, 110, 10, 0])))).toBe("invalid-page-index");
    expect(await codeOf(() => decodePageIndex(withSize([3, 100, 10, 4, 105, 10, 0])))).toBe("invalid-page-index");
    expect(await codeOf(() => decodePageIndex(withSize([3, 100, 10])))).toBe("invalid-page-index");
    expect(await codeOf(() => decodePageIndex(withSize([3, 100, 10, 0, 0])))).toBe("invalid-page-index");
    expect(await codeOf(() => decodePageIndex(withSize([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0])))).toBe("invalid-page-index");
    expect(await codeOf(() => decodePageIndex(withSize([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0])))).toBe("unsupported");
    expect(await codeOf(() => decodePageIndex(withSize([3, 100, 10, 0]), { offset: 105 }))).toBe("invalid-page-index");
  });

  it("reads an index larger than the 32 KiB tail with a second ranged read", async () => {
    const pageSize = 512;
    const n = 6000;
    const pages = Array.from({ length: n }, (_, i) => ({ pgno: i + 1, data: genPage(pageSize, i + 1, 1) }));
    const file = encodeLtx({ pageSize, commit: n, minTXID: 1, maxTXID: 1, timestamp: 0 }, pages);
    const { readAt, reads } = rangeReader(file);
    const index = await readPageIndex(readAt, file.length);
    expect(index.size).toBeGreaterThan(32 * 1024);
    expect(reads.length).toBe(2);
    expect(index.entries).toEqual(decodeLtx(file).pageIndex);
    const page = await readIndexedPage(readAt, index.entries[4321]!, pageSize);
    expect(page.data).toEqual(pages[4321]!.data);
  });

  it("never reads (or allocates) from an impossible IndexSize", async () => {
    const file = encodeLtx({ pageSize: 512, commit: 1, minTXID: 2, maxTXID: 2, timestamp: 0 }, [{ pgno: 1, data: genPage(512, 1, 2) }], {
      checksums: false,
    });
    for (const size of [0n, 1n << 40n, BigInt(file.length), 0xffffffffffffffffn]) {
      const bad = file.slice();
      viewOf(bad).setBigUint64(bad.length - 24, size);
      const { readAt, reads } = rangeReader(bad);
      expect(await codeOf(() => readPageIndex(readAt, bad.length))).toMatch(/invalid-page-index|unsupported/);
      expect(reads.length).toBe(1);
    }
    expect(await codeOf(() => readPageIndex(rangeReader(file).readAt, 100))).toBe("truncated");
  });

  it("decodes single frames and rejects frames that lie", async () => {
    const data = genPage(1024, 7, 1);
    const file = encodeLtx({ pageSize: 1024, commit: 9, minTXID: 2, maxTXID: 2, timestamp: 0, preApplyChecksum: CHECKSUM_FLAG }, [{ pgno: 7, data }], {
      postApplyChecksum: CHECKSUM_FLAG | 1n,
    });
    const { pageIndex } = decodeLtx(file);
    const e = pageIndex![0]!;
    const frame = file.subarray(e.offset, e.offset + e.size);
    expect(decodePageFrame(frame, 1024).data).toEqual(data);
    expect(await codeOf(() => decodePageFrame(frame, 1024, { pgno: 8 }))).toBe("invalid-page-index");
    expect(await codeOf(() => decodePageFrame(frame.subarray(0, frame.length - 1), 1024))).toBe("truncated");
    expect(await codeOf(() => decodePageFrame(file.subarray(e.offset, e.offset + e.size + 1), 1024))).toBe("trailing-data");
    expect(await codeOf(() => decodePageFrame(frame, 512))).toBe("lz4");
    const flagged = frame.slice();
    flagged[5] = 3;
    expect(await codeOf(() => decodePageFrame(flagged, 1024))).toBe("invalid-page");
    for (const format of ["v2", "v3-frame"] as const) {
      const f = encodeLtx({ pageSize: 1024, commit: 1, minTXID: 1, maxTXID: 1, timestamp: 0 }, [{ pgno: 1, data: genPage(1024, 1, 1) }], { format });
      const ie = decodeLtx(f).pageIndex![0]!;
      expect(decodePageFrame(f.subarray(ie.offset, ie.offset + ie.size), 1024).data).toEqual(genPage(1024, 1, 1));
      expect(await codeOf(() => decodePageFrame(f.subarray(ie.offset, ie.offset + ie.size + 2), 1024))).toBe("trailing-data");
    }
  });
});
