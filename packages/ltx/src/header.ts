/** The 100-byte LTX header (spec §2): decode, encode and validate it against the layout, and what its fields imply (snapshot, checksums). */
import { readSafeInteger, viewOf, writeSafeInteger, writeU32, writeU64 } from "./binary.js";
import { CHECKSUM_FLAG } from "./checksum.js";
import { LtxError } from "./errors.js";
import { allowedHeaderFlags, HEADER_FLAG_COMPRESS_LZ4, HEADER_FLAG_NO_CHECKSUM, HEADER_SIZE, MAGIC, type LtxFormat } from "./format.js";

/** The 100-byte LTX header (spec §2), the same in every layout. */
export interface LtxHeader {
  /** Header flags: `HEADER_FLAG_COMPRESS_LZ4` (v1 only), `HEADER_FLAG_NO_CHECKSUM`. */
  flags: number;
  /** SQLite page size: a power of two in 512…65536. */
  pageSize: number;
  /** Database size in pages after applying the file; 0 deletes the database. */
  commit: number;
  /** First transaction covered; 1 makes the file a snapshot. */
  minTXID: number;
  /** Last transaction covered. */
  maxTXID: number;
  /** Milliseconds since the Unix epoch (signed). */
  timestamp: number;
  /** Database checksum before applying; 0 on snapshots and NoChecksum files. */
  preApplyChecksum: bigint;
  /** Offset of the transaction's frames in the source WAL; 0 when not from a WAL. */
  walOffset: number;
  /** Bytes of WAL the transaction occupied. */
  walSize: number;
  walSalt1: number;
  walSalt2: number;
  /** LiteFS node that wrote the file; 0 when unset. */
  nodeID: bigint;
}

/** Options of `decodeHeader` and `validateHeader`. */
export interface HeaderOptions {
  /** The layout, for its flag mask; without it any released flag is accepted. */
  format?: LtxFormat | undefined;
  /** Reject non-zero reserved bytes 80–99 (the reference ignores them). Default true. */
  strict?: boolean | undefined;
  /** Named in errors. */
  file?: string | undefined;
  /** Absolute offset of the header in the file, for errors (default 0). */
  offset?: number | undefined;
}

/** Whether the file is a snapshot (MinTXID = 1): it carries every page of the database. */
export function isSnapshot(header: Pick<LtxHeader, "minTXID">): boolean {
  return header.minTXID === 1;
}

/** Whether the file tracks database checksums (no NoChecksum flag). */
export function tracksChecksums(header: Pick<LtxHeader, "flags">): boolean {
  return (header.flags & HEADER_FLAG_NO_CHECKSUM) === 0;
}

/** Parses and validates the first 100 bytes of an LTX file. */
export function decodeHeader(bytes: Uint8Array, options: HeaderOptions = {}): LtxHeader {
  const base = options.offset ?? 0;
  const where = (offset: number) => ({ file: options.file, offset: base + offset });
  if (bytes.length < HEADER_SIZE) {
    throw new LtxError("truncated", `header needs ${HEADER_SIZE} bytes, got ${bytes.length}`, where(bytes.length));
  }
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw new LtxError("invalid-magic", "invalid LTX file: magic is not LTX1", where(0));
  }
  const view = viewOf(bytes);
  const header: LtxHeader = {
    flags: view.getUint32(4),
    pageSize: view.getUint32(8),
    commit: view.getUint32(12),
    minTXID: readSafeInteger(view, 16, "minimum transaction id", where(16)),
    maxTXID: readSafeInteger(view, 24, "maximum transaction id", where(24)),
    timestamp: readSafeInteger(view, 32, "timestamp", where(32), true),
    preApplyChecksum: view.getBigUint64(40),
    walOffset: readSafeInteger(view, 48, "wal offset", where(48), true),
    walSize: readSafeInteger(view, 56, "wal size", where(56), true),
    walSalt1: view.getUint32(64),
    walSalt2: view.getUint32(68),
    nodeID: view.getBigUint64(72),
  };
  if (options.strict ?? true) {
    for (let i = 80; i < HEADER_SIZE; i++) {
      if (bytes[i] !== 0) throw new LtxError("invalid-header", "reserved header bytes 80-99 must be zero", where(i));
    }
  }
  validateHeader(header, options);
  return header;
}

