/** The decoder's run mode for v3-block files: everything checked but the page payloads, which are cut into runs of whole frames for other threads to decode. */
import type { ByteQueue } from "./byte-queue.js";
import { Crc64 } from "./crc64.js";
import { PAGE_FLAG_SIZE } from "./format.js";
import type { LtxHeader } from "./header.js";
import { PageChecks } from "./page-checks.js";
import { maxBlockSize } from "./page-codec.js";
import { Ctx, type DecodeOptions, type LtxDecodeSummary, type LtxFrameRun, type Parse } from "./parse-context.js";
import { IndexExpectation, parseIndex } from "./parse-index.js";
import { parseHeader, parseTrailer } from "./parser.js";

/** How `parseLtxRuns` cuts runs: at whichever limit is reached first. */
export interface RunParserOptions extends DecodeOptions {
  /** Bytes of frames per run (a run ends with the frame that reaches it). */
  runBytes: number;
  /** Pages per run. */
  runPages: number;
  /** Run buffers handed back by the caller, reused before a new one is allocated. */
  spare?: Uint8Array[] | undefined;
}

/** What the run parser verified itself, and what the caller must combine with the runs' results. */
export interface RunParseSummary extends LtxDecodeSummary {
  /** CRC of the header: the file checksum stream before the first run. */
  headCrc: bigint;
  /** CRC of the end marker, the index and the post-apply checksum: the stream after the last run. */
  tailCrc: bigint;
  tailLength: number;
  /** Offset of the trailer's file checksum (for errors). */
  fileChecksumOffset: number;
  runs: number;
}

/**
 * The run mode of the decoder, for v3-block files: everything `parseLtx` checks except
 * what needs the decompressed pages. Page frames are not decompressed: they are walked
 * (page numbers, flags, sizes, the strict rules, the index they imply) and yielded in
 * runs. The file checksum of the header and of the tail is computed here; the runs'
 * parts (`decodeFrameRun`), and the snapshot's post-apply checksum, are the caller's to
 * combine (see `LtxRunReader`). A page stored as an LZ4 frame (the v3-frame form, which a
 * v3 file may mix in) cannot be cut without decoding it: `unsupported`, so that the
 * caller decodes the file the ordinary way.
 */
export function* parseLtxRuns(q: ByteQueue, options: RunParserOptions): Parse<RunParseSummary> {
  const ctx = new Ctx(q, { ...options, copyPages: false, emitIndex: false });
  const { header, format } = yield* parseHeader(ctx);
  if (format !== "v3-block") throw ctx.error("unsupported", `frame runs need a v3-block file, this one is ${format}`, undefined);
  yield { kind: "header", header, format };
  const headCrc = ctx.crc.digest();
  const pages = new PageChecks(ctx, header, false);
  const index = new IndexExpectation();
  const runs = yield* walkFrameRuns(ctx, header, pages, index, options);
  pages.finish();
  ctx.crc = new Crc64();
  const tailStart = q.position;
  yield* ctx.read(6, "end marker");
  const pageIndexSize = yield* parseIndex(ctx, index);
  const fileChecksumOffset = q.position + 8;
  const trailer = yield* parseTrailer(ctx, header, pages, true);
  const tailLength = fileChecksumOffset - tailStart;
  return { format, header, trailer, pageCount: pages.count, size: q.position, pageIndexSize, headCrc, tailCrc: ctx.crc.digest(), tailLength, fileChecksumOffset, runs };
}

/** v3 page frames up to (not including) the end marker, walked and yielded as runs; returns how many. */
function* walkFrameRuns(ctx: Ctx, header: LtxHeader, pages: PageChecks, index: IndexExpectation, options: RunParserOptions): Parse<number> {
  const { q } = ctx;
  const blockLimit = maxBlockSize(header.pageSize);
  const capacity = Math.min(options.runBytes, options.runPages * (10 + blockLimit)) + 10 + blockLimit;
  let run: LtxFrameRun | undefined;
  let filled = 0;
  let count = 0;
  const cut = (): LtxFrameRun => {
    const done = run!;
    done.bytes = done.bytes.subarray(0, filled);
    run = undefined;
    filled = 0;
    count++;
    return done;
  };
  for (;;) {
    const at = q.position;
    if (q.available < 6) yield* ctx.fill(6, "page header");
    // Fields read in place: a view per field would be an allocation per page.
    const pgno = q.uint32At(0);
    const flags = q.uint16At(4);
    if (pgno === 0) {
      if (flags === 0) break;
      throw ctx.error("invalid-page", "page number required", at);
    }
    if ((flags & ~PAGE_FLAG_SIZE) !== 0) {
      throw ctx.error("invalid-page", `invalid page header flags: 0x${flags.toString(16).padStart(4, "0")}`, at + 4);
    }
    pages.pgno(pgno, at);
    if ((flags & PAGE_FLAG_SIZE) === 0) throw ctx.error("unsupported", `page ${pgno} is stored as an LZ4 frame, which frame runs cannot cut`, at);
    if (q.available < 10) yield* ctx.fill(10, `size of page ${pgno}`);
    const size = q.uint32At(6);
    if (size === 0 || size > blockLimit) {
      throw ctx.error("invalid-page", `compressed size ${size} of page ${pgno} is outside 1…${blockLimit}`, at + 6);
    }
    if (q.available < 10 + size) yield* ctx.fill(10 + size, `LZ4 block of page ${pgno}`);
    run ??= { index: count, offset: at, bytes: spareBuffer(options.spare, capacity), firstPgno: pgno, lastPgno: pgno, pages: 0 };
    q.takeInto(run.bytes, filled, 10 + size);
    filled += 10 + size;
    run.lastPgno = pgno;
    run.pages++;
    pages.page(pgno, undefined);
    index.frame(pgno, at, 10 + size);
    if (filled >= options.runBytes || run.pages >= options.runPages) yield { kind: "run", run: cut() };
  }
  if (run !== undefined) yield { kind: "run", run: cut() };
  return count;
}

/** A run buffer of `capacity` bytes: a spare one when there is one large enough. */
function spareBuffer(spare: Uint8Array[] | undefined, capacity: number): Uint8Array {
  for (let b = spare?.pop(); b !== undefined; b = spare?.pop()) if (b.length >= capacity) return b;
  return new Uint8Array(capacity);
}
