/** The LZ4 frame format as both directions need it: constants, the frame header's checks, block size words, content checks, and decoding one block. */
import { LtxError } from "../errors.js";
import { decodeBlockFast, maxDecodedSize } from "./block.js";
import { xxhash32 } from "./xxhash32.js";

/** The magic number every LZ4 frame starts with (little-endian on disk). */
export const MAGIC = 0x184d2204;
const SKIPPABLE_FIRST = 0x184d2a50;
const SKIPPABLE_LAST = 0x184d2a5f;
const LEGACY_MAGIC = 0x184c2102;
// FLG byte bits (lz4 frame format §FLG).
export const FLG_VERSION = 0x40;
export const FLG_INDEPENDENT = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
export const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_RESERVED = 0x02;
const FLG_DICT_ID = 0x01;
/** Bit 31 of a block size word: the block is stored uncompressed. */
export const STORED = 0x80000000;
/** Dependent blocks may reach this far back into earlier blocks' output. */
export const WINDOW = 0x10000;
/** A frame header without the optional content size: magic, FLG, BD, header checksum. */
export const MIN_HEADER = 7;

/** Block maximum sizes by the BD byte's code (4…7); lower codes are invalid. */
export const BLOCK_MAX_BY_CODE = [0, 0, 0, 0, 65536, 262144, 1048576, 4194304] as const;

/** The block sizes pierrec/lz4 (and the frame format) offer; 64 KiB for LTX, 4 MiB for Litestream v0.3. */
export type Lz4BlockSize = 65536 | 262144 | 1048576 | 4194304;

/** A checked frame header: its length and what it says about the blocks and the content. */
export interface FrameHeader {
  length: number;
  blockMax: number;
  independent: boolean;
  blockChecksum: boolean;
  contentChecksum: boolean;
  contentSize: number | undefined;
}

/** Where errors point: the absolute offset of `buf[i]` is `bias + i`. */
export interface Place {
  bias: number;
  file: string | undefined;
}

function lz4Error(message: string, at: number, place: Place): LtxError {
  return new LtxError("lz4", message, { offset: place.bias + at, file: place.file });
}

/** LtxError "truncated" at a place in the input. */
export function truncated(message: string, at: number, place: Place): LtxError {
  return new LtxError("truncated", message, { offset: place.bias + at, file: place.file });
}

/** LtxError "invalid-argument": a caller's option or offset is impossible. */
export function invalidArgument(message: string): LtxError {
  return new LtxError("invalid-argument", message);
}

function readU32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

/** Writes a little-endian u32 (the frame format's byte order). */
export function writeU32(b: Uint8Array, i: number, v: number): void {
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
export function parseHeader(b: Uint8Array, at: number, avail: number, maxContentSize: number, place: Place): FrameHeader | number {
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
export function readBlockWord(b: Uint8Array, at: number, h: FrameHeader, place: Place): number {
  const word = readU32(b, at);
  const size = word & ~STORED;
  if (size > h.blockMax) throw lz4Error(`LZ4 block of ${size} bytes exceeds the frame's ${h.blockMax}-byte maximum`, at, place);
  return word;
}

/** Checks the XXH32 that follows a block when the frame has block checksums. */
export function verifyBlockChecksum(b: Uint8Array, at: number, size: number, place: Place): void {
  if (xxhash32(b.subarray(at, at + size)) !== readU32(b, at + size)) {
    throw lz4Error("LZ4 block checksum mismatch", at + size, place);
  }
}

/** Checks a running content total against the declared size and the caller's limit. */
export function checkTotal(total: number, h: FrameHeader, maxContentSize: number, at: number, place: Place): void {
  if (total > maxContentSize) {
    throw lz4Error(`LZ4 frame content exceeds the allowed ${maxContentSize} bytes`, at, place);
  }
  if (h.contentSize !== undefined && total > h.contentSize) {
    throw lz4Error(`LZ4 frame content exceeds its declared size of ${h.contentSize} bytes`, at, place);
  }
}

/** At the EndMark: the content must be exactly the size the header declared, if it declared one. */
export function checkContentSize(total: number, h: FrameHeader, at: number, place: Place): void {
  if (h.contentSize !== undefined && total !== h.contentSize) {
    throw lz4Error(`LZ4 frame content is ${total} bytes, its header declares ${h.contentSize}`, at, place);
  }
}

/** Checks the XXH32 of the content stored after the EndMark. */
export function checkContentChecksum(actual: number, b: Uint8Array, at: number, place: Place): void {
  if (actual !== readU32(b, at)) throw lz4Error("LZ4 content checksum mismatch", at, place);
}

/** A caller's size limit, checked; none means no limit. */
export function checkLimit(value: number | undefined, what: string): number {
  if (value === undefined) return Number.POSITIVE_INFINITY;
  if (!(value >= 0)) throw invalidArgument(`${what} must be a non-negative number, got ${value}`);
  return value;
}

/**
 * `buf` with room for `need` bytes, keeping its first `keep`: grown geometrically up to
 * `max`, so a size word alone never makes a stream allocate a whole block before the
 * bytes arrive.
 */
export function grow(buf: Uint8Array, keep: number, need: number, max: number): Uint8Array {
  if (buf.length >= need) return buf;
  const grown = new Uint8Array(Math.min(max, Math.max(need, 2 * buf.length)));
  grown.set(buf.subarray(0, keep));
  return grown;
}

/** A decode buffer that may be replaced by a larger one. */
export interface Growable {
  buf: Uint8Array;
}

/**
 * Decodes one block to `into.buf[start…]` and returns the end of its output. The
 * buffer grows (keeping `[0, start)`) only by what the block's bytes can produce,
 * never beyond `start` + the block maximum.
 */
export function decodeFrameBlock(src: Uint8Array, at: number, size: number, stored: boolean, h: FrameHeader, into: Growable, start: number, history: number, place: Place): number {
  const room = stored ? size : Math.min(h.blockMax, maxDecodedSize(size));
  const out = (into.buf = grow(into.buf, start, start + room, Number.MAX_SAFE_INTEGER));
  if (!stored) return decodeBlockFast(src, at, at + size, out, start, start + room, history, place.bias, place.file);
  out.set(src.subarray(at, at + size), start);
  return start + size;
}