/** The 100 header bytes of `header` (reserved bytes zero). Does not validate. */
export function encodeHeader(header: LtxHeader): Uint8Array {
  const bytes = new Uint8Array(HEADER_SIZE);
  const view = viewOf(bytes);
  bytes.set(MAGIC, 0);
  writeU32(view, 4, header.flags, "flags");
  writeU32(view, 8, header.pageSize, "page size");
  writeU32(view, 12, header.commit, "commit");
  writeSafeInteger(view, 16, header.minTXID, "minimum transaction id");
  writeSafeInteger(view, 24, header.maxTXID, "maximum transaction id");
  writeSafeInteger(view, 32, header.timestamp, "timestamp", true);
  writeU64(view, 40, header.preApplyChecksum, "pre-apply checksum");
  writeSafeInteger(view, 48, header.walOffset, "wal offset", true);
  writeSafeInteger(view, 56, header.walSize, "wal size", true);
  writeU32(view, 64, header.walSalt1, "wal salt 1");
  writeU32(view, 68, header.walSalt2, "wal salt 2");
  writeU64(view, 72, header.nodeID, "node id");
  return bytes;
}

/** Whether `n` is a valid SQLite page size (a power of two in 512…65536). */
export function isValidPageSize(n: number): boolean {
  return Number.isInteger(n) && n >= 512 && n <= 65536 && (n & (n - 1)) === 0;
}

const hex = (n: number): string => `0x${n.toString(16).padStart(8, "0")}`;

/**
 * Checks the header rules of spec §2.3, in the reference's order, throwing the
 * first broken one. Shared by the decoder and the encoder.
 */
export function validateHeader(header: LtxHeader, options: HeaderOptions = {}): void {
  const base = options.offset ?? 0;
  const fail = (code: "invalid-header" | "invalid-flags" | "invalid-page-size", message: string, offset: number): never => {
    throw new LtxError(code, message, { file: options.file, offset: base + offset });
  };
  const mask = options.format === undefined ? HEADER_FLAG_COMPRESS_LZ4 | HEADER_FLAG_NO_CHECKSUM : allowedHeaderFlags(options.format);
  if ((header.flags & ~mask) !== 0) fail("invalid-flags", `invalid flags: ${hex(header.flags)}`, 4);
  if (options.format === "v1-lz4" && (header.flags & HEADER_FLAG_COMPRESS_LZ4) === 0) {
    fail("invalid-flags", `v1-lz4 requires the LZ4 flag, got flags ${hex(header.flags)}`, 4);
  }
  if (options.format === "v1" && (header.flags & HEADER_FLAG_COMPRESS_LZ4) !== 0) {
    fail("invalid-flags", `raw v1 cannot carry the LZ4 flag, got flags ${hex(header.flags)}`, 4);
  }
  if (!isValidPageSize(header.pageSize)) fail("invalid-page-size", `invalid page size: ${header.pageSize}`, 8);
  if (header.minTXID === 0) fail("invalid-header", "minimum transaction id required", 16);
  if (header.maxTXID === 0) fail("invalid-header", "maximum transaction id required", 24);
  if (header.minTXID > header.maxTXID) {
    fail("invalid-header", `transaction ids out of order: (${header.minTXID},${header.maxTXID})`, 16);
  }
  if (header.walOffset < 0) fail("invalid-header", `wal offset cannot be negative: ${header.walOffset}`, 48);
  if (header.walSize < 0) fail("invalid-header", `wal size cannot be negative: ${header.walSize}`, 56);
  if ((header.walSalt1 !== 0 || header.walSalt2 !== 0) && header.walOffset === 0) {
    fail("invalid-header", "wal offset required if salt exists", 48);
  }
  if (header.walOffset === 0 && header.walSize !== 0) fail("invalid-header", "wal offset required if wal size exists", 48);
  if (isSnapshot(header)) {
    if (header.preApplyChecksum !== 0n) fail("invalid-header", "pre-apply checksum must be zero on snapshots", 40);
  } else if (!tracksChecksums(header)) {
    if (header.preApplyChecksum !== 0n) fail("invalid-header", "pre-apply checksum not allowed", 40);
  } else if (header.preApplyChecksum === 0n) {
    fail("invalid-header", "pre-apply checksum required on non-snapshot files", 40);
  } else if ((header.preApplyChecksum & CHECKSUM_FLAG) === 0n) {
    fail("invalid-header", "invalid pre-apply checksum format", 40);
  }
}
