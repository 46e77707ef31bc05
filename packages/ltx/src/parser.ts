/**
 * The LTX decoder core, written once as a generator over a `ByteQueue`: it yields
 * `NEED` when the queue runs dry (the streaming driver then pushes the next chunk;
 * the whole-buffer driver never sees it) and yields the header and each page as
 * they are decoded. Both drivers therefore run exactly the same checks.
 */
import { viewOf } from "./binary.js";
import { ByteQueue } from "./byte-queue.js";
import { CHECKSUM_FLAG, DatabaseChecksum, formatChecksum, lockPgno, pageChecksum } from "./checksum.js";
import { Crc64 } from "./crc64.js";
import { LtxError, type LtxErrorCode } from "./errors.js";
import {
  DETECT_SIZE,
  detectFormat,
  HEADER_SIZE,
  PAGE_FLAG_SIZE,
  type LtxFormat,
} from "./format.js";
import { decodeHeader, isSnapshot, tracksChecksums, validateHeader, type LtxHeader } from "./header.js";
import { Lz4FrameDecoder } from "./lz4/frame.js";
import { decompressPageBlock, maxBlockSize, placeLz4Error } from "./page-codec.js";
import { ByteBuilder, checkEntry, type PageIndexEntry } from "./page-index.js";
import { validateTrailer, type LtxTrailer } from "./trailer.js";

/** Options shared by every decoder entry point. */
export interface DecodeOptions {
  /** The layout; detected from the first bytes when absent (spec §3.8). */
  format?: LtxFormat | undefined;
  /**
   * Enforce the structural rules the reference only enforces when writing (spec §6.3):
   * ascending pgnos, pgno ≤ commit, no lock page, complete snapshots, an exact page
   * index, trailer values, zero reserved bytes, nothing after the trailer. Default true.
   * Checksums are verified either way.
   */
  strict?: boolean | undefined;
  /** Named in errors. */
  file?: string | undefined;
}

/** A decoded page: its number and its uncompressed bytes (`pageSize` long). */
export interface LtxPage {
  pgno: number;
  data: Uint8Array;
}

/** What the decoder learnt once it reached the end of the file. */
export interface LtxDecodeSummary {
  format: LtxFormat;
  header: LtxHeader;
  trailer: LtxTrailer;
  pageCount: number;
  /** Bytes read, trailer included. */
  size: number;
  /** IndexSize of a v2/v3 file; undefined for v1. */
  pageIndexSize: number | undefined;
}

/** The queue ran dry: push a chunk (or end the queue) and resume. */
export const NEED = { kind: "need" } as const;

export type ParseEvent =
  | typeof NEED
  | { kind: "header"; header: LtxHeader; format: LtxFormat }
  | { kind: "page"; page: LtxPage; offset: number; size: number }
  | { kind: "index-entry"; entry: PageIndexEntry }
  | { kind: "run"; run: LtxFrameRun };

export interface ParserOptions extends DecodeOptions {
  /** Copy page bytes out of the input chunks (streaming: chunks may be reused or large). */
  copyPages: boolean;
  /** Yield an `index-entry` event per page index entry. */
  emitIndex: boolean;
}

type Parse<T> = Generator<ParseEvent, T, void>;

/** How much compressed input is handed to an LZ4 frame decoder at a time (bounds its output burst). */
const LZ4_FEED = 16 * 1024;

/** Context of one parse: the input, the running checksums, the location for errors. */
class Ctx {
  /** The file checksum's CRC (in run mode, of the part this thread hashes). */
  crc = new Crc64();
  readonly strict: boolean;
  readonly file: string | undefined;

  constructor(
    readonly q: ByteQueue,
    readonly options: ParserOptions,
  ) {
    this.strict = options.strict ?? true;
    this.file = options.file;
  }

  error(code: LtxErrorCode, message: string, offset: number | undefined): LtxError {
    return new LtxError(code, message, { file: this.file, offset });
  }

  /** Waits until `n` bytes are buffered; the input ending first is `truncated`. */
  *fill(n: number, what: string): Parse<void> {
    while (this.q.available < n) {
      if (this.q.ended) {
        throw this.error("truncated", `unexpected end of file reading ${what}`, this.q.position + this.q.available);
      }
      yield NEED;
    }
  }

