/** The page index of v2/v3 files (spec §3.5): varint encode and decode, and reading it with ranged reads from the end of a file. */
import { readSafeInteger, viewOf } from "./binary.js";
import { LtxError } from "./errors.js";
import { HEADER_SIZE, TRAILER_SIZE } from "./format.js";
import { decodeTrailer, type LtxTrailer } from "./trailer.js";

/** Where a page frame lives in a v2/v3 file (spec §3.5). */
export interface PageIndexEntry {
  pgno: number;
  /** Absolute offset of the frame (its pgno field). */
  offset: number;
  /** Bytes of the whole frame: page header, size field (v3-block) and payload. */
  size: number;
}

/** Longest LEB128 encoding of a u64. */
export const MAX_VARINT_BYTES = 10;
/** Bytes after the index entries: the u64 IndexSize and the trailer. */
const INDEX_TAIL = 8 + TRAILER_SIZE;
/** What `readPageIndex` fetches first, as Litestream does. */
export const PAGE_INDEX_TAIL_FETCH = 32 * 1024;

/** A growable byte buffer for varint output (amortised doubling). */
export class ByteBuilder {
  private buf: Uint8Array;
  length = 0;

  constructor(capacity = 64) {
    this.buf = new Uint8Array(capacity);
  }

  push(byte: number): void {
    if (this.length === this.buf.length) {
      const next = new Uint8Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = byte;
  }

  /** Appends `n` (a non-negative safe integer) as an unsigned LEB128 varint. */
  uvarint(n: number): void {
    while (n >= 0x80) {
      this.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    this.push(n);
  }

  /** The bytes written so far (a view; valid until the next push). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/**
 * Reads one unsigned LEB128 varint from `bytes` at `at`. Returns the value and the
 * position after it, or `undefined` when the bytes end first. Throws on an over-long
 * encoding or a value beyond Number.MAX_SAFE_INTEGER.
 */
function readUvarint(bytes: Uint8Array, at: number, what: string, where: { file?: string | undefined; offset: number }): [number, number] | undefined {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    const b = bytes[at + i];
    if (b === undefined) return undefined;
    value += (b & 0x7f) * scale;
    if (value > Number.MAX_SAFE_INTEGER) {
      throw new LtxError("unsupported", `page index ${what} is beyond Number.MAX_SAFE_INTEGER`, { file: where.file, offset: where.offset + at });
    }
    if ((b & 0x80) === 0) return [value, at + i + 1];
    scale *= 0x80;
  }
  throw new LtxError("invalid-page-index", `page index ${what}: varint longer than ${MAX_VARINT_BYTES} bytes`, {
    file: where.file,
    offset: where.offset + at,
  });
}

/** The page index bytes: entries, the 0 terminator and the u64 IndexSize. */
export function encodePageIndex(entries: readonly PageIndexEntry[]): Uint8Array {
  const b = new ByteBuilder();
  for (const e of entries) {
    b.uvarint(e.pgno);
    b.uvarint(e.offset);
    b.uvarint(e.size);
  }
  b.push(0);
  const size = b.length;
  const out = new Uint8Array(size + 8);
  out.set(b.bytes());
  viewOf(out).setBigUint64(size, BigInt(size));
  return out;
}

/** Options of `decodePageIndex`. */
export interface PageIndexOptions {
  file?: string | undefined;
  /** Absolute offset of the index in its file (for errors and frame-bound checks). */
  offset?: number | undefined;
}

/**
 * Parses a page index: exactly its entries, the terminator and the u64 IndexSize,
 * which must match. Entries must ascend by pgno and lie before the index.
 */
export function decodePageIndex(bytes: Uint8Array, options: PageIndexOptions = {}): PageIndexEntry[] {
  const base = options.offset ?? 0;
  const fail = (message: string, at: number): never => {
    throw new LtxError("invalid-page-index", message, { file: options.file, offset: base + at });
  };
  if (bytes.length < 9) fail(`page index needs at least 9 bytes, got ${bytes.length}`, 0);
  const end = bytes.length - 8;
  const indexSize = readSafeInteger(viewOf(bytes), end, "page index size", { file: options.file, offset: base + end });
  if (indexSize !== end) fail(`page index size ${indexSize} does not match the ${end} bytes of entries`, end);
  const where = { file: options.file, offset: base };
  const body = bytes.subarray(0, end);
  const entries: PageIndexEntry[] = [];
  let at = 0;
  let prev: PageIndexEntry | undefined;
  for (;;) {
    const entryAt = at;
    const pgno = readUvarint(body, at, "pgno", where) ?? fail("page index ends without a terminator", at);
    at = pgno[1];
    if (pgno[0] === 0) break;
    const offset = readUvarint(body, at, "offset", where) ?? fail("page index entry cut short", at);
    at = offset[1];
    const size = readUvarint(body, at, "size", where) ?? fail("page index entry cut short", at);
    at = size[1];
    const entry = { pgno: pgno[0], offset: offset[0], size: size[0] };
    checkEntry(entry, prev, options.offset, (m) => fail(m, entryAt));
    entries.push(entry);
    prev = entry;
  }
  if (at !== end) fail(`${end - at} bytes after the page index terminator`, at);
  return entries;
}

/** The rules every index entry obeys relative to its predecessor and the index itself. */
export function checkEntry(entry: PageIndexEntry, prev: PageIndexEntry | undefined, indexOffset: number | undefined, fail: (message: string) => never): void {
  if (entry.pgno > 0xffffffff) fail(`page index pgno ${entry.pgno} is not a u32`);
  if (prev !== undefined && entry.pgno <= prev.pgno) fail(`page index pgnos out of order: ${prev.pgno}, ${entry.pgno}`);
  if (entry.size === 0) fail(`page index entry for page ${entry.pgno} has size 0`);
  const floor = prev === undefined ? HEADER_SIZE : prev.offset + prev.size;
  if (entry.offset < floor) fail(`page index entry for page ${entry.pgno} at offset ${entry.offset} overlaps what precedes it`);
  if (indexOffset !== undefined && entry.offset + entry.size > indexOffset) {
    fail(`page index entry for page ${entry.pgno} runs past the start of the index`);
  }
}

/** Reads `length` bytes at `offset` of one file (an HTTP range, a `pread`, …). */
export type ReadAt = (offset: number, length: number) => Promise<Uint8Array>;

/** A page index read from a file's tail, with the trailer that follows it. */
export interface PageIndex {
  entries: PageIndexEntry[];
  /** Absolute offset where the index starts. */
  offset: number;
  /** IndexSize: bytes of entries and terminator (the u64 size field not counted). */
  size: number;
  trailer: LtxTrailer;
}

/** Options of `readPageIndex`. */
export interface ReadPageIndexOptions {
  file?: string | undefined;
  signal?: AbortSignal | undefined;
  /** Bytes fetched from the end first (default 32 KiB, as Litestream). */
  tailSize?: number | undefined;
}

/**
 * Reads the page index of a v2/v3 file from its tail alone: fetches the last 32 KiB,
 * then a second range when the index is larger (spec §9.5). IndexSize is checked
 * against the file size before anything is allocated from it.
 */
export async function readPageIndex(readAt: ReadAt, fileSize: number, options: ReadPageIndexOptions = {}): Promise<PageIndex> {
  const { file, signal } = options;
  const minSize = HEADER_SIZE + 4 + 1 + INDEX_TAIL;
  if (!Number.isSafeInteger(fileSize) || fileSize < minSize) {
    throw new LtxError("truncated", `a file with a page index has at least ${minSize} bytes, got ${fileSize}`, { file });
  }
  const tailLength = Math.min(fileSize, options.tailSize ?? PAGE_INDEX_TAIL_FETCH);
  const tail = await readExactly(readAt, fileSize - tailLength, tailLength, { file, signal });
  const sizeAt = tailLength - INDEX_TAIL;
  const where = { file, offset: fileSize - INDEX_TAIL };
  const size = readSafeInteger(viewOf(tail), sizeAt, "page index size", where);
  const maxSize = fileSize - INDEX_TAIL - HEADER_SIZE - 4;
  if (size < 1 || size > maxSize) {
    throw new LtxError("invalid-page-index", `page index size ${size} is impossible in a ${fileSize}-byte file`, where);
  }
  const offset = fileSize - INDEX_TAIL - size;
  const bytes = size <= sizeAt ? tail.subarray(sizeAt - size, sizeAt + 8) : await readExactly(readAt, offset, size + 8, { file, signal });
  const entries = decodePageIndex(bytes, { file, offset });
  return { entries, offset, size, trailer: decodeTrailer(tail.subarray(tailLength - TRAILER_SIZE)) };
}

async function readExactly(readAt: ReadAt, offset: number, length: number, { file, signal }: { file?: string | undefined; signal?: AbortSignal | undefined }): Promise<Uint8Array> {
  if (signal?.aborted) throw new LtxError("aborted", "page index read aborted", { file, cause: signal.reason });
  const bytes = await readAt(offset, length);
  if (bytes.length !== length) {
    throw new LtxError("truncated", `range read of ${length} bytes at ${offset} returned ${bytes.length}`, { file, offset });
  }
  return bytes;
}
