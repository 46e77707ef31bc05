/** Tests of the LZ4 frame codec: every frame in the golden LTX files, the spec's example frames, block sizes, and rejection of malformed frames. */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { hasSharedTestdata, noSharedTestdataReason, sharedTestdata } from "@sqlrep/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LtxError, type LtxErrorCode } from "../errors.js";
import { lz4CompressBlock } from "./block.js";
import { buildFrame, sample, SAMPLE_KINDS } from "./corpus.fuzz.js";
import { lz4DecodeFrame, lz4EncodeFrame, Lz4FrameDecoder, Lz4FrameEncoder, type Lz4BlockSize } from "./frame.js";
import { xxhash32 } from "./xxhash32.js";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
const concat = (parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

/** Pushes `frame` in pieces cut at `cuts` (sorted offsets) and returns the content. */
function decodeStreaming(frame: Uint8Array, cuts: number[], options?: ConstructorParameters<typeof Lz4FrameDecoder>[0]) {
  const decoder = new Lz4FrameDecoder(options);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const cut of [...cuts, frame.length]) {
    out.push(...decoder.push(frame.subarray(from, cut)));
    from = cut;
  }
  decoder.finish();
  return { data: concat(out), rest: decoder.takeRemainder(), decoder };
}

function catchError(fn: () => unknown): LtxError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LtxError);
    return err as LtxError;
  }
  throw new Error("expected an LtxError, nothing was thrown");
}

function expectError(fn: () => unknown, code: LtxErrorCode, message: RegExp, offset?: number): LtxError {
  const e = catchError(fn);
  expect(e.code).toBe(code);
  expect(e.message).toMatch(message);
  if (offset !== undefined) expect(e.offset).toBe(offset);
  return e;
}

/** Both decoders, whole and one byte at a time, must fail the same way. */
function expectBothReject(frame: Uint8Array, code: LtxErrorCode, message: RegExp, offset?: number): void {
  expectError(() => lz4DecodeFrame(frame), code, message, offset);
  expectError(
    () =>
      decodeStreaming(
        frame,
        Array.from({ length: frame.length }, (_, i) => i),
      ),
    code,
    message,
    offset,
  );
}

interface ManifestEntry {
  file: string;
  header: { page_size: number; flags: number };
  pages: { pgno: number; data_sha256: string }[] | null;
  page_index?: { pgno: number; offset: number; size: number }[];
}

const readManifest = (dir: string): ManifestEntry[] =>
  hasSharedTestdata ? (JSON.parse(readFileSync(sharedTestdata("ltx", "generated", dir, "manifest.json"), "utf8")) as ManifestEntry[]) : [];

