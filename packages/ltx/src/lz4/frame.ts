/**
 * LZ4 frames (the lz4 project's frame format). The encoder writes exactly what
 * pierrec/lz4 v4's Writer writes at the fast level (or, with `codec: "native"`, the same
 * frame layout with lz4-napi's blocks); the decoders read any valid frame and check
 * every checksum it carries.
 */
import { concatBytes } from "../binary.js";
import { LtxError } from "../errors.js";
import { compressFrameBlock, decodeBlockFast, maxDecodedSize } from "./block.js";
import { nativeCompressBlock, useNativeCompressor, type Lz4Codec } from "./native.js";
import { XxHash32, xxhash32 } from "./xxhash32.js";

const MAGIC = 0x184d2204;
const SKIPPABLE_FIRST = 0x184d2a50;
const SKIPPABLE_LAST = 0x184d2a5f;
const LEGACY_MAGIC = 0x184c2102;
const FLG_VERSION = 0x40;
const FLG_INDEPENDENT = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_RESERVED = 0x02;
const FLG_DICT_ID = 0x01;
/** Bit 31 of a block size word: the block is stored uncompressed. */
const STORED = 0x80000000;
/** Dependent blocks may reach this far back into earlier blocks' output. */
const WINDOW = 0x10000;
const MIN_HEADER = 7;

const BLOCK_MAX_BY_CODE = [0, 0, 0, 0, 65536, 262144, 1048576, 4194304] as const;

/** The block sizes pierrec/lz4 (and the frame format) offer; 64 KiB for LTX, 4 MiB for Litestream v0.3. */
export type Lz4BlockSize = 65536 | 262144 | 1048576 | 4194304;

/** Options of the frame encoders. */
export interface Lz4FrameOptions {
  /** Maximum block size; the input is cut into pieces of this size (default 4 MiB, pierrec's default). */
  blockSize?: Lz4BlockSize;
  /** Append the XXH32 of the content after the EndMark (default true, as pierrec and Litestream do). */
  contentChecksum?: boolean;
  /**
   * Block compressor: `js` (default), pierrec's own algorithm, so the frame is byte-identical
   * to Go's; `native`, lz4-napi (~2.5× faster, other bytes, the same content).
   */
  codec?: Lz4Codec;
}

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

interface FrameHeader {
  length: number;
  blockMax: number;
  independent: boolean;
  blockChecksum: boolean;
  contentChecksum: boolean;
  contentSize: number | undefined;
}

/** Where errors point: the absolute offset of `buf[i]` is `bias + i`. */
interface Place {
  bias: number;
  file: string | undefined;
}

function lz4Error(message: string, at: number, place: Place): LtxError {
  return new LtxError("lz4", message, { offset: place.bias + at, file: place.file });
}

function truncated(message: string, at: number, place: Place): LtxError {
  return new LtxError("truncated", message, { offset: place.bias + at, file: place.file });
}

function invalidArgument(message: string): LtxError {
  return new LtxError("invalid-argument", message);
}

function readU32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

function writeU32(b: Uint8Array, i: number, v: number): void {
  b[i] = v & 0xff;
  b[i + 1] = (v >>> 8) & 0xff;
  b[i + 2] = (v >>> 16) & 0xff;
  b[i + 3] = v >>> 24;
}

function hex(v: number): string {
  return `0x${v.toString(16).padStart(8, "0")}`;
}

/**
 * Checks the `avail` header bytes at `b[at]` as far as they go. Returns the parsed
 * header, or the number of bytes the header needs when `avail` is too short.
 */
