/**
 * Decoding one v3-block file on several threads. `LtxRunReader` reads the file in order
 * on one thread and checks everything that needs no decompression (header, page numbers,
 * sizes, the strict rules, the page index, the trailer), cutting the page frames into
 * runs; `decodeFrameRun` decompresses a run anywhere (a worker) and returns its share of
 * the file checksum and its page checksums; the reader folds the shares back in file
 * order (`crc64Combine`) and verifies the file checksum and, for a snapshot, its
 * post-apply checksum exactly as the streaming decoder does.
 */
import { viewOf } from "./binary.js";
import { CHECKSUM_FLAG, DatabaseChecksum, formatChecksum } from "./checksum.js";
import { crc64Combine, crcPageRegisters, crcRegisterJs, ZeroBytesShift } from "./crc64.js";
import { ParserDriver, type LtxSource } from "./decoder.js";
import { LtxError } from "./errors.js";
import { PAGE_FLAG_SIZE, type LtxFormat } from "./format.js";
import { isSnapshot, tracksChecksums, type LtxHeader } from "./header.js";
import { decodeBlockBatch } from "./lz4/addon.js";
import { decodeBlock } from "./lz4/block.js";
import { nativeDecodeBlockInPlace } from "./lz4/native.js";
import { maxBlockSize, placeLz4Error } from "./page-codec.js";
import type { DecodeOptions, LtxDecodeSummary, LtxFrameRun } from "./parse-context.js";
import { parseLtxRuns, type RunParseSummary } from "./parse-runs.js";
import { checkFileChecksum } from "./parser.js";

export type { LtxFrameRun } from "./parse-context.js";

/** Options of `decodeFrameRun`. */
export interface FrameRunOptions {
  pageSize: number;
  /** Named in errors. */
  file?: string | undefined;
  /** Where the pages go: page i of the run at `out[i × pageSize]`. Must have room for every page of the run. */
  out: Uint8Array;
}

/** What `decodeFrameRun` found in a run. */
export interface FrameRunResult {
  pages: number;
  /** Page numbers, in file order. */
  pgnos: Uint32Array;
  /** Each page's checksum (`pageChecksum`), in file order. */
  checksums: BigUint64Array;
  /** CRC-64 of the run's part of the file checksum stream: page headers, size fields, decompressed pages. */
  crc: bigint;
  /** Length of that part in bytes. */
  length: number;
}

/** A run's share of the checks `LtxRunReader.finish` makes. */
export interface FrameRunShare {
  crc: bigint;
  length: number;
  /** XOR of the run's page checksums. */
  pageSum: bigint;
}

const FRAME_HEAD = 10;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** CHECKSUM_FLAG's bit in the high half of a checksum. */
const FLAG_HIGH = Number(CHECKSUM_FLAG >> 32n);
/** Spare run buffers kept at most (runs in flight come back as fast as new ones are cut). */
const MAX_SPARE = 8;
const reg = new Int32Array(2);
/** Each frame's block as [start, end) in the run, reused from run to run. */
let frames = new Int32Array(2 * 1024);
/** Each page's CRC register from zero (low, high), reused from run to run. */
let pageRegs = new Int32Array(2 * 1024);
const shifts = new Map<number, ZeroBytesShift>();

/**
 * Decompresses a run of v3-block page frames (cut by `LtxRunReader`) into `out`, page
 * after page, and computes each page's checksum and the run's share of the file
 * checksum — hashing every page's bytes once for both (CRC-64 is linear). Checks that
 * the frames fill the run exactly and that every block decompresses to exactly one page;
 * faults are `LtxError`s placed at their absolute offset. Allocates nothing per page of
 * its own. The run's bytes are briefly written to during the call (each frame's size field
 * carries lz4-napi's size prefix, then is put back): do not share them with another
 * thread meanwhile.
 */