  /** Takes `n` bytes, waiting for them, and feeds them to the file checksum. */
  *read(n: number, what: string): Parse<Uint8Array> {
    if (this.q.available < n) yield* this.fill(n, what);
    const b = this.q.take(n);
    this.crc.update(b);
    return b;
  }
}

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

/**
 * A run of whole v3-block page frames, cut from a file for `decodeFrameRun` to decode
 * elsewhere (another thread): its bytes exactly as stored, where they sit, what they hold.
 */
export interface LtxFrameRun {
  /** 0, 1, 2… in file order. */
  index: number;
  /** Absolute offset of the first frame. */
  offset: number;
  /** The frames (an array of its own, so its buffer can be transferred). */
  bytes: Uint8Array;
  firstPgno: number;
  lastPgno: number;
  pages: number;
}

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
    const head = viewOf(q.peek(6));
    const pgno = head.getUint32(0);
    const flags = head.getUint16(4);
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
    const size = viewOf(q.peek(10)).getUint32(6);
    if (size === 0 || size > blockLimit) {
      throw ctx.error("invalid-page", `compressed size ${size} of page ${pgno} is outside 1…${blockLimit}`, at + 6);
    }
    if (q.available < 10 + size) yield* ctx.fill(10 + size, `LZ4 block of page ${pgno}`);
    run ??= { index: count, offset: at, bytes: spareBuffer(options.spare, capacity), firstPgno: pgno, lastPgno: pgno, pages: 0 };
    run.bytes.set(q.take(10 + size), filled);
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

