/** The page frames of a v2/v3 file: a page header, then an LZ4 block (v3-block) or an LZ4 frame, each decompressed to exactly one page. */
import { viewOf } from "./binary.js";
import { PAGE_FLAG_SIZE } from "./format.js";
import type { LtxHeader } from "./header.js";
import { Lz4FrameDecoder } from "./lz4/frame.js";
import type { PageChecks } from "./page-checks.js";
import { decompressPageBlock, maxBlockSize } from "./page-codec.js";
import { NEED, placeOrRethrow, type Ctx, type Parse } from "./parse-context.js";
import type { IndexExpectation } from "./parse-index.js";

/** v2 and v3 page frames up to the end-of-pages marker. */
export function* parseIndexedPages(ctx: Ctx, header: LtxHeader, format: "v2" | "v3-frame" | "v3-block", pages: PageChecks, index: IndexExpectation): Parse<void> {
  const { q } = ctx;
  const { pageSize } = header;
  const headSize = format === "v2" ? 4 : 6;
  const blockLimit = maxBlockSize(pageSize);
  for (;;) {
    const at = q.position;
    const head = yield* ctx.read(headSize, "page header");
    const view = viewOf(head);
    const pgno = view.getUint32(0);
    const flags = headSize === 6 ? view.getUint16(4) : 0;
    if (pgno === 0) {
      if (flags === 0) return;
      throw ctx.error("invalid-page", "page number required", at);
    }
    if ((flags & ~PAGE_FLAG_SIZE) !== 0) {
      throw ctx.error("invalid-page", `invalid page header flags: 0x${flags.toString(16).padStart(4, "0")}`, at + 4);
    }
    pages.pgno(pgno, at);
    let data: Uint8Array;
    if (flags & PAGE_FLAG_SIZE) {
      const sizeAt = q.position;
      const size = viewOf(yield* ctx.read(4, `size of page ${pgno}`)).getUint32(0);
      if (size === 0 || size > blockLimit) {
        throw ctx.error("invalid-page", `compressed size ${size} of page ${pgno} is outside 1…${blockLimit}`, sizeAt);
      }
      const blockAt = q.position;
      if (q.available < size) yield* ctx.fill(size, `LZ4 block of page ${pgno}`);
      data = decompressPageBlock(q.take(size), pageSize, { file: ctx.file, offset: blockAt });
    } else {
      data = yield* readPageFrame(ctx, pageSize, pgno);
    }
    ctx.crc.update(data);
    pages.page(pgno, data);
    const size = q.position - at;
    index.frame(pgno, at, size);
    yield { kind: "page", page: { pgno, data }, offset: at, size };
  }
}

/** Reads one LZ4 frame from the raw input that must decompress to exactly one page. */
function* readPageFrame(ctx: Ctx, pageSize: number, pgno: number): Parse<Uint8Array> {
  const { q } = ctx;
  const start = q.position;
  const decoder = new Lz4FrameDecoder({ baseOffset: start, file: ctx.file, maxContentSize: pageSize });
  const page = new Uint8Array(pageSize);
  const frameFeed = Math.max(256, pageSize >> 2);
  let filled = 0;
  while (!decoder.done) {
    if (q.available === 0) {
      if (q.ended) {
        try {
          decoder.finish();
        } catch (err) {
          placeOrRethrow(err, ctx);
        }
        throw ctx.error("truncated", `unexpected end of file inside the LZ4 frame of page ${pgno}`, q.position);
      }
      yield NEED;
      continue;
    }
    let out: Uint8Array[];
    try {
      // Small slices: the decoder copies what follows its frame, at most one slice.
      out = decoder.push(q.takeSome(frameFeed));
    } catch (err) {
      placeOrRethrow(err, ctx);
    }
    for (const chunk of out) {
      if (filled + chunk.length > pageSize) {
        throw ctx.error("lz4", `LZ4 frame of page ${pgno} decompresses to more than ${pageSize} bytes`, start);
      }
      page.set(chunk, filled);
      filled += chunk.length;
    }
  }
  q.unshift(decoder.takeRemainder());
  if (filled !== pageSize) {
    throw ctx.error("lz4", `LZ4 frame of page ${pgno} decompressed to ${filled} bytes, expected ${pageSize}`, start);
  }
  return page;
}