function parseHeader(b: Uint8Array, at: number, avail: number, maxContentSize: number, place: Place): FrameHeader | number {
  if (avail >= 4) {
    const magic = readU32(b, at);
    if (magic !== MAGIC) {
      if (magic >= SKIPPABLE_FIRST && magic <= SKIPPABLE_LAST) {
        throw lz4Error(`skippable LZ4 frames (magic ${hex(magic)}) are not supported`, at, place);
      }
      if (magic === LEGACY_MAGIC) throw lz4Error("legacy LZ4 frames (magic 0x184c2102) are not supported", at, place);
      throw lz4Error(`not an LZ4 frame: magic ${hex(magic)}, expected ${hex(MAGIC)}`, at, place);
    }
  }
  if (avail < 5) return MIN_HEADER;
  const flg = b[at + 4]!;
  if ((flg & 0xc0) !== FLG_VERSION) throw lz4Error(`unsupported LZ4 frame version ${flg >>> 6}`, at + 4, place);
  if (flg & FLG_RESERVED) throw lz4Error("reserved bit set in the LZ4 frame flags", at + 4, place);
  if (flg & FLG_DICT_ID) throw lz4Error("LZ4 frames that need a dictionary are not supported", at + 4, place);
  const length = MIN_HEADER + (flg & FLG_CONTENT_SIZE ? 8 : 0);
  if (avail < 6) return length;
  const bd = b[at + 5]!;
  const blockMax = BLOCK_MAX_BY_CODE[(bd >>> 4) & 7] ?? 0;
  if (bd & 0x8f) throw lz4Error(`reserved bits set in the LZ4 block descriptor 0x${bd.toString(16)}`, at + 5, place);
  if (blockMax === 0) throw lz4Error(`invalid LZ4 block maximum size code ${bd >>> 4}`, at + 5, place);
  if (avail < length) return length;
  const expected = (xxhash32(b.subarray(at + 4, at + length - 1)) >>> 8) & 0xff;
  if (b[at + length - 1] !== expected) throw lz4Error("LZ4 frame header checksum mismatch", at + length - 1, place);
  let contentSize: number | undefined;
  if (flg & FLG_CONTENT_SIZE) {
    const high = readU32(b, at + 10);
    contentSize = high * 0x100000000 + readU32(b, at + 6);
    if (high > 0x1fffff) throw lz4Error("LZ4 frame declares a content size of 2^53 bytes or more", at + 6, place);
    if (contentSize > maxContentSize) {
      throw lz4Error(`LZ4 frame declares ${contentSize} content bytes, more than the allowed ${maxContentSize}`, at + 6, place);
    }
  }
  return {
    length,
    blockMax,
    independent: (flg & FLG_INDEPENDENT) !== 0,
    blockChecksum: (flg & FLG_BLOCK_CHECKSUM) !== 0,
    contentChecksum: (flg & FLG_CONTENT_CHECKSUM) !== 0,
    contentSize,
  };
}

/** Reads a block size word; its size (low 31 bits) is 0 for the EndMark, as the lz4 reference reads it. */
function readBlockWord(b: Uint8Array, at: number, h: FrameHeader, place: Place): number {
  const word = readU32(b, at);
  const size = word & ~STORED;
  if (size > h.blockMax) throw lz4Error(`LZ4 block of ${size} bytes exceeds the frame's ${h.blockMax}-byte maximum`, at, place);
  return word;
}

function verifyBlockChecksum(b: Uint8Array, at: number, size: number, place: Place): void {
  if (xxhash32(b.subarray(at, at + size)) !== readU32(b, at + size)) {
    throw lz4Error("LZ4 block checksum mismatch", at + size, place);
  }
}

/** Checks a running content total against the declared size and the caller's limit. */
function checkTotal(total: number, h: FrameHeader, maxContentSize: number, at: number, place: Place): void {
  if (total > maxContentSize) {
    throw lz4Error(`LZ4 frame content exceeds the allowed ${maxContentSize} bytes`, at, place);
  }
  if (h.contentSize !== undefined && total > h.contentSize) {
    throw lz4Error(`LZ4 frame content exceeds its declared size of ${h.contentSize} bytes`, at, place);
  }
}

function checkContentSize(total: number, h: FrameHeader, at: number, place: Place): void {
  if (h.contentSize !== undefined && total !== h.contentSize) {
    throw lz4Error(`LZ4 frame content is ${total} bytes, its header declares ${h.contentSize}`, at, place);
  }
}

