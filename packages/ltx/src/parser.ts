/**
 * The LTX decoder core, written once as a generator over a `ByteQueue`: it yields
 * `NEED` when the queue runs dry (the streaming driver then pushes the next chunk;
 * the whole-buffer driver never sees it) and yields the header and each page as
 * they are decoded. Both drivers therefore run exactly the same checks. This file
 * walks a whole file, header to trailer; the body's parts are in parse-*.ts.
 */
import { viewOf } from "./binary.js";
import type { ByteQueue } from "./byte-queue.js";
import { CHECKSUM_FLAG, formatChecksum } from "./checksum.js";
import { LtxError } from "./errors.js";
import { DETECT_SIZE, detectFormat, HEADER_SIZE, type LtxFormat } from "./format.js";
import { decodeHeader, validateHeader, type LtxHeader } from "./header.js";
import { PageChecks } from "./page-checks.js";
import { Ctx, NEED, type LtxDecodeSummary, type Parse, type ParserOptions } from "./parse-context.js";
import { parseIndexedPages } from "./parse-frames.js";
import { IndexExpectation, parseIndex } from "./parse-index.js";
import { parseV1Body } from "./parse-v1.js";
import { validateTrailer, type LtxTrailer } from "./trailer.js";

/** Decodes one LTX file from `q`; see the module comment for the protocol. */
export function* parseLtx(q: ByteQueue, options: ParserOptions): Parse<LtxDecodeSummary> {
  const ctx = new Ctx(q, options);
  const { header, format } = yield* parseHeader(ctx);
  yield { kind: "header", header, format };

  const pages = new PageChecks(ctx, header);
  let pageIndexSize: number | undefined;
  if (format === "v1" || format === "v1-lz4") {
    yield* parseV1Body(ctx, header, format, pages);
    pages.finish();
  } else {
    const index = new IndexExpectation();
    yield* parseIndexedPages(ctx, header, format, pages, index);
    pages.finish();
    pageIndexSize = yield* parseIndex(ctx, index);
  }
  const trailer = yield* parseTrailer(ctx, header, pages);
  return { format, header, trailer, pageCount: pages.count, size: q.position, pageIndexSize };
}

/** The header, and the layout (given, or detected from the first bytes). */
export function* parseHeader(ctx: Ctx): Parse<{ header: LtxHeader; format: LtxFormat }> {
  const { q, options } = ctx;
  yield* ctx.fill(HEADER_SIZE, "header");
  const header = decodeHeader(q.peek(HEADER_SIZE), { format: options.format, strict: ctx.strict, file: ctx.file });
  let format = options.format;
  if (format === undefined) {
    while (q.available < DETECT_SIZE && !q.ended) yield NEED;
    const head = q.peek(Math.min(q.available, DETECT_SIZE));
    format = detectFormat(head, q.ended ? q.position + q.available : undefined);
    validateHeader(header, { format, file: ctx.file });
  }
  ctx.crc.update(q.take(HEADER_SIZE));
  return { header, format };
}

/**
 * The trailer. `deferred`: the CRC does not cover the whole file yet (run mode: the page
 * frames are hashed elsewhere), so the file checksum is compared by the caller.
 */
export function* parseTrailer(ctx: Ctx, header: LtxHeader, pages: PageChecks, deferred = false): Parse<LtxTrailer> {
  const { q } = ctx;
  const at = q.position;
  const post = yield* ctx.read(8, "trailer");
  const computed = CHECKSUM_FLAG | ctx.crc.digest();
  if (q.available < 8) yield* ctx.fill(8, "trailer");
  const trailer = { postApplyChecksum: viewOf(post).getBigUint64(0), fileChecksum: viewOf(q.take(8)).getBigUint64(0) };
  if (!deferred) checkFileChecksum(trailer.fileChecksum, computed, { file: ctx.file, offset: at + 8 });
  if (ctx.strict) validateTrailer(header, trailer, { file: ctx.file, offset: at });
  if (pages.sum !== undefined && trailer.postApplyChecksum !== pages.sum.value) {
    throw ctx.error(
      "post-apply-checksum-mismatch",
      `post-apply checksum in trailer (${formatChecksum(trailer.postApplyChecksum)}) does not match calculated checksum (${formatChecksum(pages.sum.value)})`,
      at,
    );
  }
  if (ctx.strict) {
    while (q.available === 0 && !q.ended) yield NEED;
    if (q.available > 0) throw ctx.error("trailing-data", `data after the trailer`, q.position);
  }
  return trailer;
}

/** The file checksum a trailer holds against the one computed from the content. */
export function checkFileChecksum(stored: bigint, computed: bigint, where: { file: string | undefined; offset: number }): void {
  if (stored !== computed) {
    throw new LtxError("file-checksum-mismatch", `file checksum mismatch: trailer has ${formatChecksum(stored)}, content gives ${formatChecksum(computed)}`, where);
  }
}
