/** Tests of the encoder: the golden files re-encode byte for byte, upstream and LiteFS checksum vectors, the page rules, streaming equals whole-buffer. */
import { hasSharedTestdata, noSharedTestdataReason } from "@sqlrep/testkit";
import { describe, expect, it } from "vitest";
import { concatBytes } from "./binary.js";
import { CHECKSUM_FLAG, databaseChecksum, formatChecksum } from "./checksum.js";
import { decodeLtx } from "./decoder.js";
import { encodeLtx, encodeLtxStream, LtxEncoder, type LtxHeaderInit } from "./encoder.js";
import { isLtxError } from "./errors.js";
import { LTX_FORMATS } from "./format.js";
import { allFixtures, fixtureBytes, formatOf } from "./testing/fixtures.js";
import { fill } from "./testing/pages.js";

const snapshot = (commit: number, pageSize = 512): LtxHeaderInit => ({ pageSize, commit, minTXID: 1, maxTXID: 1, timestamp: 0 });
const pagesOf = (...bytes: number[]) => bytes.map((b, i) => ({ pgno: i + 1, data: fill(b, 512) }));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (isLtxError(err)) return err.code;
    throw err;
  }
  return undefined;
}

describe.skipIf(!hasSharedTestdata)(`re-encoding the golden files${hasSharedTestdata ? "" : ` (skipped: ${noSharedTestdataReason})`}`, () => {
  it.each(allFixtures().map(({ version, entry }) => [`${version}/${entry.file}`, version, entry] as const))("%s byte for byte", (_name, version, entry) => {
    const bytes = fixtureBytes(version, entry.file);
    const d = decodeLtx(bytes);
    const format = formatOf(entry);
    // lz4 "js": the Go reference's own compressor; lz4-napi's blocks decode the same but differ.
    const out = encodeLtx(d.header, d.pages, { format, postApplyChecksum: d.trailer.postApplyChecksum, lz4: "js" });
    expect(out).toEqual(bytes);
  });
});

