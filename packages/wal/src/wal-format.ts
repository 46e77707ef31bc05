/** The WAL file format (fileformat2 §4): header and frame-header codecs, and WalEncoder, which writes frames with their running checksum. */
import { isValidPageSize } from "./database-header.js";
import { concatBytes, u32 } from "./bytes.js";
import { WalError } from "./errors.js";
import { checksumRange, type WalChecksum } from "./wal-checksum.js";

/** Size of the WAL file header. */
export const WAL_HEADER_SIZE = 32;
/** Size of the header in front of every page in the WAL. */
export const WAL_FRAME_HEADER_SIZE = 24;
/** WAL magic whose checksums read words little-endian. */
export const WAL_MAGIC_LE = 0x377f0682;
/** WAL magic whose checksums read words big-endian. */
export const WAL_MAGIC_BE = 0x377f0683;
/** The only WAL format version SQLite writes or accepts. */
export const WAL_FORMAT_VERSION = 3007000;

/** The 32-byte WAL header (all fields big-endian on disk). */
export interface WalHeader {
  readonly magic: number;
  /** True when checksums read big-endian words (magic 0x377f0683). */
  readonly bigEndian: boolean;
  readonly version: number;
  readonly pageSize: number;
  /** Incremented each time the WAL is reset. */
  readonly checkpointSequence: number;
  /** Incremented on reset; frames carrying other salts are stale. */
  readonly salt1: number;
  /** Random on each reset. */
  readonly salt2: number;
  /** Checksum of the first 24 header bytes; seeds the first frame's checksum. */
  readonly checksum1: number;
  readonly checksum2: number;
}

/** The fields a writer chooses for a WAL header; the checksum is computed. */
export interface WalHeaderInit {
  readonly pageSize: number;
  readonly salt1: number;
  readonly salt2: number;
  readonly checkpointSequence?: number;
  /** Checksum byte order; SQLite uses the host's (little-endian on x86 and ARM). */
  readonly bigEndian?: boolean;
}

/** The 24-byte header of a WAL frame. */
export interface WalFrameHeader {
  readonly pgno: number;
  /** Database size in pages after the commit for a commit frame, else 0. */
  readonly commit: number;
  readonly salt1: number;
  readonly salt2: number;
  /** The running checksum up to and including this frame. */
  readonly checksum1: number;
  readonly checksum2: number;
}

/** Bytes taken by one frame (header and page). */
export function walFrameSize(pageSize: number): number {
  return WAL_FRAME_HEADER_SIZE + pageSize;
}

/**
 * Decodes and checks a WAL header as SQLite's recovery does: magic, version 3007000,
 * page size and header checksum. SQLite treats a WAL failing these as empty (or
 * refuses to open it, for the version); this throws `WalError` so the caller decides.
 */
export function decodeWalHeader(bytes: Uint8Array, file?: string): WalHeader {
  if (bytes.length < WAL_HEADER_SIZE) {
    throw new WalError("truncated", `WAL header needs ${WAL_HEADER_SIZE} bytes, got ${bytes.length}`, { file, offset: 0 });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, WAL_HEADER_SIZE);
  const magic = view.getUint32(0, false);
  if (magic !== WAL_MAGIC_LE && magic !== WAL_MAGIC_BE) {
    throw new WalError("invalid-magic", `WAL magic 0x${magic.toString(16)} is neither 0x377f0682 nor 0x377f0683`, { file, offset: 0 });
  }
  const version = view.getUint32(4, false);
  if (version !== WAL_FORMAT_VERSION) {
    throw new WalError("invalid-header", `WAL format version ${version} is not ${WAL_FORMAT_VERSION}`, { file, offset: 4 });
  }
  const pageSize = view.getUint32(8, false);
  if (!isValidPageSize(pageSize)) {
    throw new WalError("invalid-page-size", `WAL page size ${pageSize} is not a power of two in 512…65536`, { file, offset: 8 });
  }
  const bigEndian = magic === WAL_MAGIC_BE;
  const [c1, c2] = checksumRange(view, 0, 24, bigEndian, 0, 0);
  const checksum1 = view.getUint32(24, false);
  const checksum2 = view.getUint32(28, false);
  if (c1 !== checksum1 || c2 !== checksum2) {
    throw new WalError("header-checksum-mismatch", "WAL header checksum does not match", { file, offset: 24 });
  }
  return {
    magic,
    bigEndian,
    version,
    pageSize,
    checkpointSequence: view.getUint32(12, false),
    salt1: view.getUint32(16, false),
    salt2: view.getUint32(20, false),
    checksum1,
    checksum2,
  };
}

