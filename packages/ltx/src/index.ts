// The public surface of @sqlrep/ltx. Nothing else is public.

// Checksums (spec §5)
export { Crc64, crc64, crc64Combine } from "./crc64.js";
export { crc64Addon } from "./crc64-addon.js";
export { concatBytes } from "./binary.js";
export {
  CHECKSUM_FLAG,
  EMPTY_DATABASE_CHECKSUM,
  DatabaseChecksum,
  databaseChecksum,
  formatChecksum,
  lockPgno,
  pageChecksum,
  parseChecksum,
} from "./checksum.js";

// Errors
export { LtxError, isLtxError, type LtxErrorCode, type LtxErrorOptions } from "./errors.js";

// Layouts, header, trailer (spec §1–3)
export {
  DETECT_SIZE,
  detectFormat,
  hasPageIndex,
  HEADER_FLAG_COMPRESS_LZ4,
  HEADER_FLAG_NO_CHECKSUM,
  HEADER_SIZE,
  LTX_FORMATS,
  PAGE_FLAG_SIZE,
  TRAILER_SIZE,
  type LtxFormat,
} from "./format.js";
export {
  decodeHeader,
  encodeHeader,
  isSnapshot,
  isValidPageSize,
  tracksChecksums,
  validateHeader,
  type HeaderOptions,
  type LtxHeader,
} from "./header.js";
export { decodeTrailer, encodeTrailer, validateTrailer, type LtxTrailer, type TrailerLocation } from "./trailer.js";

// Decoding and encoding
export type { DecodeOptions, LtxDecodeSummary, LtxPage } from "./parse-context.js";
export {
  decodeLtx,
  decodeLtxStream,
  LtxReader,
  type DecodedLtx,
  type LtxFramedPage,
  type LtxReaderOptions,
  type LtxSource,
} from "./decoder.js";
export {
  encodeLtx,
  encodeLtxStream,
  LtxEncoder,
  type EncodeLtxOptions,
  type EncodeOptions,
  type LtxHeaderInit,
} from "./encoder.js";

// Random access (spec §3.5, §9.5)
export {
  decodePageIndex,
  encodePageIndex,
  PAGE_INDEX_TAIL_FETCH,
  readPageIndex,
  type PageIndex,
  type PageIndexEntry,
  type PageIndexOptions,
  type ReadAt,
  type ReadPageIndexOptions,
} from "./page-index.js";
export { decodePageFrame, readIndexedPage, type PageFrameOptions } from "./page-frame.js";

// Decoding one file on several threads (a parallel restore)
export {
  decodeFrameRun,
  LtxRunReader,
  type FrameRunOptions,
  type FrameRunResult,
  type FrameRunShare,
  type LtxFrameRun,
  type LtxRunReaderOptions,
} from "./frame-run.js";

// Compaction (spec §8) and applying (spec §7)
export { checkMergeInputs, LtxMerge, mergeLtx, type MergeInput, type MergeOptions } from "./merge.js";
export { compactLtx, compactLtxToBuffer, type CompactOptions } from "./compactor.js";
export { applyLtx, type ApplyInput, type ApplyOptions } from "./apply.js";
export { MemoryPageStore, type PageStore } from "./page-store.js";

// Names and positions (spec §9.1)
export { formatFilename, formatTxid, isLtxFilename, parseFilename, parseTxid } from "./filename.js";
export { formatPos, parsePos, postApplyPos, preApplyPos, type Pos } from "./pos.js";

// LZ4 (used by the layouts; exposed for tools that read Litestream's legacy .lz4 files)
export { lz4BlockBound, lz4CompressBlock, lz4DecompressBlock } from "./lz4/block.js";
export { lz4Addon } from "./lz4/addon.js";
export { lz4Backend, type Lz4Codec } from "./lz4/native.js";
export {
  lz4DecodeFrame,
  Lz4FrameDecoder,
  Lz4FrameEncoder,
  lz4EncodeFrame,
  type Lz4BlockSize,
  type Lz4DecodeFrameOptions,
  type Lz4FrameDecoderOptions,
  type Lz4FrameOptions,
} from "./lz4/frame.js";