describe.skipIf(!hasSharedTestdata)(`LTX fixture frames${hasSharedTestdata ? "" : ` (skipped: ${noSharedTestdataReason})`}`, () => {
  // v3-frame pages carry a 6-byte page header before the frame, v2 pages a 4-byte one.
  const perPage = (
    [
      ["v3-frame", 6],
      ["v2", 4],
    ] as const
  ).flatMap(([dir, skip]) => readManifest(dir).flatMap((entry) => (entry.page_index ?? []).map((ix, i) => ({ dir, skip, entry, ix, sha: entry.pages![i]!.data_sha256 }))));

  it("covers every page of the v2 and v3-frame manifests", () => {
    expect(perPage.length).toBe(110);
  });

  it.each(perPage.map((p) => [`${p.entry.file} page ${p.ix.pgno}`, p] as const))("%s", (_name, { dir, skip, entry, ix, sha }) => {
    const file = new Uint8Array(readFileSync(sharedTestdata("ltx", "generated", dir, entry.file)));
    const start = ix.offset + skip;
    const end = ix.offset + ix.size;
    const { data, end: frameEnd } = lz4DecodeFrame(file, start, { file: entry.file });
    expect(frameEnd).toBe(end);
    expect(data.length).toBe(entry.header.page_size);
    expect(sha256(data)).toBe(sha);
    expect(hex(lz4EncodeFrame(data, { blockSize: 65536 }))).toBe(hex(file.subarray(start, end)));
  });

  // v1 files with header flag 0x1 (v1lz4-*, and the v1-nochecksum files with flags 0x3).
  const wholeBody = (["v1", "v1-nochecksum"] as const).flatMap((dir) =>
    readManifest(dir)
      .filter((entry) => entry.header.flags & 1)
      .map((entry) => ({ dir, entry })),
  );

  it("finds the LZ4-compressed v1 files", () => {
    expect(wholeBody.length).toBeGreaterThanOrEqual(10);
  });

  it.each(wholeBody.map((w) => [w.entry.file, w] as const))("%s: the body is one frame", (_name, { dir, entry }) => {
    const file = new Uint8Array(readFileSync(sharedTestdata("ltx", "generated", dir, entry.file)));
    const frame = file.subarray(100, file.length - 16);
    const { data, end } = lz4DecodeFrame(file, 100);
    expect(end).toBe(file.length - 16);
    // The body is the v1 page stream: (u32 pgno + page) per page, then a zero u32.
    const ps = entry.header.page_size;
    const pages = entry.pages ?? [];
    expect(data.length).toBe(pages.length * (4 + ps) + 4);
    pages.forEach((page, i) => {
      const at = i * (4 + ps);
      expect(new DataView(data.buffer, data.byteOffset).getUint32(at)).toBe(page.pgno);
      expect(sha256(data.subarray(at + 4, at + 4 + ps))).toBe(page.data_sha256);
    });
    expect(hex(lz4EncodeFrame(data, { blockSize: 65536 }))).toBe(hex(frame));

    // Streamed in 7-byte pieces, the trailer comes back as the remainder.
    const cuts = Array.from({ length: Math.ceil((file.length - 100) / 7) }, (_, i) => i * 7).slice(1);
    const streamed = decodeStreaming(file.subarray(100), cuts, { baseOffset: 100 });
    expect(hex(streamed.data)).toBe(hex(data));
    expect(hex(streamed.rest)).toBe(hex(file.subarray(file.length - 16)));
  });
});

describe("lz4EncodeFrame", () => {
  it("matches the empty-body v1-LZ4 frame of spec Appendix A.3", () => {
    expect(hex(lz4EncodeFrame(new Uint8Array(4), { blockSize: 65536 }))).toBe("04224d186440a7" + "04000080" + "00000000" + "00000000" + "69d9d608");
  });

  it("matches the v3-frame page frame of spec Appendix A.1", () => {
    const frame = lz4EncodeFrame(new Uint8Array(1024).fill(0x32), { blockSize: 65536 });
    expect(frame.length).toBe(45);
    expect(hex(frame)).toBe("04224d186440a7" + "1a000000" + hex(lz4CompressBlock(new Uint8Array(1024).fill(0x32))) + "00000000" + "9537d179");
  });

  it("stores a block raw when no match is found (random 512-byte page)", () => {
    const page = sample("random", 512, 9);
    const frame = lz4EncodeFrame(page, { blockSize: 65536 });
    expect(hex(frame.subarray(7, 11))).toBe("00020080");
    expect(hex(frame.subarray(11, 523))).toBe(hex(page));
  });

  it.each([
    [65536, "6440a7"],
    [262144, "6450"],
    [1048576, "6460"],
    [4194304, "6470b9"], // Litestream v0.3 objects start 04 22 4d 18 64 70 b9
  ] as const)("writes the descriptor for %i-byte blocks", (blockSize, prefix) => {
    const frame = lz4EncodeFrame(new Uint8Array(0), { blockSize });
    expect(hex(frame.subarray(4, 7))).toMatch(new RegExp(`^${prefix}`));
    expect(frame[6]).toBe((xxhash32(frame.subarray(4, 6)) >>> 8) & 0xff);
    expect(hex(frame.subarray(7))).toBe("00000000" + "055dcc02"); // EndMark, XXH32("")
  });

  it("defaults to 4 MiB blocks and can leave out the content checksum", () => {
    expect(hex(lz4EncodeFrame(new Uint8Array(0)).subarray(0, 7))).toBe("04224d186470b9");
    const bare = lz4EncodeFrame(Uint8Array.of(1, 2, 3), { contentChecksum: false, blockSize: 65536 });
    expect(bare[4]).toBe(0x60);
    expect(hex(bare.subarray(7))).toBe("03000080010203" + "00000000");
    expect(hex(lz4DecodeFrame(bare).data)).toBe("010203");
  });

  it("cuts the input every blockSize bytes", () => {
    const data = sample("text", 65536 * 2 + 10, 4);
    const frame = lz4EncodeFrame(data, { blockSize: 65536 });
    const sizes: number[] = [];
    let p = 7;
    for (;;) {
      const word = new DataView(frame.buffer, frame.byteOffset).getUint32(p, true);
      p += 4;
      if (word === 0) break;
      sizes.push(word);
      p += word & 0x7fffffff;
    }
    expect(sizes.length).toBe(3);
    expect(hex(lz4DecodeFrame(frame).data)).toBe(hex(data));
  });

  it("rejects block sizes the format does not have", () => {
    expectError(() => lz4EncodeFrame(new Uint8Array(1), { blockSize: 1000 as Lz4BlockSize }), "invalid-argument", /block size/);
    expectError(() => new Lz4FrameEncoder({ blockSize: 0 as Lz4BlockSize }), "invalid-argument", /block size/);
  });
});

