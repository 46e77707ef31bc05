/** The 16-byte LTX trailer (spec §3.6): decode, encode, and check its checksums against the header. */
import { viewOf, writeU64 } from "./binary.js";
import { CHECKSUM_FLAG, EMPTY_DATABASE_CHECKSUM } from "./checksum.js";
import { LtxError } from "./errors.js";
import { TRAILER_SIZE } from "./format.js";
import { tracksChecksums, type LtxHeader } from "./header.js";

/** The last 16 bytes of every LTX file (spec §3.6). */
export interface LtxTrailer {
  /** Database checksum after applying the file; 0 in NoChecksum files. */
  postApplyChecksum: bigint;
  /** `FLAG | CRC` over the file's logical content (spec §5.5). */
  fileChecksum: bigint;
}

/** Parses the 16 trailer bytes (no validation: see `validateTrailer`). */
export function decodeTrailer(bytes: Uint8Array): LtxTrailer {
  const view = viewOf(bytes);
  return { postApplyChecksum: view.getBigUint64(0), fileChecksum: view.getBigUint64(8) };
}

/** The 16 trailer bytes. */
export function encodeTrailer(trailer: LtxTrailer): Uint8Array {
  const bytes = new Uint8Array(TRAILER_SIZE);
  const view = viewOf(bytes);
  writeU64(view, 0, trailer.postApplyChecksum, "post-apply checksum");
  writeU64(view, 8, trailer.fileChecksum, "file checksum");
  return bytes;
}

/** Where the trailer lives, for errors. */
export interface TrailerLocation {
  file?: string | undefined;
  /** Absolute offset of the trailer. */
  offset?: number | undefined;
}

/**
 * The post-apply checksum rules of spec §3.6: absent (0) with NoChecksum, otherwise
 * flagged, and exactly the empty-database checksum when the file deletes the database.
 */
export function validatePostApplyChecksum(header: LtxHeader, postApplyChecksum: bigint, where: TrailerLocation = {}): void {
  const fail = (message: string): never => {
    throw new LtxError("invalid-trailer", message, where);
  };
  if (!tracksChecksums(header)) {
    if (postApplyChecksum !== 0n) fail("post-apply checksum not allowed");
    return;
  }
  if (postApplyChecksum === 0n) fail("post-apply checksum required");
  if ((postApplyChecksum & CHECKSUM_FLAG) === 0n) fail("invalid post-apply checksum format");
  if (header.commit === 0 && postApplyChecksum !== EMPTY_DATABASE_CHECKSUM) {
    fail("post-apply checksum must be empty for zero-length database");
  }
}

/** All trailer rules of spec §3.6 (post-apply checksum and file checksum format). */
export function validateTrailer(header: LtxHeader, trailer: LtxTrailer, where: TrailerLocation = {}): void {
  validatePostApplyChecksum(header, trailer.postApplyChecksum, where);
  const at = { file: where.file, offset: where.offset === undefined ? undefined : where.offset + 8 };
  if (trailer.fileChecksum === 0n) throw new LtxError("invalid-trailer", "file checksum required", at);
  if ((trailer.fileChecksum & CHECKSUM_FLAG) === 0n) throw new LtxError("invalid-trailer", "invalid file checksum format", at);
}
