/** The LZ4 frame decoders: lz4DecodeFrame for a frame in memory, Lz4FrameDecoder for one pushed in chunks; both check every checksum the frame carries. */
import { concatBytes } from "../binary.js";
import {
  checkContentChecksum,
  checkContentSize,
  checkLimit,
  checkTotal,
  decodeFrameBlock,
  grow,
  invalidArgument,
  MIN_HEADER,
  parseHeader,
  readBlockWord,
  STORED,
  truncated,
  verifyBlockChecksum,
  WINDOW,
  type FrameHeader,
  type Growable,
  type Place,
} from "./frame-format.js";
import { XxHash32, xxhash32 } from "./xxhash32.js";

/** Options of {@link lz4DecodeFrame}. */
export interface Lz4DecodeFrameOptions {
  /** Refuse (LtxError "lz4") a frame whose content would exceed this many bytes. */
  maxContentSize?: number;
  /** File name for error messages. */
  file?: string;
}

/** Options of {@link Lz4FrameDecoder}. */
export interface Lz4FrameDecoderOptions extends Lz4DecodeFrameOptions {
  /** Absolute offset of the first pushed byte, so errors name positions in the file. */
  baseOffset?: number;
}

/**
 * Calls `visit(at, size, stored)` for every block of the frame whose blocks start at
 * `pos`, after checking its block checksum, and returns the offset just past the
 * EndMark. Everything is bounds-checked against `src`.
 */
function walkBlocks(src: Uint8Array, pos: number, h: FrameHeader, place: Place, visit: (at: number, size: number, stored: boolean) => void): number {
  const tail = h.blockChecksum ? 4 : 0;
  for (;;) {
    if (src.length - pos < 4) throw truncated("LZ4 frame ends before its EndMark", src.length, place);
    const word = readBlockWord(src, pos, h, place);
    const size = word & ~STORED;
    pos += 4;
    if (size === 0) return pos;
    if (src.length - pos < size + tail) throw truncated(`LZ4 block of ${size} bytes is cut off`, src.length, place);
    if (h.blockChecksum) verifyBlockChecksum(src, pos, size, place);
    visit(pos, size, word >= STORED);
    pos += size + tail;
  }
}

/** Decode buffer reused by lz4DecodeFrame while it stays small enough to keep. */
const frameScratch: Growable = { buf: new Uint8Array(0) };
const KEEP_SCRATCH = 4194304 + WINDOW;

/**
 * Decodes exactly one frame starting at `offset`; returns its content and the offset
 * just past the frame (after the content checksum, if any). Blocks are decoded in one
 * pass into a reused buffer that grows only with what the input can produce, then the
 * content is copied out at its exact size.
 */
export function lz4DecodeFrame(src: Uint8Array, offset = 0, options: Lz4DecodeFrameOptions = {}): { data: Uint8Array; end: number } {
  const place: Place = { bias: 0, file: options.file };
  const max = checkLimit(options.maxContentSize, "maxContentSize");
  if (!Number.isInteger(offset) || offset < 0 || offset > src.length) {
    throw invalidArgument(`LZ4 frame offset ${offset} outside the ${src.length}-byte input`);
  }
  const h = parseHeader(src, offset, src.length - offset, max, place);
  if (typeof h === "number") throw truncated("LZ4 frame header is cut off", src.length, place);

  const into: Growable = { buf: frameScratch.buf };
  let total = 0;
  let end = walkBlocks(src, offset + h.length, h, place, (at, size, stored) => {
    total = decodeFrameBlock(src, at, size, stored, h, into, total, h.independent ? total : 0, place);
    checkTotal(total, h, max, at, place);
  });
  if (into.buf.length <= KEEP_SCRATCH) frameScratch.buf = into.buf;
  checkContentSize(total, h, end, place);
  const data = into.buf.slice(0, total);
  if (h.contentChecksum) {
    if (src.length - end < 4) throw truncated("LZ4 frame ends before its content checksum", src.length, place);
    checkContentChecksum(xxhash32(data), src, end, place);
    end += 4;
  }
  return { data, end };
}

const HEADER = 0;
const BLOCK_SIZE = 1;
const BLOCK = 2;
const CONTENT_CHECKSUM = 3;
const DONE = 4;

/**
 * Streaming decoder for one frame: push compressed chunks, get decompressed chunks as
 * blocks complete (one array per block). Memory is bounded by one block (≤ 4 MiB,
 * plus a 64 KiB window for dependent blocks) and one input chunk.
 */
export class Lz4FrameDecoder {
  private readonly baseOffset: number;
  private readonly file: string | undefined;
  private readonly maxContentSize: number;
  private state = HEADER;
  /** Bytes the current item (header, size word, block, checksum) needs. */
  private need = MIN_HEADER;
  /** The current item when it spans chunks. */
  private pend: Uint8Array = new Uint8Array(32);
  private pendLen = 0;
  /** Frame bytes of the items already handled. */
  private consumed = 0;
  private header: FrameHeader | undefined;
  private blockWord = 0;
  private total = 0;
  private checksum: XxHash32 | undefined;
  /** Where blocks are decoded: after the last 64 KiB of output for dependent blocks. */
  private readonly window: Growable = { buf: new Uint8Array(0) };
  private windowLen = 0;
  private rest: Uint8Array[] = [];
  private failure: unknown;

