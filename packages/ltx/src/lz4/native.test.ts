// The native LZ4 codec (lz4-napi) against the JavaScript one: each decodes the other's
// blocks and frames, the LTX encoder's native output decodes to the same pages as the Go
// reference's files, faults are still placed by the JavaScript decoder, and the fallback
// when the native module is switched off.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { hasSharedTestdata, noSharedTestdataReason } from "@sqlrep/testkit";
import { describe, expect, it } from "vitest";
import { decodeLtx } from "../decoder.js";
import { encodeLtx } from "../encoder.js";
import { isLtxError } from "../errors.js";
import { allFixtures, fixtureBytes, formatOf } from "../testing/fixtures.js";
import { decodeBlock, lz4CompressBlock, lz4DecompressBlock } from "./block.js";
import { referenceDecodeBlock, sample, SAMPLE_KINDS } from "./corpus.fuzz.js";
import { lz4DecodeFrame, lz4EncodeFrame } from "./frame.js";
import { lz4Backend, nativeCompressBlock, nativeDecodeBlock, useNativeCompressor } from "./native.js";

const native = lz4Backend().codec === "native";

describe.skipIf(!native)(`the native LZ4 codec${native ? "" : ` (skipped: ${lz4Backend().reason})`}`, () => {
  it("loads here, and is what the encoder uses by default", () => {
    expect(lz4Backend()).toEqual({ codec: "native", reason: undefined });
    expect(useNativeCompressor(undefined)).toBe(true);
    expect(useNativeCompressor("js")).toBe(false);
  });

  it("blocks: native output decodes with the JavaScript decoder and the reference oracle, and JS output natively", () => {
    for (const kind of SAMPLE_KINDS) {
      for (const size of [0, 1, 15, 512, 4096, 65536]) {
        const data = sample(kind, size, size + 1);
        const packed = nativeCompressBlock(data);
        const js = new Uint8Array(size);
        expect(decodeBlock(packed, 0, packed.length, js, 0, size, 0, 0, undefined)).toBe(size);
        expect(Buffer.compare(js, data)).toBe(0);
        expect(Buffer.compare(referenceDecodeBlock(packed, size) ?? new Uint8Array(1), data)).toBe(0);
        const reference = lz4CompressBlock(data);
        const out = new Uint8Array(size);
        // Under 4 KiB of output the JavaScript decoder is the faster one: the native call declines.
        expect(nativeDecodeBlock(reference, 0, reference.length, out, 0, size)).toBe(size >= 4096 ? size : -1);
        if (size >= 4096) expect(Buffer.compare(out, data)).toBe(0);
      }
    }
  });

  it("refuses a block that does not fit, and lz4DecompressBlock then reports the fault as the JavaScript decoder places it", () => {
    const page = sample("text", 8192, 3);
    const packed = lz4CompressBlock(page);
    expect(nativeDecodeBlock(packed, 0, packed.length, new Uint8Array(8191), 0, 8191)).toBe(-1);
    expect(nativeDecodeBlock(packed, 0, packed.length, new Uint8Array(8192), 0, 8192)).toBe(8192);
    const cut = packed.subarray(0, packed.length - 3);
    let jsError: unknown;
    try {
      decodeBlock(cut, 0, cut.length, new Uint8Array(8192), 0, 8192, 0, 0, undefined);
    } catch (err) {
      jsError = err;
    }
    expect(isLtxError(jsError)).toBe(true);
    expect(() => lz4DecompressBlock(cut, new Uint8Array(8192))).toThrow(expect.objectContaining({ code: "lz4", offset: (jsError as { offset: number }).offset }));
  });

  it("frames: a native-compressed frame decodes to the same content (dependent blocks: frame.test.ts, now decoded natively with their window)", () => {
    const data = sample("text", 300_000, 9);
    const frame = lz4EncodeFrame(data, { blockSize: 65536, codec: "native" });
    expect(Buffer.compare(lz4DecodeFrame(frame).data, data)).toBe(0);
    expect(frame.length).toBeLessThan(data.length);
  });
});

describe.skipIf(!native || !hasSharedTestdata)(`natively encoded golden files${hasSharedTestdata ? "" : ` (skipped: ${noSharedTestdataReason})`}`, () => {
  it("every golden file re-encoded with lz4-napi decodes to the reference's header, pages and post-apply checksum", () => {
    let compressedLayouts = 0;
    for (const { version, entry } of allFixtures()) {
      const d = decodeLtx(fixtureBytes(version, entry.file));
      const format = formatOf(entry);
      const out = decodeLtx(encodeLtx(d.header, d.pages, { format, postApplyChecksum: d.trailer.postApplyChecksum, lz4: "native" }), { format });
      expect(out.header).toEqual(d.header);
      expect(out.pages).toEqual(d.pages);
      expect(out.trailer.postApplyChecksum).toBe(d.trailer.postApplyChecksum);
      if (format !== "v1") compressedLayouts++;
    }
    expect(compressedLayouts).toBeGreaterThan(50);
  });
});

describe("without the native module", () => {
  it("SQLREP_LZ4=js makes the JavaScript codec the default and says why; asking for native is then an error", () => {
    const entry = fileURLToPath(new URL("../../dist/index.js", import.meta.url));
    const script = `import(${JSON.stringify(entry)}).then((m) => {
      const b = m.lz4Backend();
      let refused = "";
      try { m.encodeLtx({ pageSize: 512, commit: 1, minTXID: 1, maxTXID: 1, timestamp: 0 }, [{ pgno: 1, data: new Uint8Array(512) }], { lz4: "native" }); } catch (e) { refused = e.code; }
      const file = m.encodeLtx({ pageSize: 512, commit: 1, minTXID: 1, maxTXID: 1, timestamp: 0 }, [{ pgno: 1, data: new Uint8Array(512).fill(7) }]);
      console.log(JSON.stringify({ ...b, refused, page: m.decodeLtx(file).pages[0].data[5] }));
    })`;
    const out = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { env: { ...process.env, SQLREP_LZ4: "js" }, encoding: "utf8" }));
    expect(out).toEqual({ codec: "js", reason: "SQLREP_LZ4=js", refused: "unsupported", page: 7 });
  });
});
