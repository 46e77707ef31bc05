/**
 * Page payload compression shared by the decoder, the encoder and the ranged
 * page reader: LZ4 blocks (v3-block) and frames (v2, v3-frame) that must hold
 * exactly one page, with errors placed in the file.
 */
import { LtxError, isLtxError } from "./errors.js";
import { lz4BlockBound, lz4CompressBlock, lz4DecompressBlock } from "./lz4/block.js";
import { lz4DecodeFrame } from "./lz4/frame.js";
import { nativeCompressBlock } from "./lz4/native.js";

/** Where a payload sits in its file, for errors. */
export interface PayloadLocation {
  file?: string | undefined;
  /** Absolute offset of the payload's first byte. */
  offset: number;
}

/** The largest v3-block payload a page of `pageSize` bytes can have; anything larger is rejected unread. */
export function maxBlockSize(pageSize: number): number {
  return lz4BlockBound(pageSize);
}

/**
 * Re-throws an LZ4 fault located in the file: the LZ4 codec reports offsets
 * relative to the buffer it was given, which starts at `where.offset`.
 */
export function placeLz4Error(err: unknown, where: PayloadLocation): never {
  if (!isLtxError(err)) throw err;
  const message = err.message.replace(/ \((?:in [^)]*|at offset \d+)\)$/, "");
  throw new LtxError(err.code, message, { file: where.file, offset: where.offset + (err.offset ?? 0), cause: err });
}

/** Decompresses a v3-block payload that must yield exactly one page. */
export function decompressPageBlock(block: Uint8Array, pageSize: number, where: PayloadLocation): Uint8Array {
  const page = new Uint8Array(pageSize);
  let written: number;
  try {
    written = lz4DecompressBlock(block, page);
  } catch (err) {
    placeLz4Error(err, where);
  }
  if (written !== pageSize) {
    throw new LtxError("lz4", `LZ4 block decompressed to ${written} bytes, expected a ${pageSize}-byte page`, where);
  }
  return page;
}

/** A page as a v3-block payload: lz4-napi's block, or (`native` false) the Go reference's exact bytes. */
export function compressPageBlock(page: Uint8Array, native: boolean): Uint8Array {
  return native ? nativeCompressBlock(page) : lz4CompressBlock(page);
}

/**
 * Decodes the LZ4 frame at `offset` of `bytes` that must hold exactly one page and
 * end exactly at the end of `bytes` (the ranged-read path).
 */
export function decodePageFrameBytes(bytes: Uint8Array, offset: number, pageSize: number, where: PayloadLocation): Uint8Array {
  let decoded: { data: Uint8Array; end: number };
  try {
    decoded = lz4DecodeFrame(bytes, offset, { maxContentSize: pageSize });
  } catch (err) {
    placeLz4Error(err, { file: where.file, offset: where.offset - offset });
  }
  if (decoded.data.length !== pageSize) {
    throw new LtxError("lz4", `LZ4 frame decompressed to ${decoded.data.length} bytes, expected a ${pageSize}-byte page`, where);
  }
  if (decoded.end !== bytes.length) {
    throw new LtxError("trailing-data", `${bytes.length - decoded.end} bytes after the page's LZ4 frame`, {
      file: where.file,
      offset: where.offset - offset + decoded.end,
    });
  }
  return decoded.data;
}