  constructor(options: Lz4FrameDecoderOptions = {}) {
    this.baseOffset = options.baseOffset ?? 0;
    this.file = options.file;
    this.maxContentSize = checkLimit(options.maxContentSize, "maxContentSize");
  }

  /** True once the frame (EndMark and content checksum, if any) has ended. */
  get done(): boolean {
    return this.state === DONE;
  }

  /** Feeds frame bytes; returns the content of the blocks they complete. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.failure !== undefined) throw this.failure;
    const out: Uint8Array[] = [];
    let pos = 0;
    try {
      while (pos < chunk.length && this.state !== DONE) {
        let buf: Uint8Array;
        let at: number;
        const size = this.need;
        if (this.pendLen === 0 && chunk.length - pos >= size) {
          buf = chunk;
          at = pos;
          pos += size;
        } else {
          const take = Math.min(size - this.pendLen, chunk.length - pos);
          this.stash(chunk, pos, take);
          pos += take;
          if (this.pendLen < size) break;
          buf = this.pend;
          at = 0;
        }
        if (this.handle(buf, at, out)) {
          this.consumed += size;
          this.pendLen = 0;
        } else if (buf === chunk) {
          this.stash(chunk, at, size); // a longer header: keep what we have
        }
      }
    } catch (err) {
      this.failure = err;
      throw err;
    }
    if (pos < chunk.length) this.rest.push(chunk.slice(pos));
    return out;
  }

  /** Returns (and forgets) the bytes pushed after the end of the frame. */
  takeRemainder(): Uint8Array {
    const rest = this.rest.length === 1 ? this.rest[0]! : concatBytes(this.rest);
    this.rest = [];
    return rest;
  }

  /** Throws LtxError "truncated" if the frame has not ended (or the error that stopped it). */
  finish(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.state === DONE) return;
    const place = { bias: this.baseOffset + this.consumed, file: this.file };
    if (this.state === HEADER) parseHeader(this.pend, 0, this.pendLen, this.maxContentSize, place);
    throw truncated("LZ4 frame ends early", this.pendLen, place);
  }

  private stash(chunk: Uint8Array, pos: number, n: number): void {
    this.pend = grow(this.pend, this.pendLen, this.pendLen + n, this.need);
    this.pend.set(chunk.subarray(pos, pos + n), this.pendLen);
    this.pendLen += n;
  }

  /** Handles the complete current item at `buf[at]`; false when the header turned out longer. */
  private handle(buf: Uint8Array, at: number, out: Uint8Array[]): boolean {
    const place: Place = { bias: this.baseOffset + this.consumed - at, file: this.file };
    if (this.state === HEADER) {
      const h = parseHeader(buf, at, this.need, this.maxContentSize, place);
      if (typeof h === "number") {
        this.need = h;
        return false;
      }
      this.header = h;
      this.checksum = h.contentChecksum ? new XxHash32() : undefined;
      this.expect(BLOCK_SIZE, 4);
      return true;
    }
    const h = this.header!;
    if (this.state === BLOCK_SIZE) {
      this.blockWord = readBlockWord(buf, at, h, place);
      const size = this.blockWord & ~STORED;
      if (size > 0) {
        this.expect(BLOCK, size + (h.blockChecksum ? 4 : 0));
      } else {
        checkContentSize(this.total, h, at, place);
        if (this.checksum) this.expect(CONTENT_CHECKSUM, 4);
        else this.state = DONE;
      }
    } else if (this.state === BLOCK) {
      out.push(this.block(buf, at, h, place));
      this.expect(BLOCK_SIZE, 4);
    } else {
      checkContentChecksum(this.checksum!.digest(), buf, at, place);
      this.state = DONE;
    }
    return true;
  }

  private expect(state: number, need: number): void {
    this.state = state;
    this.need = need;
  }

  private block(buf: Uint8Array, at: number, h: FrameHeader, place: Place): Uint8Array {
    const size = this.blockWord & ~STORED;
    if (h.blockChecksum) verifyBlockChecksum(buf, at, size, place);
    // Dependent blocks decode after the last 64 KiB of output, independent ones at 0.
    const start = h.independent ? 0 : this.windowLen;
    const end = decodeFrameBlock(buf, at, size, this.blockWord >= STORED, h, this.window, start, 0, place);
    this.total += end - start;
    checkTotal(this.total, h, this.maxContentSize, at, place);
    const data = this.window.buf.slice(start, end);
    if (!h.independent) {
      if (end > WINDOW) this.window.buf.copyWithin(0, end - WINDOW, end);
      this.windowLen = Math.min(end, WINDOW);
    }
    this.checksum?.update(data);
    return data;
  }
}