describe("Lz4FrameEncoder", () => {
  it("gives the same bytes as lz4EncodeFrame whatever the chunking", () => {
    const data = sample("mixed", 200_000, 11);
    const whole = lz4EncodeFrame(data, { blockSize: 65536 });
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: data.length - 1 }), { maxLength: 12 }), (cutList) => {
        const cuts = [...cutList].sort((a, b) => a - b);
        const encoder = new Lz4FrameEncoder({ blockSize: 65536 });
        const parts: Uint8Array[] = [];
        let from = 0;
        for (const cut of [...cuts, data.length]) {
          parts.push(...encoder.push(data.subarray(from, cut)));
          from = cut;
        }
        parts.push(...encoder.finish());
        expect(hex(concat(parts))).toBe(hex(whole));
      }),
      { seed: 7, numRuns: 60 },
    );
  });

  it("emits the header first, blocks as they fill, and refuses use after finish()", () => {
    const encoder = new Lz4FrameEncoder({ blockSize: 65536 });
    const first = encoder.push(new Uint8Array(100));
    expect(first.length).toBe(1);
    expect(hex(first[0]!)).toBe("04224d186440a7");
    expect(encoder.push(new Uint8Array(65536)).length).toBe(1); // one full block completed
    expect(encoder.push(new Uint8Array(0))).toEqual([]);
    const tail = encoder.finish();
    expect(tail.length).toBe(2); // the last 100 bytes, then EndMark + checksum
    expectError(() => encoder.push(new Uint8Array(1)), "invalid-argument", /after finish/);
    expectError(() => encoder.finish(), "invalid-argument", /after finish/);
  });
});

describe("frame round trips", () => {
  const sizes = [0, 1, 13, 14, 15, 65535, 65536, 65537, 4 * 65536 + 3];
  it.each(SAMPLE_KINDS.flatMap((kind) => sizes.map((size) => [kind, size] as const)))("%s × %i bytes", (kind, size) => {
    const data = sample(kind, size, size ^ 0x55);
    const frame = lz4EncodeFrame(data, { blockSize: 65536 });
    const decoded = lz4DecodeFrame(frame);
    expect(decoded.end).toBe(frame.length);
    expect(Buffer.compare(decoded.data, data)).toBe(0);
    expect(
      Buffer.compare(
        decodeStreaming(
          frame,
          [1, 7, 8, 100, 70000].filter((c) => c < frame.length),
        ).data,
        data,
      ),
    ).toBe(0);
  });

  it.each([262144, 1048576, 4194304] as const)("several MiB with %i-byte blocks", (blockSize) => {
    const data = sample("mixed", 5 * 1048576 + 123, blockSize);
    const frame = lz4EncodeFrame(data, { blockSize });
    expect(Buffer.compare(lz4DecodeFrame(frame).data, data)).toBe(0);
    const cuts = [3, 65536, 65537, 1_000_000, 4_194_310].filter((c) => c < frame.length);
    expect(Buffer.compare(decodeStreaming(frame, cuts).data, data)).toBe(0);
  });

  it("streaming with arbitrary chunk splits equals the whole-buffer decode", () => {
    const data = sample("mixed", 150_000, 3);
    const frame = lz4EncodeFrame(data, { blockSize: 65536 });
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: frame.length - 1 }), { maxLength: 20 }), (cutList) => {
        const { data: out, rest } = decodeStreaming(
          frame,
          [...cutList].sort((a, b) => a - b),
        );
        expect(Buffer.compare(out, data)).toBe(0);
        expect(rest.length).toBe(0);
      }),
      { seed: 99, numRuns: 100 },
    );
  });

  it("decodes a frame in the middle of a buffer and reports where it ends", () => {
    const frame = lz4EncodeFrame(sample("text", 3000, 1), { blockSize: 65536 });
    const buf = concat([Uint8Array.of(1, 2, 3), frame, Uint8Array.of(9, 9)]);
    const { data, end } = lz4DecodeFrame(buf, 3);
    expect(end).toBe(3 + frame.length);
    expect(hex(data)).toBe(hex(sample("text", 3000, 1)));
  });
});

