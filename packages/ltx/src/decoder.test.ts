/** Tests that both decoders reject malformed files (spec §6.3) in every layout: page order, lock page, snapshots, trailers, truncations, flipped bytes. */
import { describe, expect, it } from "vitest";
import { viewOf } from "./binary.js";
import { CHECKSUM_FLAG, DatabaseChecksum, pageChecksum } from "./checksum.js";
import { decodeLtx, decodeLtxStream, LtxReader } from "./decoder.js";
import { encodeLtx } from "./encoder.js";
import { isLtxError, type LtxError } from "./errors.js";
import { LTX_FORMATS, type LtxFormat } from "./format.js";
import { decodeHeader } from "./header.js";
import { asyncSource, randomChunks, Rng } from "./testing/random.js";
import { genPage } from "./testing/pages.js";
import { rawHeader, writeRawLtx, type RawLtx, type RawPage } from "./testing/raw-ltx.js";

const PS = 1024;
const page = (pgno: number, txid = 1): RawPage => ({ pgno, data: genPage(PS, pgno, txid) });
const F = (n: bigint) => CHECKSUM_FLAG | n;

function snapshotSum(pages: RawPage[]): bigint {
  const sum = new DatabaseChecksum();
  for (const p of pages) sum.add(pageChecksum(p.pgno, p.data));
  return sum.value;
}

/** A valid incremental file (TXID 2, commit 10) in `format`, tweaked by `patch`. */
function incremental(format: LtxFormat, pages: RawPage[], patch: Partial<RawLtx> = {}): Uint8Array {
  return writeRawLtx({
    format,
    header: rawHeader({ pageSize: PS, commit: 10, minTXID: 2, maxTXID: 2, preApplyChecksum: F(1n), flags: format === "v1-lz4" ? 1 : 0 }),
    pages,
    postApplyChecksum: F(2n),
    ...patch,
  });
}

function snapshot(format: LtxFormat, pages: RawPage[], commit: number, patch: Partial<RawLtx> = {}): Uint8Array {
  return writeRawLtx({
    format,
    header: rawHeader({ pageSize: PS, commit, minTXID: 1, maxTXID: 1, flags: format === "v1-lz4" ? 1 : 0 }),
    pages,
    postApplyChecksum: snapshotSum(pages),
    ...patch,
  });
}

function failure(bytes: Uint8Array, options: Parameters<typeof decodeLtx>[1] = {}): LtxError | undefined {
  try {
    decodeLtx(bytes, options);
  } catch (err) {
    if (isLtxError(err)) return err;
    throw err;
  }
  return undefined;
}

async function streamFailure(bytes: Uint8Array, options: Parameters<typeof decodeLtx>[1] = {}): Promise<LtxError | undefined> {
  try {
    await decodeLtxStream(asyncSource(randomChunks(bytes, new Rng(bytes.length), 100)), () => undefined, options);
  } catch (err) {
    if (isLtxError(err)) return err;
    throw err;
  }
  return undefined;
}

/** Both drivers report the same code; strict: false accepts when `lenient`. */
async function expectRejected(bytes: Uint8Array, code: string, lenient: boolean, format?: LtxFormat): Promise<void> {
  expect(failure(bytes, { format })?.code).toBe(code);
  expect((await streamFailure(bytes, { format }))?.code).toBe(code);
  if (lenient) expect(failure(bytes, { format, strict: false })).toBeUndefined();
  else expect(failure(bytes, { format, strict: false })).toBeDefined();
}