describe("LtxEncoder", () => {
  it("reproduces the upstream TestDecoder file in every layout that round-trips", () => {
    const pages = [
      { pgno: 1, data: fill(0x32, 1024) },
      { pgno: 2, data: fill(0x33, 1024) },
    ];
    const file = encodeLtx({ pageSize: 1024, commit: 2, minTXID: 1, maxTXID: 1, timestamp: 1000 }, pages, { lz4: "js" });
    const d = decodeLtx(file);
    expect(formatChecksum(d.trailer.postApplyChecksum)).toBe("e1899b6d587aaaaa");
    expect(formatChecksum(d.trailer.fileChecksum)).toBe("f86fcff36247df82");
    expect(d.pageIndex).toEqual([
      { pgno: 1, offset: 100, size: 36 },
      { pgno: 2, offset: 136, size: 36 },
    ]);
  });

  it("gives the LiteFS backup test's file checksums for v1 (spec §5.7)", () => {
    const header = { pageSize: 512, commit: 2, minTXID: 1, maxTXID: 4, timestamp: 0 };
    const pages = [
      { pgno: 1, data: fill(3, 512) },
      { pgno: 2, data: fill(2, 512) },
    ];
    expect(formatChecksum(decodeLtx(encodeLtx(header, pages, { format: "v1-lz4" })).trailer.fileChecksum)).toBe("b8e6a652b0ec8453");
    expect(formatChecksum(decodeLtx(encodeLtx(header, pages, { format: "v1" })).trailer.fileChecksum)).toBe("cdfd3ff1db5d4292");
  });

  it.each(LTX_FORMATS)("round-trips an empty deletion file in %s", (format) => {
    const file = encodeLtx({ pageSize: 4096, commit: 0, minTXID: 5, maxTXID: 5, timestamp: 1, preApplyChecksum: CHECKSUM_FLAG | 7n }, [], { format });
    const d = decodeLtx(file);
    expect(d.trailer.postApplyChecksum).toBe(CHECKSUM_FLAG);
    expect(d.pages).toEqual([]);
    expect(file.length).toBe({ v1: 120, "v1-lz4": 139, v2: 129, "v3-frame": 131, "v3-block": 131 }[format]);
  });

  it("computes a snapshot's post-apply checksum and rejects a wrong one", () => {
    const pages = pagesOf(1, 2, 3);
    const file = encodeLtx(snapshot(3), pages);
    expect(formatChecksum(decodeLtx(file).trailer.postApplyChecksum)).toBe("efffffffecd99000");
    expect(codeOf(() => encodeLtx(snapshot(3), pages, { postApplyChecksum: CHECKSUM_FLAG | 1n }))).toBe("post-apply-checksum-mismatch");
  });

  it("requires a post-apply checksum for an incremental file with checksums", () => {
    const header = { pageSize: 512, commit: 3, minTXID: 2, maxTXID: 2, timestamp: 0, preApplyChecksum: CHECKSUM_FLAG | 1n };
    expect(codeOf(() => encodeLtx(header, [{ pgno: 2, data: fill(1, 512) }]))).toBe("invalid-argument");
    const db = concatBytes([fill(1, 512), fill(1, 512), fill(1, 512)]);
    const post = databaseChecksum(db, 512);
    expect(decodeLtx(encodeLtx(header, [{ pgno: 2, data: fill(1, 512) }], { postApplyChecksum: post })).trailer.postApplyChecksum).toBe(post);
  });

  it("writes NoChecksum files with zero checksums", () => {
    const header = { pageSize: 512, commit: 1, minTXID: 3, maxTXID: 3, timestamp: 0 };
    const d = decodeLtx(encodeLtx(header, [{ pgno: 1, data: fill(9, 512) }], { checksums: false }));
    expect(d.header.flags).toBe(2);
    expect(d.trailer.postApplyChecksum).toBe(0n);
    expect(decodeLtx(encodeLtx(header, [{ pgno: 1, data: fill(9, 512) }], { checksums: false, format: "v1-lz4" })).header.flags).toBe(3);
  });

  it("enforces the page rules of spec §6.2", () => {
    expect(codeOf(() => encodeLtx(snapshot(2), [{ pgno: 2, data: fill(1, 512) }]))).toBe("incomplete-snapshot");
    expect(codeOf(() => encodeLtx(snapshot(2), pagesOf(1)))).toBe("incomplete-snapshot");
    expect(codeOf(() => encodeLtx(snapshot(1), pagesOf(1, 2)))).toBe("invalid-page");
    expect(codeOf(() => encodeLtx(snapshot(1), [{ pgno: 1, data: fill(1, 100) }]))).toBe("invalid-argument");
    const incr = { pageSize: 4096, commit: 262150, minTXID: 2, maxTXID: 2, timestamp: 0, preApplyChecksum: CHECKSUM_FLAG | 1n };
    const enc = new LtxEncoder(incr);
    expect(codeOf(() => enc.writePage(262145, fill(0, 4096)))).toBe("invalid-page");
    enc.writePage(5, fill(0, 4096));
    expect(codeOf(() => enc.writePage(5, fill(0, 4096)))).toBe("invalid-page");
    expect(codeOf(() => enc.writePage(4, fill(0, 4096)))).toBe("invalid-page");
    expect(codeOf(() => new LtxEncoder({ ...incr, preApplyChecksum: 0n }))).toBe("invalid-header");
    expect(codeOf(() => new LtxEncoder({ ...incr, pageSize: 1000 }))).toBe("invalid-page-size");
    expect(codeOf(() => new LtxEncoder({ ...incr, flags: 1 }))).toBe("invalid-argument");
  });

  it("skips the lock page in a snapshot that crosses it", () => {
    const pageSize = 65536;
    const lock = 16385;
    const enc = new LtxEncoder({ pageSize, commit: lock + 1, minTXID: 1, maxTXID: 1, timestamp: 0 }, { format: "v1", checksums: false });
    const zero = new Uint8Array(pageSize);
    let size = 0;
    for (let pgno = 1; pgno <= lock + 1; pgno++) {
      if (pgno === lock) continue;
      for (const c of enc.writePage(pgno, zero)) size += c.length;
    }
    for (const c of enc.finish()) size += c.length;
    expect(size).toBe(100 + lock * (4 + pageSize) + 4 + 16);
  });

  it("streams the same bytes as the whole-buffer encoder", async () => {
    const pages = pagesOf(4, 5, 6);
    for (const format of LTX_FORMATS) {
      const chunks: Uint8Array[] = [];
      const gen = encodeLtxStream(snapshot(3), pages, { format });
      for (;;) {
        const next = await gen.next();
        if (next.done) {
          expect(next.value.postApplyChecksum).toBe(decodeLtx(concatBytes(chunks)).trailer.postApplyChecksum);
          break;
        }
        chunks.push(next.value);
      }
      expect(concatBytes(chunks)).toEqual(encodeLtx(snapshot(3), pages, { format }));
    }
  });
});