export function decodeFrameRun(run: Pick<LtxFrameRun, "bytes" | "offset">, options: FrameRunOptions): FrameRunResult {
  const { bytes, offset } = run;
  const { pageSize, out, file } = options;
  let shift = shifts.get(pageSize);
  if (shift === undefined) shifts.set(pageSize, (shift = new ZeroBytesShift(pageSize)));
  const view = viewOf(bytes);
  const blockLimit = maxBlockSize(pageSize);
  const capacity = Math.floor(out.length / pageSize);
  const pgnos = new Uint32Array(Math.min(capacity, Math.floor(bytes.length / (FRAME_HEAD + 1))));
  const checksums = new BigUint64Array(pgnos.length);
  // The checksums written as 32-bit halves where the host is little-endian: a BigInt per page was most of this function's garbage.
  const halves = LITTLE_ENDIAN ? new Uint32Array(checksums.buffer) : undefined;
  // The run's file-checksum stream, as a CRC register (low, high halves), from the initial value.
  let sl = -1;
  let sh = -1;
  let n = 0;
  let at = 0;
  const fail = (code: "truncated" | "invalid-page" | "lz4", message: string, where: number): never => {
    throw new LtxError(code, message, { file, offset: offset + where });
  };
  // First every frame's header is checked and its block located, then the blocks are
  // decoded and the pages hashed (each in one native call when the addon loaded).
  if (frames.length < 2 * pgnos.length) frames = new Int32Array(2 * pgnos.length);
  if (pageRegs.length < 2 * pgnos.length) pageRegs = new Int32Array(2 * pgnos.length);
  while (at < bytes.length) {
    if (bytes.length - at < FRAME_HEAD) fail("truncated", "a run ends inside a page header", at);
    const pgno = view.getUint32(at);
    const flags = view.getUint16(at + 4);
    const size = view.getUint32(at + 6);
    if (pgno === 0 || flags !== PAGE_FLAG_SIZE) fail("invalid-page", `not a v3-block page frame (page ${pgno}, flags 0x${flags.toString(16).padStart(4, "0")})`, at);
    if (size === 0 || size > blockLimit) fail("invalid-page", `compressed size ${size} of page ${pgno} is outside 1…${blockLimit}`, at + 6);
    if (bytes.length - at - FRAME_HEAD < size) fail("truncated", `a run ends inside the LZ4 block of page ${pgno}`, at + FRAME_HEAD);
    if (n === capacity) fail("invalid-page", `a run holds more than the ${capacity} pages its output has room for`, at);
    frames[2 * n] = at + FRAME_HEAD;
    frames[2 * n + 1] = at + FRAME_HEAD + size;
    pgnos[n] = pgno;
    n++;
    at += FRAME_HEAD + size;
  }
  for (let i = 0; i < n; ) {
    const next = decodeBlockBatch(bytes, frames, i, n, out, pageSize);
    if (next === n) break;
    if (next >= 0) i = next;
    // Without the addon, or for a block it refused: one block the other ways, which place a fault exactly.
    const blockAt = frames[2 * i]!;
    const blockEnd = frames[2 * i + 1]!;
    const dp = i * pageSize;
    let end: number;
    try {
      // The frame's size field (already read) lends its 4 bytes to lz4-napi's size prefix.
      end = nativeDecodeBlockInPlace(bytes, blockAt, blockEnd, out, dp, dp + pageSize);
      if (end < 0) end = decodeBlock(bytes, blockAt, blockEnd, out, dp, dp + pageSize, dp, 0, undefined);
    } catch (err) {
      placeLz4Error(err, { file, offset });
    }
    if (end !== dp + pageSize) fail("lz4", `LZ4 block decompressed to ${end - dp} bytes, expected a ${pageSize}-byte page`, blockAt);
    i++;
  }
  // g: each page's bytes hashed from a zero register. Fed after any register r, they
  // leave shift(r) ^ g: so g serves both streams below.
  crcPageRegisters(out, n, pageSize, pageRegs);
  for (let i = 0; i < n; i++) {
    const frameAt = frames[2 * i]! - FRAME_HEAD;
    const gl = pageRegs[2 * i]!;
    const gh = pageRegs[2 * i + 1]!;
    crcRegisterJs(sl, sh, bytes, reg, frameAt, frameAt + FRAME_HEAD);
    shift.apply(reg[0]!, reg[1]!, reg);
    sl = reg[0]! ^ gl;
    sh = reg[1]! ^ gh;
    // The page checksum hashes u32be(pgno) ‖ page: the frame starts with exactly those 4 bytes.
    crcRegisterJs(-1, -1, bytes, reg, frameAt, frameAt + 4);
    shift.apply(reg[0]!, reg[1]!, reg);
    const cl = ~(reg[0]! ^ gl) >>> 0;
    const ch = ~(reg[1]! ^ gh) >>> 0;
    if (halves !== undefined) {
      halves[2 * i] = cl;
      halves[2 * i + 1] = (ch | FLAG_HIGH) >>> 0;
    } else checksums[i] = CHECKSUM_FLAG | (BigInt(ch) << 32n) | BigInt(cl);
  }
  const crc = (BigInt(~sh >>> 0) << 32n) | BigInt(~sl >>> 0);
  return { pages: n, pgnos: pgnos.subarray(0, n), checksums: checksums.subarray(0, n), crc, length: n * (FRAME_HEAD + pageSize) };
}