function* parseHeader(ctx: Ctx): Parse<{ header: LtxHeader; format: LtxFormat }> {
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
 * The per-page rules: structure (strict), the snapshot's running database checksum
 * (always, when the file tracks checksums), and the page count.
 */
class PageChecks {
  count = 0;
  private prev = 0;
  private readonly lock: number;
  private readonly snapshot: boolean;
  readonly sum: DatabaseChecksum | undefined;

  /** `sums`: keep the snapshot's database checksum (false when the pages are decoded elsewhere). */
  constructor(
    private readonly ctx: Ctx,
    private readonly header: LtxHeader,
    sums = true,
  ) {
    this.lock = lockPgno(header.pageSize);
    this.snapshot = isSnapshot(header);
    this.sum = sums && this.snapshot && tracksChecksums(header) ? new DatabaseChecksum() : undefined;
  }

  /** Checks a page number as soon as it is read (before its payload is). */
  pgno(pgno: number, offset: number, context = ""): void {
    if (!this.ctx.strict) return;
    const { commit } = this.header;
    const fail = (code: LtxErrorCode, message: string): never => {
      throw this.ctx.error(code, message + context, offset);
    };
    if (pgno > commit) fail("invalid-page", `page number ${pgno} out-of-bounds for commit size ${commit}`);
    if (pgno === this.lock) fail("invalid-page", `lock page ${pgno} must not be in an LTX file`);
    if (pgno <= this.prev) fail("invalid-page", `out-of-order page numbers: ${this.prev},${pgno}`);
    if (this.snapshot && pgno !== this.nextExpected()) {
      fail("incomplete-snapshot", `snapshot misses page ${this.nextExpected()} (next page is ${pgno})`);
    }
  }

  /** Accounts for a page (its bytes when decoded here, for the snapshot's checksum). */
  page(pgno: number, data: Uint8Array | undefined): void {
    this.count++;
    this.prev = pgno;
    if (this.sum !== undefined && data !== undefined && pgno !== this.lock) this.sum.add(pageChecksum(pgno, data));
  }

  /** After the end-of-pages marker: a snapshot must have reached its commit. */
  finish(): void {
    if (!this.ctx.strict || !this.snapshot) return;
    const next = this.nextExpected();
    if (next <= this.header.commit) {
      throw this.ctx.error("incomplete-snapshot", `snapshot ends before page ${next} of ${this.header.commit}`, this.ctx.q.position);
    }
  }

  private nextExpected(): number {
    const next = this.prev + 1;
    return next === this.lock ? next + 1 : next;
  }
}

/** v1: `pgno | page` frames, raw or inside one LZ4 frame, then a zero pgno. */
function* parseV1Body(ctx: Ctx, header: LtxHeader, format: "v1" | "v1-lz4", pages: PageChecks): Parse<void> {
  const { pageSize } = header;
  const body = format === "v1" ? new RawBody(ctx) : new Lz4Body(ctx);
  for (;;) {
    const at = body.q.position;
    if (body.q.available < 4) yield* body.fill(4, "page number");
    const head = body.q.take(4);
    ctx.crc.update(head);
    const pgno = viewOf(head).getUint32(0);
    if (pgno === 0) break;
    pages.pgno(pgno, body.offset(at), body.context(at));
    if (body.q.available < pageSize) yield* body.fill(pageSize, `page ${pgno}`);
    let data = body.q.take(pageSize);
    // Copies so a page the caller keeps pins neither a whole LZ4 block nor a source chunk.
    if (format === "v1-lz4" || ctx.options.copyPages) data = data.slice();
    ctx.crc.update(data);
    pages.page(pgno, data);
    // In v1-lz4 a frame has no file offset: report where it sits in the uncompressed layout.
    yield { kind: "page", page: { pgno, data }, offset: format === "v1" ? at : HEADER_SIZE + at, size: 4 + pageSize };
  }
  yield* body.end();
}

/** The logical byte stream of a v1 body, positions included. */
interface Body {
  readonly q: ByteQueue;
  fill(n: number, what: string): Parse<void>;
  /** The absolute file offset to report for a body position. */
  offset(bodyPosition: number): number;
  /** Appended to messages about the body (where in it, when that is not a file offset). */
  context(bodyPosition: number): string;
  /** After the end-of-pages marker. */
  end(): Parse<void>;
}

class RawBody implements Body {
  constructor(private readonly ctx: Ctx) {}
  get q(): ByteQueue {
    return this.ctx.q;
  }
  fill(n: number, what: string): Parse<void> {
    return this.ctx.fill(n, what);
  }
  offset(bodyPosition: number): number {
    return bodyPosition;
  }
  context(): string {
    return "";
  }
  *end(): Parse<void> {}
}

/**
 * A v1-lz4 body: decompressed on the fly from the raw input, one bounded slice at
 * a time. Errors inside it name the compressed offset reached and the position in
 * the decompressed body.
 */
class Lz4Body implements Body {
  readonly q = new ByteQueue(0);
  private readonly decoder: Lz4FrameDecoder;

  constructor(private readonly ctx: Ctx) {
    // No content limit: memory is bounded per block, and the page checks say more than "too big".
    this.decoder = new Lz4FrameDecoder({ baseOffset: ctx.q.position, file: ctx.file });
  }

  *fill(n: number, what: string): Parse<void> {
    while (this.q.available < n) {
      if (this.decoder.done) {
        throw this.ctx.error("truncated", `LZ4 body ends before ${what} (decompressed offset ${this.q.position + this.q.available})`, this.ctx.q.position);
      }
      yield* this.feed();
    }
  }

  offset(): number {
    return this.ctx.q.position;
  }

  context(bodyPosition: number): string {
    return ` (LZ4 body, decompressed offset ${bodyPosition})`;
  }

  *end(): Parse<void> {
    while (!this.decoder.done) {
      if (this.q.available > 0) break;
      yield* this.feed();
    }
    if (this.q.available > 0) {
      throw this.ctx.error("trailing-data", "expected lz4 end frame: data follows the end-of-pages marker in the LZ4 body", this.ctx.q.position);
    }
  }

  /** Hands the frame decoder one slice of raw input and queues what it produces. */
  private *feed(): Parse<void> {
    const raw = this.ctx.q;
    if (raw.available === 0) {
      if (raw.ended) {
        try {
          this.decoder.finish();
        } catch (err) {
          placeOrRethrow(err, this.ctx);
        }
        throw this.ctx.error("truncated", "unexpected end of file inside the LZ4 body", raw.position);
      }
      yield NEED;
      return;
    }
    let out: Uint8Array[];
    try {
      out = this.decoder.push(raw.takeSome(LZ4_FEED));
    } catch (err) {
      placeOrRethrow(err, this.ctx);
    }
    for (const chunk of out) this.q.push(chunk);
    if (this.decoder.done) raw.unshift(this.decoder.takeRemainder());
  }
}

/** Errors from a frame decoder constructed with `baseOffset` and `file` are already placed. */
function placeOrRethrow(err: unknown, ctx: Ctx): never {
  if (err instanceof LtxError && err.file === ctx.file) throw err;
  placeLz4Error(err, { file: ctx.file, offset: 0 });
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

/**
 * The page index a file must carry, accumulated from the frames actually read: the
 * CRC and length of its encoding. Comparing those with the stored index proves
 * every entry right without keeping one entry per page in memory.
 */
class IndexExpectation {
  private readonly crc = new Crc64();
  private readonly scratch = new ByteBuilder();
  length = 0;

  frame(pgno: number, offset: number, size: number): void {
    const b = this.scratch;
    b.length = 0;
    b.uvarint(pgno);
    b.uvarint(offset);
    b.uvarint(size);
    this.crc.update(b.bytes());
    this.length += b.length;
  }

  /** The digest once the terminator is added. */
  digest(): bigint {
    return this.crc.update(new Uint8Array(1)).digest();
  }
}

/** v2 and v3 page frames up to the end-of-pages marker. */
function* parseIndexedPages(
  ctx: Ctx,
  header: LtxHeader,
  format: "v2" | "v3-frame" | "v3-block",
  pages: PageChecks,
  index: IndexExpectation,
): Parse<void> {
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

/** The page index after the end marker: read entry by entry, checked against the frames. */
function* parseIndex(ctx: Ctx, expected: IndexExpectation): Parse<number> {
  const { q } = ctx;
  const start = q.position;
  const actual = new Crc64();
  const entryBytes = new ByteBuilder();
  let prev: PageIndexEntry | undefined;
  for (;;) {
    const entryAt = q.position;
    entryBytes.length = 0;
    const pgno = yield* readVarint(ctx, entryBytes, "pgno");
    if (pgno !== 0) {
      const entry = { pgno, offset: yield* readVarint(ctx, entryBytes, "offset"), size: yield* readVarint(ctx, entryBytes, "size") };
      if (ctx.strict) {
        checkEntry(entry, prev, start, (message) => {
          throw ctx.error("invalid-page-index", message, entryAt);
        });
      }
      prev = entry;
      if (ctx.options.emitIndex) yield { kind: "index-entry", entry };
    }
    const bytes = entryBytes.bytes();
    ctx.crc.update(bytes);
    actual.update(bytes);
    if (pgno === 0) break;
  }
  const length = q.position - start;
  const sizeAt = q.position;
  const sizeField = viewOf(yield* ctx.read(8, "page index size")).getBigUint64(0);
  if (ctx.strict) {
    if (sizeField !== BigInt(length)) {
      throw ctx.error("invalid-page-index", `page index size field says ${sizeField} bytes, the index has ${length}`, sizeAt);
    }
    if (length !== expected.length + 1 || actual.digest() !== expected.digest()) {
      throw ctx.error("invalid-page-index", "page index entries do not match the page frames", start);
    }
  }
  return length;
}

/** One LEB128 varint from the raw input, its bytes appended to `into`. */
function* readVarint(ctx: Ctx, into: ByteBuilder, what: string): Parse<number> {
  const { q } = ctx;
  const at = q.position;
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (q.available < 1) yield* ctx.fill(1, `page index ${what}`);
    const b = q.takeByte();
    into.push(b);
    value += (b & 0x7f) * scale;
    if (value > Number.MAX_SAFE_INTEGER) {
      throw ctx.error("unsupported", `page index ${what} is beyond Number.MAX_SAFE_INTEGER`, at);
    }
    if ((b & 0x80) === 0) return value;
    scale *= 0x80;
  }
  throw ctx.error("invalid-page-index", `page index ${what}: varint longer than 10 bytes`, at);
}

/**
 * The trailer. `deferred`: the CRC does not cover the whole file yet (run mode: the page
 * frames are hashed elsewhere), so the file checksum is compared by the caller.
 */
function* parseTrailer(ctx: Ctx, header: LtxHeader, pages: PageChecks, deferred = false): Parse<LtxTrailer> {
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
    throw new LtxError(
      "file-checksum-mismatch",
      `file checksum mismatch: trailer has ${formatChecksum(stored)}, content gives ${formatChecksum(computed)}`,
      where,
    );
  }
}

/** A queue holding all of `bytes`, ended: what the whole-buffer driver parses. */
export function wholeBuffer(bytes: Uint8Array): ByteQueue {
  const q = new ByteQueue();
  q.push(bytes);
  q.end();
  return q;
}