describe("frame features pierrec does not write", () => {
  const content = sample("text", 150_000, 21);
  const pieces = [content.subarray(0, 65536), content.subarray(65536, 131072), content.subarray(131072)];
  const compressedBlocks = pieces.map((p) => ({ payload: lz4CompressBlock(p), compressed: true }));

  it.each([
    ["block checksums", { blockChecksum: true }],
    ["a content size", { contentSize: content.length }],
    ["no content checksum", { contentChecksum: false }],
    ["everything", { blockChecksum: true, contentSize: content.length, contentChecksum: true }],
    ["a larger block maximum", { blockSizeCode: 7 }],
  ])("reads frames with %s", (_name, options) => {
    const frame = buildFrame({ blocks: compressedBlocks, content, ...options });
    expect(Buffer.compare(lz4DecodeFrame(frame).data, content)).toBe(0);
    expect(lz4DecodeFrame(frame).end).toBe(frame.length);
    expect(Buffer.compare(decodeStreaming(frame, [5, 9, 13, 20, 30000, 80000]).data, content)).toBe(0);
  });

  it("reads dependent blocks that refer to earlier blocks' output", () => {
    // Block 2 is a match reaching 12 bytes back into block 1, then one literal.
    const first = new TextEncoder().encode("hello, world");
    const second = Uint8Array.of(0x04, 12, 0, 0x10, 0x21); // 8 bytes from 12 back, then '!'
    const expected = new TextEncoder().encode("hello, worldhello, w!");
    const frame = buildFrame({
      blocks: [
        { payload: first, compressed: false },
        { payload: second, compressed: true },
      ],
      content: expected,
      independent: false,
    });
    expect(new TextDecoder().decode(lz4DecodeFrame(frame).data)).toBe("hello, worldhello, w!");
    expect(new TextDecoder().decode(decodeStreaming(frame, [3, 20, 21]).data)).toBe("hello, worldhello, w!");

    // Across more than 64 KiB of history the streaming window keeps the last 64 KiB.
    const big = sample("random", 70000, 5);
    const reach = Uint8Array.of(0x0f, 0xff, 0xff, 200, 0x10, 0x21); // 219 bytes from 65535 back
    const tail = big.subarray(70000 - 65535, 70000 - 65535 + 219);
    const frame2 = buildFrame({
      blocks: [
        { payload: big.subarray(0, 65536), compressed: false },
        { payload: big.subarray(65536), compressed: false },
        { payload: reach, compressed: true },
      ],
      content: concat([big, tail, Uint8Array.of(0x21)]),
      independent: false,
    });
    const whole = lz4DecodeFrame(frame2).data;
    expect(hex(whole.subarray(70000, 70000 + 219))).toBe(hex(tail));
    expect(hex(decodeStreaming(frame2, [100, 65600, 70020]).data)).toBe(hex(whole));

    // The same bytes with the independence flag set are malformed.
    const independent = buildFrame({
      blocks: [
        { payload: first, compressed: false },
        { payload: second, compressed: true },
      ],
      content: expected,
      independent: true,
    });
    expectBothReject(independent, "lz4", /reaches before the start of the output/);
  });

  it("treats a size word of 0x80000000 as the EndMark, as the lz4 reference does", () => {
    const frame = lz4EncodeFrame(Uint8Array.of(1, 2, 3), { blockSize: 65536 });
    const end = frame.length - 8;
    frame[end + 3] = 0x80;
    expect(hex(lz4DecodeFrame(frame).data)).toBe("010203");
  });
});