/** Encodes a WAL header with its checksum. */
export function encodeWalHeader(init: WalHeaderInit): Uint8Array {
  if (!isValidPageSize(init.pageSize)) {
    throw new WalError("invalid-page-size", `page size ${init.pageSize} is not a power of two in 512…65536`);
  }
  const bigEndian = init.bigEndian ?? false;
  const bytes = new Uint8Array(WAL_HEADER_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, bigEndian ? WAL_MAGIC_BE : WAL_MAGIC_LE, false);
  view.setUint32(4, WAL_FORMAT_VERSION, false);
  view.setUint32(8, init.pageSize, false);
  view.setUint32(12, u32(init.checkpointSequence ?? 0, "checkpointSequence"), false);
  view.setUint32(16, u32(init.salt1, "salt1"), false);
  view.setUint32(20, u32(init.salt2, "salt2"), false);
  const [c1, c2] = checksumRange(view, 0, 24, bigEndian, 0, 0);
  view.setUint32(24, c1, false);
  view.setUint32(28, c2, false);
  return bytes;
}

/** Decodes the frame header at `offset` of `bytes` (no validation: see the reader). */
export function decodeWalFrameHeader(bytes: Uint8Array, offset = 0): WalFrameHeader {
  if (offset < 0 || bytes.length - offset < WAL_FRAME_HEADER_SIZE) {
    throw new WalError("truncated", `WAL frame header needs ${WAL_FRAME_HEADER_SIZE} bytes`, { offset });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, WAL_FRAME_HEADER_SIZE);
  return {
    pgno: view.getUint32(0, false),
    commit: view.getUint32(4, false),
    salt1: view.getUint32(8, false),
    salt2: view.getUint32(12, false),
    checksum1: view.getUint32(16, false),
    checksum2: view.getUint32(20, false),
  };
}

/**
 * Writes a valid WAL frame by frame, in either checksum byte order, carrying the
 * running checksum. For tests and tools; SQLite reads what it produces.
 */
export class WalEncoder {
  /** The header, as decoded from {@link WalEncoder.headerBytes}. */
  readonly header: WalHeader;
  /** The 32 header bytes to write at offset 0. */
  readonly headerBytes: Uint8Array;
  #checksum: WalChecksum;
  #offset = WAL_HEADER_SIZE;

  constructor(init: WalHeaderInit) {
    this.headerBytes = encodeWalHeader(init);
    this.header = decodeWalHeader(this.headerBytes);
    this.#checksum = [this.header.checksum1, this.header.checksum2];
  }

  /** Byte offset at which the next frame goes. */
  get offset(): number {
    return this.#offset;
  }

  /** The running checksum after the last frame encoded. */
  get checksum(): WalChecksum {
    return this.#checksum;
  }

  /**
   * Encodes one frame; `commit` is the database size in pages for the last frame of a
   * transaction, 0 otherwise. `override` lets tests forge salts or checksums.
   */
  frame(pgno: number, page: Uint8Array, commit = 0, override: Partial<WalFrameHeader> = {}): Uint8Array {
    const { pageSize, bigEndian } = this.header;
    if (page.length !== pageSize) throw new WalError("invalid-argument", `page is ${page.length} bytes, WAL page size is ${pageSize}`);
    if (u32(pgno, "pgno") === 0) throw new WalError("invalid-argument", "page number 0 is not a page");
    const bytes = new Uint8Array(walFrameSize(pageSize));
    const view = new DataView(bytes.buffer);
    view.setUint32(0, pgno, false);
    view.setUint32(4, u32(commit, "commit"), false);
    bytes.set(page, WAL_FRAME_HEADER_SIZE);
    const [a, b] = checksumRange(view, 0, 8, bigEndian, this.#checksum[0], this.#checksum[1]);
    const sum = checksumRange(view, WAL_FRAME_HEADER_SIZE, bytes.length, bigEndian, a, b);
    view.setUint32(8, u32(override.salt1 ?? this.header.salt1, "salt1"), false);
    view.setUint32(12, u32(override.salt2 ?? this.header.salt2, "salt2"), false);
    view.setUint32(16, u32(override.checksum1 ?? sum[0], "checksum1"), false);
    view.setUint32(20, u32(override.checksum2 ?? sum[1], "checksum2"), false);
    if (override.pgno !== undefined) view.setUint32(0, u32(override.pgno, "pgno"), false);
    if (override.commit !== undefined) view.setUint32(4, u32(override.commit, "commit"), false);
    this.#checksum = sum;
    this.#offset += bytes.length;
    return bytes;
  }
}

/** One transaction to encode: its pages in write order and the database size after it. */
export interface WalTransactionInit {
  readonly pages: Iterable<{ readonly pgno: number; readonly data: Uint8Array }>;
  /** Database size in pages after the commit. */
  readonly commit: number;
}

/** Encodes a whole WAL image: header, then each transaction with its last frame as the commit frame. */
export function encodeWal(init: WalHeaderInit, transactions: Iterable<WalTransactionInit>): Uint8Array {
  const encoder = new WalEncoder(init);
  const parts: Uint8Array[] = [encoder.headerBytes];
  for (const tx of transactions) {
    const pages = [...tx.pages];
    if (pages.length === 0) throw new WalError("invalid-argument", "a WAL transaction needs at least one page");
    if (u32(tx.commit, "commit") === 0) throw new WalError("invalid-argument", "a commit size of 0 pages would not mark a commit");
    pages.forEach((p, i) => parts.push(encoder.frame(p.pgno, p.data, i === pages.length - 1 ? tx.commit : 0)));
  }
  return concatBytes(parts);
}