describe.each(LTX_FORMATS)("strict structure checks in %s (spec §6.3)", (format) => {
  it("accepts the valid baseline", () => {
    expect(decodeLtx(incremental(format, [page(2), page(5)])).pages.map((p) => p.pgno)).toEqual([2, 5]);
    expect(decodeLtx(snapshot(format, [page(1), page(2)], 2)).pages.length).toBe(2);
  });

  it("rejects pages out of order or repeated", async () => {
    await expectRejected(incremental(format, [page(5), page(2)]), "invalid-page", true, format);
    await expectRejected(incremental(format, [page(5), page(5)]), "invalid-page", true, format);
  });

  it("rejects a page beyond the commit, and any page in a deletion file", async () => {
    await expectRejected(incremental(format, [page(11)]), "invalid-page", true, format);
    const deletion = incremental(format, [page(1)], {
      header: rawHeader({ pageSize: PS, commit: 0, minTXID: 2, maxTXID: 2, preApplyChecksum: F(1n), flags: format === "v1-lz4" ? 1 : 0 }),
      postApplyChecksum: CHECKSUM_FLAG,
    });
    await expectRejected(deletion, "invalid-page", true, format);
  });

  it("rejects the lock page", async () => {
    const ps = 65536;
    const lock = 16385;
    const file = writeRawLtx({
      format,
      header: rawHeader({ pageSize: ps, commit: lock + 1, minTXID: 2, maxTXID: 2, preApplyChecksum: F(1n), flags: format === "v1-lz4" ? 1 : 0 }),
      pages: [{ pgno: lock, data: new Uint8Array(ps) }],
      postApplyChecksum: F(2n),
    });
    await expectRejected(file, "invalid-page", true, format);
  });

  it("rejects incomplete snapshots", async () => {
    await expectRejected(snapshot(format, [page(1), page(3)], 3), "incomplete-snapshot", true, format);
    await expectRejected(snapshot(format, [page(1), page(2)], 3), "incomplete-snapshot", true, format);
    await expectRejected(snapshot(format, [page(2)], 2), "incomplete-snapshot", true, format);
  });

  it("rejects a snapshot whose post-apply checksum is not its pages' (even when lenient)", async () => {
    await expectRejected(snapshot(format, [page(1)], 1, { postApplyChecksum: F(3n) }), "post-apply-checksum-mismatch", false, format);
  });

  it("rejects bad trailer values", async () => {
    await expectRejected(incremental(format, [page(1)], { postApplyChecksum: 5n }), "invalid-trailer", true, format);
    const noChecksum = incremental(format, [page(1)], {
      header: rawHeader({ pageSize: PS, commit: 10, minTXID: 2, maxTXID: 2, flags: 2 | (format === "v1-lz4" ? 1 : 0) }),
      postApplyChecksum: F(1n),
    });
    await expectRejected(noChecksum, "invalid-trailer", true, format);
  });

  it("rejects data after the trailer", async () => {
    await expectRejected(incremental(format, [page(1)], { trailing: new Uint8Array([0]) }), "trailing-data", true, format);
  });

  it("rejects non-zero reserved header bytes", async () => {
    await expectRejected(incremental(format, [page(1)], { patchHeader: (b) => void (b[99] = 1) }), "invalid-header", true, format);
  });

  it("reports a flipped byte as a file checksum mismatch at the trailer", () => {
    const file = incremental(format, [page(1), page(2)]);
    const bad = file.slice();
    bad[39]! ^= 0x40; // the timestamp: still a valid header
    expect(failure(bad, { format })).toMatchObject({ code: "file-checksum-mismatch", offset: file.length - 8 });
    const flipped = file.slice();
    flipped[flipped.length - 1]! ^= 1;
    expect(failure(flipped, { format })).toMatchObject({ code: "file-checksum-mismatch", offset: file.length - 8 });
  });

  it("rejects every truncation with a typed error, in both drivers", async () => {
    const file = incremental(format, [page(1), page(2)]);
    for (let n = 0; n < file.length; n++) {
      expect(failure(file.subarray(0, n), { format })).toBeDefined();
      if (n % 7 === 0) expect(await streamFailure(file.subarray(0, n), { format })).toBeDefined();
    }
  });
});

describe("page index checks (v2/v3)", () => {
  for (const format of ["v2", "v3-frame", "v3-block"] as const) {
    it(`${format}: entries must match the frames and IndexSize must be exact`, async () => {
      const pages = [page(2), page(5)];
      const good = decodeLtx(incremental(format, pages)).pageIndex!;
      const wrongOffset = good.map((e, i) => (i === 1 ? { ...e, offset: e.offset + 1, size: e.size - 1 } : e));
      await expectRejected(incremental(format, pages, { index: wrongOffset }), "invalid-page-index", true, format);
      await expectRejected(incremental(format, pages, { index: good.slice(0, 1) }), "invalid-page-index", true, format);
      await expectRejected(incremental(format, pages, { index: [...good].reverse() }), "invalid-page-index", true, format);
      await expectRejected(incremental(format, pages, { indexSize: 1n }), "invalid-page-index", true, format);
    });
  }
});

