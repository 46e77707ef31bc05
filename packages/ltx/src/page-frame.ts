/** Decodes one page frame of a v2/v3 file from exactly its bytes, as a page index points at it: the ranged-read path of a VFS or a parallel restore. */
import { viewOf } from "./binary.js";
import { LtxError } from "./errors.js";
import { PAGE_FLAG_SIZE, type LtxFormat } from "./format.js";
import { decodePageFrameBytes, decompressPageBlock, maxBlockSize } from "./page-codec.js";
import type { PageIndexEntry, ReadAt } from "./page-index.js";
import type { LtxPage } from "./parse-context.js";

/** Options of `decodePageFrame`. */
export interface PageFrameOptions {
  /** `v2` (4-byte header) or a v3 layout (6-byte header); told from the bytes when absent. */
  format?: LtxFormat | undefined;
  file?: string | undefined;
  /** Absolute offset of the frame in its file (for errors). */
  offset?: number | undefined;
  /** The pgno the index promised; a frame holding another page is an error. */
  pgno?: number | undefined;
}

const LZ4_FRAME_MAGIC = 0x184d2204;

/**
 * Decodes one page frame of a v2/v3 file from exactly its bytes (what a page index
 * entry points at): the ranged-read path of a VFS or a parallel restore. The frame
 * must decompress to exactly one page and hold nothing else. There is no per-page
 * checksum in LTX, so only the LZ4 content checksum (legacy frames) is verified.
 */
export function decodePageFrame(frame: Uint8Array, pageSize: number, options: PageFrameOptions = {}): LtxPage {
  const base = options.offset ?? 0;
  const where = (at: number) => ({ file: options.file, offset: base + at });
  if (frame.length < 8) throw new LtxError("truncated", `a page frame has at least 8 bytes, got ${frame.length}`, where(0));
  const view = viewOf(frame);
  const v2 = options.format === undefined ? view.getUint32(4, true) === LZ4_FRAME_MAGIC : options.format === "v2";
  const pgno = view.getUint32(0);
  if (pgno === 0) throw new LtxError("invalid-page", "page number required", where(0));
  if (options.pgno !== undefined && pgno !== options.pgno) {
    throw new LtxError("invalid-page-index", `frame holds page ${pgno}, the index says ${options.pgno}`, where(0));
  }
  if (v2) return { pgno, data: decodePageFrameBytes(frame, 4, pageSize, where(4)) };
  const flags = view.getUint16(4);
  if ((flags & ~PAGE_FLAG_SIZE) !== 0) {
    throw new LtxError("invalid-page", `invalid page header flags: 0x${flags.toString(16).padStart(4, "0")}`, where(4));
  }
  if ((flags & PAGE_FLAG_SIZE) === 0) return { pgno, data: decodePageFrameBytes(frame, 6, pageSize, where(6)) };
  if (frame.length < 10) throw new LtxError("truncated", "page frame ends inside its size field", where(frame.length));
  const size = view.getUint32(6);
  if (size === 0 || size > maxBlockSize(pageSize)) {
    throw new LtxError("invalid-page", `compressed size ${size} of page ${pgno} is outside 1…${maxBlockSize(pageSize)}`, where(6));
  }
  if (size !== frame.length - 10) {
    throw new LtxError(size > frame.length - 10 ? "truncated" : "trailing-data", `page frame of ${frame.length} bytes declares a ${size}-byte block`, where(6));
  }
  return { pgno, data: decompressPageBlock(frame.subarray(10), pageSize, where(10)) };
}

/** Reads and decodes the page an index entry points at (one ranged read). */
export async function readIndexedPage(readAt: ReadAt, entry: PageIndexEntry, pageSize: number, options: Omit<PageFrameOptions, "offset" | "pgno"> = {}): Promise<LtxPage> {
  const frame = await readAt(entry.offset, entry.size);
  if (frame.length !== entry.size) {
    throw new LtxError("truncated", `range read of ${entry.size} bytes at ${entry.offset} returned ${frame.length}`, { file: options.file, offset: entry.offset });
  }
  return decodePageFrame(frame, pageSize, { ...options, offset: entry.offset, pgno: entry.pgno });
}
