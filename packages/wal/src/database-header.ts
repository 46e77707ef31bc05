/** The 100-byte SQLite database header (fileformat2 §1.3): decode and validate it, page count, the pending-byte lock page. */
import { WalError } from "./errors.js";

/** Size of the database header at the start of page 1. */
export const DATABASE_HEADER_SIZE = 100;

/** The 16 bytes every SQLite 3 database starts with: "SQLite format 3\0". */
export const DATABASE_MAGIC: Uint8Array = new TextEncoder().encode("SQLite format 3\0");

/** Byte offset of the pending-byte lock range; the page holding it is never used. */
export const PENDING_BYTE = 0x40000000;

/** How the database expects to be written: rollback journal (1) or WAL (2). */
export type JournalKind = "rollback" | "wal" | "unknown";

/** Text encoding of the database (offset 56); 0 only in a database with no schema yet. */
export type TextEncoding = "utf-8" | "utf-16le" | "utf-16be" | "unset";

/** The 100-byte database header, decoded (fileformat2 §1.3). */
export interface DatabaseHeader {
  /** In bytes; the stored value 1 means 65536. */
  readonly pageSize: number;
  /** File format write version: 1 = rollback journal, 2 = WAL. */
  readonly writeVersion: number;
  /** File format read version: 1 = rollback journal, 2 = WAL. */
  readonly readVersion: number;
  /** From the read version (what SQLite uses to decide whether to open a WAL). */
  readonly journal: JournalKind;
  /** Bytes reserved at the end of every page (for extensions such as encryption). */
  readonly reservedSpace: number;
  /** Page size minus reserved space. */
  readonly usableSize: number;
  readonly maxPayloadFraction: number;
  readonly minPayloadFraction: number;
  readonly leafPayloadFraction: number;
  /** Incremented by every rollback-mode commit (and by WAL commits that write page 1). */
  readonly changeCounter: number;
  /** The in-header database size in pages; see {@link databasePageCount} for when it is trusted. */
  readonly pageCount: number;
  readonly firstFreelistTrunk: number;
  readonly freelistPages: number;
  readonly schemaCookie: number;
  /** Schema format number, 1…4 (0 in a database with no schema yet). */
  readonly schemaFormat: number;
  /** Suggested cache size (signed, as stored). */
  readonly defaultCacheSize: number;
  /** Largest root b-tree page in auto/incremental vacuum mode, else 0. */
  readonly largestRootPage: number;
  readonly textEncoding: TextEncoding;
  /** `PRAGMA user_version` (signed). */
  readonly userVersion: number;
  /** Non-zero when incremental vacuum is on. */
  readonly incrementalVacuum: number;
  /** `PRAGMA application_id` (signed). */
  readonly applicationId: number;
  /** The change counter value for which {@link pageCount} is valid. */
  readonly versionValidFor: number;
  /** SQLITE_VERSION_NUMBER of the library that last wrote the file (e.g. 3040001). */
  readonly sqliteVersion: number;
}

/**
 * Decodes the first 100 bytes of a database file. Throws `WalError` for what SQLite
 * itself refuses to open: a wrong magic, a bad page size, payload fractions other than
 * 64/32/32, or fewer than 480 usable bytes per page.
 */
export function decodeDatabaseHeader(bytes: Uint8Array, file?: string): DatabaseHeader {
  if (bytes.length < DATABASE_HEADER_SIZE) {
    throw new WalError("truncated", `database header needs ${DATABASE_HEADER_SIZE} bytes, got ${bytes.length}`, { file, offset: 0 });
  }
  for (let i = 0; i < DATABASE_MAGIC.length; i++) {
    if (bytes[i] !== DATABASE_MAGIC[i]) throw new WalError("invalid-magic", "not a SQLite 3 database", { file, offset: 0 });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, DATABASE_HEADER_SIZE);
  const u8 = (at: number): number => view.getUint8(at);
  const u32 = (at: number): number => view.getUint32(at, false);
  const i32 = (at: number): number => view.getInt32(at, false);

  const stored = view.getUint16(16, false);
  const pageSize = stored === 1 ? 65536 : stored;
  if (!isValidPageSize(pageSize)) {
    throw new WalError("invalid-page-size", `database page size field ${stored} is invalid`, { file, offset: 16 });
  }
  const reservedSpace = u8(20);
  const usableSize = pageSize - reservedSpace;
  if (usableSize < 480) {
    throw new WalError("invalid-header", `usable page size ${usableSize} is below 480`, { file, offset: 20 });
  }
  if (u8(21) !== 64 || u8(22) !== 32 || u8(23) !== 32) {
    throw new WalError("invalid-header", `payload fractions ${u8(21)}/${u8(22)}/${u8(23)} are not 64/32/32`, { file, offset: 21 });
  }
  const readVersion = u8(19);
  return {
    pageSize,
    writeVersion: u8(18),
    readVersion,
    journal: readVersion === 1 ? "rollback" : readVersion === 2 ? "wal" : "unknown",
    reservedSpace,
    usableSize,
    maxPayloadFraction: u8(21),
    minPayloadFraction: u8(22),
    leafPayloadFraction: u8(23),
    changeCounter: u32(24),
    pageCount: u32(28),
    firstFreelistTrunk: u32(32),
    freelistPages: u32(36),
    schemaCookie: u32(40),
    schemaFormat: u32(44),
    defaultCacheSize: i32(48),
    largestRootPage: u32(52),
    textEncoding: textEncoding(u32(56)),
    userVersion: i32(60),
    incrementalVacuum: u32(64),
    applicationId: i32(68),
    versionValidFor: u32(92),
    sqliteVersion: u32(96),
  };

  function textEncoding(value: number): TextEncoding {
    switch (value) {
      case 0:
        return "unset";
      case 1:
        return "utf-8";
      case 2:
        return "utf-16le";
      case 3:
        return "utf-16be";
      default:
        throw new WalError("invalid-header", `text encoding ${value} is not 1, 2 or 3`, { file, offset: 56 });
    }
  }
}

/**
 * The database size in pages as SQLite determines it: the in-header size when it is
 * non-zero and the change counter equals version-valid-for (written by SQLite ≥ 3.7.0),
 * otherwise the file size divided by the page size.
 */
export function databasePageCount(header: DatabaseHeader, fileSize: number): number {
  if (header.pageCount !== 0 && header.changeCounter === header.versionValidFor) return header.pageCount;
  return Math.ceil(fileSize / header.pageSize);
}

/** True for a power of two in 512…65536, the page sizes SQLite supports. */
export function isValidPageSize(pageSize: number): boolean {
  return Number.isInteger(pageSize) && pageSize >= 512 && pageSize <= 65536 && (pageSize & (pageSize - 1)) === 0;
}

/** The page that holds byte 0x40000000 (the lock page); SQLite never stores data in it. */
export function lockPageNumber(pageSize: number): number {
  if (!isValidPageSize(pageSize)) throw new WalError("invalid-page-size", `page size ${pageSize} is not a power of two in 512…65536`);
  return PENDING_BYTE / pageSize + 1;
}