describe("layout-specific faults", () => {
  it("v3: a zero pgno with flags, unknown flags, an oversized block", async () => {
    const withFlags = incremental("v3-block", [{ ...page(1), flags: 3 }]);
    await expectRejected(withFlags, "invalid-page", false, "v3-block");
    const file = incremental("v3-block", [page(1)]);
    const huge = file.slice();
    viewOf(huge).setUint32(106, 0x7fffffff);
    expect(failure(huge, { format: "v3-block" })).toMatchObject({ code: "invalid-page", offset: 106 });
    const zeroPgno = incremental("v3-block", [page(1)]).slice();
    zeroPgno.set([0, 0, 0, 0], 100);
    expect(failure(zeroPgno, { format: "v3-block" })?.code).toBe("invalid-page");
  });

  it("v3: accepts a file mixing block and frame pages, as the reference does", () => {
    const mixed = incremental("v3-block", [page(1), { ...page(2), flags: 0 }]);
    expect(decodeLtx(mixed).pages.map((p) => p.pgno)).toEqual([1, 2]);
  });

  it("a page that decompresses to the wrong size is an lz4 error", async () => {
    for (const format of ["v2", "v3-frame", "v3-block"] as const) {
      const short = incremental(format, [{ pgno: 1, data: genPage(PS / 2, 1, 1) }]);
      expect(failure(short, { format })?.code).toBe("lz4");
      expect((await streamFailure(short, { format }))?.code).toBe("lz4");
    }
  });

  it("v1-lz4: data after the end marker inside the LZ4 body", async () => {
    await expectRejected(incremental("v1-lz4", [page(1)], { bodyTrailing: new Uint8Array([1, 2, 3]) }), "trailing-data", false);
  });

  it("a TXID beyond Number.MAX_SAFE_INTEGER is an unsupported error", () => {
    const file = incremental("v3-block", [page(1)], { patchHeader: (b) => viewOf(b).setBigUint64(24, 1n << 60n) });
    expect(failure(file)?.code).toBe("unsupported");
  });

  it("header rules of spec §2.3", () => {
    const base = { pageSize: PS, commit: 1, minTXID: 2, maxTXID: 2, preApplyChecksum: F(1n) };
    const code = (fields: Parameters<typeof rawHeader>[0], patch?: (b: Uint8Array) => void) =>
      failure(writeRawLtx({ format: "v3-block", header: rawHeader(fields), pages: [], postApplyChecksum: F(1n), patchHeader: patch }), { format: "v3-block" })?.code;
    expect(code(base, (b) => void (b[0] = 0x4d))).toBe("invalid-magic");
    expect(code({ ...base, flags: 4 })).toBe("invalid-flags");
    expect(code({ ...base, flags: 1 })).toBe("invalid-flags");
    expect(code({ ...base, pageSize: 1000 })).toBe("invalid-page-size");
    expect(code({ ...base, pageSize: 256 })).toBe("invalid-page-size");
    expect(code({ ...base, minTXID: 3 })).toBe("invalid-header");
    expect(code({ ...base, walSalt1: 1 })).toBe("invalid-header");
    expect(code({ ...base, walSize: 1 })).toBe("invalid-header");
    expect(code({ ...base, walOffset: -1 })).toBe("invalid-header");
    expect(code({ ...base, preApplyChecksum: 0n })).toBe("invalid-header");
    expect(code({ ...base, preApplyChecksum: 5n })).toBe("invalid-header");
    expect(code({ ...base, minTXID: 1, maxTXID: 1 })).toBe("invalid-header");
    expect(code({ ...base, flags: 2 })).toBe("invalid-header");
    expect(() => decodeHeader(new Uint8Array(99))).toThrow(/header needs 100 bytes/);
  });

  it("names the file and the absolute offset in messages", () => {
    const file = incremental("v1", [page(1), page(2)]);
    const bad = file.slice();
    bad[110]! ^= 1;
    const err = failure(bad, { file: "x.ltx" })!;
    expect(err.message).toMatch(/file checksum mismatch.*\(in x\.ltx at offset \d+\)$/);
    expect(err.file).toBe("x.ltx");
  });
});

describe("LtxReader", () => {
  it("hands out pages one at a time and verifies on finish", async () => {
    const file = encodeLtx(
      { pageSize: 512, commit: 3, minTXID: 1, maxTXID: 1, timestamp: 5 },
      [1, 2, 3].map((pgno) => ({ pgno, data: genPage(512, pgno, 1) })),
    );
    const reader = new LtxReader(asyncSource(randomChunks(file, new Rng(1), 33)));
    expect((await reader.header()).timestamp).toBe(5);
    expect(await reader.format()).toBe("v3-block");
    expect((await reader.nextPage())?.pgno).toBe(1);
    const summary = await reader.finish();
    expect(summary.pageCount).toBe(3);
    expect(summary.size).toBe(file.length);
    expect(await reader.nextPage()).toBeUndefined();
  });

  it("accepts Node streams, web streams, sync iterables and plain buffers", async () => {
    const file = encodeLtx({ pageSize: 512, commit: 1, minTXID: 1, maxTXID: 1, timestamp: 5 }, [{ pgno: 1, data: genPage(512, 1, 1) }]);
    const { Readable } = await import("node:stream");
    const sources = [file, [file.subarray(0, 10), file.subarray(10)], Readable.from([Buffer.from(file)]), new Blob([file]).stream()];
    for (const source of sources) expect((await new LtxReader(source as Uint8Array).finish()).pageCount).toBe(1);
    await expect(new LtxReader([new Uint8Array(0), "x" as unknown as Uint8Array]).finish()).rejects.toMatchObject({ code: "invalid-argument" });
  });

  it("stops at an aborted signal and closes the source", async () => {
    const file = encodeLtx({ pageSize: 512, commit: 1, minTXID: 1, maxTXID: 1, timestamp: 5 }, [{ pgno: 1, data: genPage(512, 1, 1) }]);
    const controller = new AbortController();
    let closed = false;
    async function* source() {
      try {
        yield file.subarray(0, 100);
        controller.abort();
        yield file.subarray(100);
      } finally {
        closed = true;
      }
    }
    const reader = new LtxReader(source(), { signal: controller.signal, file: "a.ltx" });
    await expect(reader.finish()).rejects.toMatchObject({ code: "aborted", file: "a.ltx" });
    expect(closed).toBe(true);
  });
});