describe("frame errors", () => {
  const good = lz4EncodeFrame(sample("text", 5000, 2), { blockSize: 65536 });
  const patched = (at: number, ...bytes: number[]): Uint8Array => {
    const copy = good.slice();
    copy.set(bytes, at);
    return copy;
  };
  /** A frame whose descriptor is `descriptor` with a correct header checksum. */
  const withDescriptor = (...descriptor: number[]): Uint8Array =>
    Uint8Array.of(0x04, 0x22, 0x4d, 0x18, ...descriptor, (xxhash32(Uint8Array.from(descriptor)) >>> 8) & 255, 0, 0, 0, 0);

  it.each([
    ["a foreign magic", patched(0, 0x50, 0x4b, 0x03, 0x04), /not an LZ4 frame: magic 0x04034b50/, 0],
    ["a skippable frame", patched(0, 0x5a, 0x2a, 0x4d, 0x18, 0, 0, 0, 0), /skippable LZ4 frames .* are not supported/, 0],
    ["a legacy frame", patched(0, 0x02, 0x21, 0x4c, 0x18), /legacy LZ4 frames .* are not supported/, 0],
    ["an unknown version", withDescriptor(0x84, 0x40), /unsupported LZ4 frame version 2/, 4],
    ["a reserved flag bit", withDescriptor(0x62, 0x40), /reserved bit set in the LZ4 frame flags/, 4],
    ["a dictionary id", withDescriptor(0x61, 0x40, 1, 2, 3, 4), /need a dictionary/, 4],
    ["reserved block-descriptor bits", withDescriptor(0x64, 0x41), /reserved bits set in the LZ4 block descriptor/, 5],
    ["a block maximum below 64 KiB", withDescriptor(0x64, 0x30), /invalid LZ4 block maximum size code 3/, 5],
    ["a bad header checksum", patched(6, good[6]! ^ 1), /header checksum mismatch/, 6],
    ["a block larger than the maximum", patched(7, 0x01, 0x00, 0x01, 0x00), /65537 bytes exceeds the frame's 65536-byte maximum/, 7],
    ["a bad content checksum", patched(good.length - 4, good[good.length - 4]! ^ 0x80), /content checksum mismatch/, good.length - 4],
  ])("rejects %s", (_name, frame, message, offset) => {
    expectBothReject(frame, "lz4", message, offset);
  });

  it("rejects a corrupt compressed block and names its offset in the file", () => {
    const frame = buildFrame({ blocks: [{ payload: Uint8Array.of(0x10, 0x61, 0x05, 0x00, 0x10, 0x62), compressed: true }], content: new Uint8Array(0) });
    // The bad offset field sits 2 bytes into the block, which starts at 7 + 4.
    expectBothReject(frame, "lz4", /offset 5 reaches before the start/, 13);
    const inFile = concat([new Uint8Array(100), frame]);
    const e = expectError(() => lz4DecodeFrame(inFile, 100, { file: "x.ltx" }), "lz4", /offset 5/, 113);
    expect(e.file).toBe("x.ltx");
    expect(e.message).toContain("in x.ltx at offset 113");
    const s = expectError(() => decodeStreaming(frame, [4], { baseOffset: 100, file: "x.ltx" }), "lz4", /offset 5/, 113);
    expect(s.file).toBe("x.ltx");
  });

  it("verifies block checksums", () => {
    const content = sample("page", 3000, 1);
    const frame = buildFrame({ blocks: [{ payload: lz4CompressBlock(content), compressed: true }], content, blockChecksum: true });
    frame[frame.length - 9]! ^= 1; // last byte of the block checksum
    expectBothReject(frame, "lz4", /block checksum mismatch/, frame.length - 12);
  });

  it("checks the declared content size both ways", () => {
    const content = sample("page", 3000, 1);
    const blocks = [{ payload: lz4CompressBlock(content), compressed: true }];
    expectBothReject(buildFrame({ blocks, content, contentSize: 2999 }), "lz4", /exceeds its declared size of 2999/);
    expectBothReject(buildFrame({ blocks, content, contentSize: 3001 }), "lz4", /content is 3000 bytes, its header declares 3001/);
    expectBothReject(buildFrame({ blocks, content, contentSize: 2 ** 60 }), "lz4", /content size of 2\^53 bytes or more/, 6);
  });

  it("enforces maxContentSize, declared or actual", () => {
    const content = sample("zeros", 200_000, 0);
    const frame = lz4EncodeFrame(content, { blockSize: 65536 });
    expectError(() => lz4DecodeFrame(frame, 0, { maxContentSize: 199_999 }), "lz4", /exceeds the allowed 199999 bytes/);
    expect(lz4DecodeFrame(frame, 0, { maxContentSize: 200_000 }).data.length).toBe(200_000);
    const d = new Lz4FrameDecoder({ maxContentSize: 100_000 });
    expectError(() => d.push(frame), "lz4", /exceeds the allowed 100000 bytes/);
    const declared = buildFrame({ blocks: [], content: new Uint8Array(0), contentSize: 5000 });
    expectError(() => lz4DecodeFrame(declared, 0, { maxContentSize: 4999 }), "lz4", /declares 5000 content bytes, more than the allowed 4999/);
    expectError(() => lz4DecodeFrame(frame, 0, { maxContentSize: -1 }), "invalid-argument", /maxContentSize/);
  });

  it("reports every cut-off frame as truncated (whole buffer and stream)", () => {
    const frame = buildFrame({
      blocks: [{ payload: lz4CompressBlock(sample("text", 2000, 8)), compressed: true }],
      content: sample("text", 2000, 8),
      blockChecksum: true,
      contentSize: 2000,
    });
    for (let n = 0; n < frame.length; n++) {
      const prefix = frame.subarray(0, n);
      expectError(() => lz4DecodeFrame(prefix), "truncated", /./, n);
      const decoder = new Lz4FrameDecoder({ baseOffset: 1000 });
      decoder.push(prefix);
      expect(decoder.done).toBe(false);
      expectError(() => decoder.finish(), "truncated", /ends early/, 1000 + n);
    }
  });

  it("rejects a bad offset argument", () => {
    expectError(() => lz4DecodeFrame(good, -1), "invalid-argument", /offset -1/);
    expectError(() => lz4DecodeFrame(good, good.length + 1), "invalid-argument", /offset/);
    expectError(() => lz4DecodeFrame(good, 1.5), "invalid-argument", /offset/);
  });
});

describe("Lz4FrameDecoder", () => {
  const content = sample("page", 100_000, 4);
  const frame = lz4EncodeFrame(content, { blockSize: 65536 });

  it("returns one chunk per block as blocks complete, and the bytes after the frame", () => {
    const d = new Lz4FrameDecoder();
    const first = d.push(frame.subarray(0, 20));
    expect(first).toEqual([]);
    const rest = d.push(concat([frame.subarray(20), Uint8Array.of(7, 8)]));
    expect(rest.map((c) => c.length)).toEqual([65536, 100_000 - 65536]);
    expect(d.done).toBe(true);
    expect(d.push(Uint8Array.of(9))).toEqual([]);
    expect([...d.takeRemainder()]).toEqual([7, 8, 9]);
    expect(d.takeRemainder().length).toBe(0);
    d.finish();
  });

  it("keeps failing after an error", () => {
    const bad = frame.slice();
    bad[bad.length - 1]! ^= 1;
    const d = new Lz4FrameDecoder();
    const e = catchError(() => d.push(bad));
    expect(catchError(() => d.push(new Uint8Array(1)))).toBe(e);
    expect(catchError(() => d.finish())).toBe(e);
  });

  it("names the magic error at finish() when fewer than 7 bytes came", () => {
    const d = new Lz4FrameDecoder();
    d.push(Uint8Array.of(1, 2, 3, 4, 5));
    expectError(() => d.finish(), "lz4", /not an LZ4 frame/);
  });
});