/** Options of `LtxRunReader`. */
export interface LtxRunReaderOptions extends DecodeOptions {
  /** Bytes of frames per run, at most (plus the frame that reaches it); default 4 MiB. */
  runBytes?: number | undefined;
  /** Pages per run, at most; default 1024. */
  runPages?: number | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * The ordered half of a parallel decode of one v3-block file (see the module comment):
 * `header()`, then `nextRun()` until it returns undefined — hand each run to
 * `decodeFrameRun` anywhere and give its share back with `accept` (in any order) —
 * then `finish()` once every run is accepted: it resolves when everything the streaming
 * decoder verifies is verified. Memory: the runs not yet taken, and shares accepted out
 * of order. A file of another layout, or one mixing in a page stored as an LZ4 frame, is
 * `unsupported` (decode it with `LtxReader`).
 */
export class LtxRunReader {
  private readonly driver: ParserDriver<RunParseSummary>;
  readonly file: string | undefined;
  private headerValue: LtxHeader | undefined;
  private formatValue: LtxFormat | undefined;
  private summary: RunParseSummary | undefined;
  private pendingRun: LtxFrameRun | undefined;
  /** The CRC and length of the runs folded so far, in order (the header is put in front at the end). */
  private crc = 0n;
  private length = 0;
  private folded = 0;
  private readonly early = new Map<number, FrameRunShare>();
  private pageSum = 0n;
  /** Run buffers given back (`recycle`), cut into again before new ones are allocated. */
  private readonly spare: Uint8Array[] = [];

  constructor(source: LtxSource, options: LtxRunReaderOptions = {}) {
    this.file = options.file;
    const runBytes = options.runBytes ?? 4 * 1024 * 1024;
    const runPages = options.runPages ?? 1024;
    for (const [name, v] of [
      ["runBytes", runBytes],
      ["runPages", runPages],
    ] as const) {
      if (!Number.isSafeInteger(v) || v < 1) throw new LtxError("invalid-argument", `${name} must be a positive integer, got ${v}`);
    }
    this.driver = new ParserDriver(source, (q) => parseLtxRuns(q, { ...options, runBytes, runPages, spare: this.spare }), options.signal, options.file);
  }

  async header(): Promise<LtxHeader> {
    while (this.headerValue === undefined) await this.step();
    return this.headerValue;
  }

  async format(): Promise<LtxFormat> {
    await this.header();
    return this.formatValue!;
  }

  /** The next run, or undefined once the frames are all cut (the index and trailer are then verified too). */
  async nextRun(): Promise<LtxFrameRun | undefined> {
    while (this.pendingRun === undefined && this.summary === undefined) await this.step();
    const run = this.pendingRun;
    this.pendingRun = undefined;
    return run;
  }

  /**
   * Gives a run's buffer back once nothing reads it any more (after `decodeFrameRun`, or
   * when a worker sent it back): later runs are cut into it instead of a new allocation,
   * so a restore does not leave a run's worth of garbage behind per run.
   */
  recycle(bytes: Uint8Array): void {
    if (this.spare.length < MAX_SPARE) this.spare.push(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.buffer.byteLength - bytes.byteOffset));
  }

  /** A run's share (from `decodeFrameRun` of that run), in any order. */
  accept(run: number, share: FrameRunShare): void {
    if (run < this.folded || this.early.has(run)) throw new LtxError("invalid-argument", `run ${run} was already accepted`, { file: this.file });
    this.early.set(run, share);
    this.pageSum ^= share.pageSum;
    for (let next = this.early.get(this.folded); next !== undefined; next = this.early.get(this.folded)) {
      this.early.delete(this.folded++);
      this.crc = crc64Combine(this.crc, next.crc, next.length);
      this.length += next.length;
    }
  }

  /**
   * After the last run and every share: the file checksum over header, runs and tail, and
   * a snapshot's post-apply checksum against its pages' checksums.
   */
  async finish(): Promise<LtxDecodeSummary> {
    while (this.summary === undefined) {
      this.pendingRun = undefined;
      await this.step();
    }
    const s = this.summary;
    if (this.folded !== s.runs) throw new LtxError("invalid-argument", `finish() with ${s.runs - this.folded} of ${s.runs} runs not accepted`, { file: this.file });
    const crc = crc64Combine(crc64Combine(s.headCrc, this.crc, this.length), s.tailCrc, s.tailLength);
    checkFileChecksum(s.trailer.fileChecksum, CHECKSUM_FLAG | crc, { file: this.file, offset: s.fileChecksumOffset });
    if (isSnapshot(s.header) && tracksChecksums(s.header)) {
      const sum = new DatabaseChecksum().add(this.pageSum).value;
      if (s.trailer.postApplyChecksum !== sum) {
        throw new LtxError(
          "post-apply-checksum-mismatch",
          `post-apply checksum in trailer (${formatChecksum(s.trailer.postApplyChecksum)}) does not match calculated checksum (${formatChecksum(sum)})`,
          { file: this.file, offset: s.fileChecksumOffset - 8 },
        );
      }
    }
    const { format, header, trailer, pageCount, size, pageIndexSize } = s;
    return { format, header, trailer, pageCount, size, pageIndexSize };
  }

  /** Stops reading and releases the source. */
  cancel(): Promise<void> {
    return this.driver.cancel();
  }

  private async step(): Promise<void> {
    const next = await this.driver.next();
    if (next.done) {
      this.summary = next.value;
      return;
    }
    const event = next.value;
    if (event.kind === "header") {
      this.headerValue = event.header;
      this.formatValue = event.format;
    } else if (event.kind === "run") {
      this.pendingRun = event.run;
    }
  }
}