function checkContentChecksum(actual: number, b: Uint8Array, at: number, place: Place): void {
  if (actual !== readU32(b, at)) throw lz4Error("LZ4 content checksum mismatch", at, place);
}

function checkLimit(value: number | undefined, what: string): number {
  if (value === undefined) return Number.POSITIVE_INFINITY;
  if (!(value >= 0)) throw invalidArgument(`${what} must be a non-negative number, got ${value}`);
  return value;
}

/** The frame header pierrec writes: version 1, independent blocks, optional content checksum. */
function frameHeader(blockSize: number, contentChecksum: boolean): Uint8Array {
  const flg = FLG_VERSION | FLG_INDEPENDENT | (contentChecksum ? FLG_CONTENT_CHECKSUM : 0);
  const bd = BLOCK_MAX_BY_CODE.indexOf(blockSize as Lz4BlockSize) << 4;
  const out = new Uint8Array(MIN_HEADER);
  writeU32(out, 0, MAGIC);
  out[4] = flg;
  out[5] = bd;
  out[6] = (xxhash32(out.subarray(4, 6)) >>> 8) & 0xff;
  return out;
}

/**
 * Streaming encoder: block boundaries fall every `blockSize` bytes of the concatenated
 * input, whatever the chunking, so the output equals {@link lz4EncodeFrame} of the whole.
 */
export class Lz4FrameEncoder {
  private readonly blockSize: number;
  private readonly checksum: XxHash32 | undefined;
  /** Input waiting for a full block; grows up to blockSize as input arrives. */
  private pending: Uint8Array = new Uint8Array(0);
  private pendingLen = 0;
  /** Encoded-block buffer, grown to 4 + the largest piece seen. */
  private scratch = new Uint8Array(0);
  private started = false;
  private finished = false;
  private readonly native: boolean;

  constructor(options: Lz4FrameOptions = {}) {
    const blockSize = options.blockSize ?? 4194304;
    if (blockSize < 65536 || !BLOCK_MAX_BY_CODE.includes(blockSize)) {
      throw invalidArgument(`LZ4 block size must be 65536, 262144, 1048576 or 4194304, got ${String(blockSize)}`);
    }
    this.blockSize = blockSize;
    this.checksum = (options.contentChecksum ?? true) ? new XxHash32() : undefined;
    this.native = useNativeCompressor(options.codec ?? "js");
  }

  /** Feeds content; returns the frame bytes completed so far (the header first). */
  push(chunk: Uint8Array): Uint8Array[] {
    const out = this.begin();
    this.checksum?.update(chunk);
    let pos = 0;
    if (this.pendingLen > 0) {
      pos = this.stash(chunk, 0);
      if (this.pendingLen < this.blockSize) return out;
      out.push(this.block(this.pending));
      this.pendingLen = 0;
    }
    for (; chunk.length - pos >= this.blockSize; pos += this.blockSize) {
      out.push(this.block(chunk.subarray(pos, pos + this.blockSize)));
    }
    if (pos < chunk.length) this.stash(chunk, pos);
    return out;
  }

  /** Ends the frame: the last partial block, the EndMark and the content checksum. */
  finish(): Uint8Array[] {
    const out = this.begin();
    this.finished = true;
    if (this.pendingLen > 0) out.push(this.block(this.pending.subarray(0, this.pendingLen)));
    const end = new Uint8Array(this.checksum ? 8 : 4);
    if (this.checksum) writeU32(end, 4, this.checksum.digest());
    out.push(end);
    return out;
  }

  private begin(): Uint8Array[] {
    if (this.finished) throw invalidArgument("LZ4 frame encoder used after finish()");
    if (this.started) return [];
    this.started = true;
    return [frameHeader(this.blockSize, this.checksum !== undefined)];
  }

  /** Copies as much of `chunk[pos…]` as fits in the pending block; returns the new pos. */
  private stash(chunk: Uint8Array, pos: number): number {
    const take = Math.min(chunk.length - pos, this.blockSize - this.pendingLen);
    this.pending = grow(this.pending, this.pendingLen, this.pendingLen + take, this.blockSize);
    this.pending.set(chunk.subarray(pos, pos + take), this.pendingLen);
    this.pendingLen += take;
    return pos + take;
  }

  /** One block: its size word and payload, compressed when that pays (spec §4.2). */
  private block(piece: Uint8Array): Uint8Array {
    if (this.scratch.length < 4 + piece.length) this.scratch = new Uint8Array(4 + piece.length);
    const n = this.native ? nativeFrameBlock(piece, this.scratch) : compressFrameBlock(piece, this.scratch, 4);
    if (n > 0) {
      writeU32(this.scratch, 0, n);
      return this.scratch.slice(0, 4 + n);
    }
    const out = new Uint8Array(4 + piece.length);
    writeU32(out, 0, (piece.length | STORED) >>> 0);
    out.set(piece, 4);
    return out;
  }
}

/** lz4-napi's block for `piece` at `dst[4…]`, or 0 to store the piece raw (when compressing does not make it shorter). */
function nativeFrameBlock(piece: Uint8Array, dst: Uint8Array): number {
  const block = nativeCompressBlock(piece);
  if (block.length >= piece.length) return 0;
  dst.set(block, 4);
  return block.length;
}

/**
 * Encodes like pierrec/lz4 v4's Writer at the fast level (independent blocks, content
 * checksum, no block checksums, no content size): byte-identical to the frames in the
 * LTX fixtures (64 KiB blocks) and to Litestream v0.3's objects (4 MiB blocks). Empty
 * input gives a complete empty frame (header, EndMark, checksum).
 */
export function lz4EncodeFrame(data: Uint8Array, options?: Lz4FrameOptions): Uint8Array {
  const encoder = new Lz4FrameEncoder(options);
  return concatBytes([...encoder.push(data), ...encoder.finish()]);
}

/**
 * `buf` with room for `need` bytes, keeping its first `keep`: grown geometrically up to
 * `max`, so a size word alone never makes a stream allocate a whole block before the
 * bytes arrive.
 */
function grow(buf: Uint8Array, keep: number, need: number, max: number): Uint8Array {
  if (buf.length >= need) return buf;
  const grown = new Uint8Array(Math.min(max, Math.max(need, 2 * buf.length)));
  grown.set(buf.subarray(0, keep));
  return grown;
}

/**
 * Calls `visit(at, size, stored)` for every block of the frame whose blocks start at
 * `pos`, after checking its block checksum, and returns the offset just past the
 * EndMark. Everything is bounds-checked against `src`.
 */
function walkBlocks(
  src: Uint8Array,
  pos: number,
  h: FrameHeader,
  place: Place,
  visit: (at: number, size: number, stored: boolean) => void,
): number {
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

/** A decode buffer that may be replaced by a larger one. */
interface Growable {
  buf: Uint8Array;
}

/**
 * Decodes one block to `into.buf[start…]` and returns the end of its output. The
 * buffer grows (keeping `[0, start)`) only by what the block's bytes can produce,
 * never beyond `start` + the block maximum.
 */
function decodeFrameBlock(
  src: Uint8Array,
  at: number,
  size: number,
  stored: boolean,
  h: FrameHeader,
  into: Growable,
  start: number,
  history: number,
  place: Place,
): number {
  const room = stored ? size : Math.min(h.blockMax, maxDecodedSize(size));
  const out = (into.buf = grow(into.buf, start, start + room, Number.MAX_SAFE_INTEGER));
  if (!stored) return decodeBlockFast(src, at, at + size, out, start, start + room, history, place.bias, place.file);
  out.set(src.subarray(at, at + size), start);
  return start + size;
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
export function lz4DecodeFrame(
  src: Uint8Array,
  offset = 0,
  options: Lz4DecodeFrameOptions = {},
): { data: Uint8Array; end: number } {
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
