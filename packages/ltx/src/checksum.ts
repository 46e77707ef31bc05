/** LTX checksums (spec §5): a page's CRC-64 with the flag bit, the XOR database checksum kept incrementally, and their text form. */
import { Crc64 } from "./crc64.js";

/**
 * Bit 63, forced on in every stored checksum so that a valid checksum is never 0
 * and 0 can mean "absent" (LTX spec §5.2).
 */
export const CHECKSUM_FLAG = 1n << 63n;

/** A database checksum of an empty database (commit 0). */
export const EMPTY_DATABASE_CHECKSUM = CHECKSUM_FLAG;

const pgnoPrefix = new Uint8Array(4);
const pgnoView = new DataView(pgnoPrefix.buffer);

/** `FLAG | CRC64(u32be(pgno) ‖ data)`: the checksum of one page (spec §5.3). */
export function pageChecksum(pgno: number, data: Uint8Array): bigint {
  pgnoView.setUint32(0, pgno);
  return CHECKSUM_FLAG | new Crc64().update(pgnoPrefix).update(data).digest();
}

/**
 * The page SQLite never uses: the one holding the PENDING_BYTE at offset 1 GiB.
 * LTX files never carry it and database checksums skip it.
 */
export function lockPgno(pageSize: number): number {
  return Math.floor(0x40000000 / pageSize) + 1;
}

/**
 * A database checksum kept up to date incrementally: the XOR of the page checksums
 * of pages 1…commit except the lock page, with the flag set. XOR makes it
 * order-independent, so replacing a page is "remove old, add new" (spec §5.4).
 */
export class DatabaseChecksum {
  private xor: bigint;

  /** Starts from an existing checksum (e.g. a file's pre-apply checksum), or empty. */
  constructor(initial: bigint = EMPTY_DATABASE_CHECKSUM) {
    this.xor = initial & ~CHECKSUM_FLAG;
  }

  /** Adds a page that was not part of the database. */
  add(pageSum: bigint): this {
    this.xor ^= pageSum;
    return this;
  }

  /** Removes a page that was part of the database (XOR is its own inverse). */
  remove(pageSum: bigint): this {
    this.xor ^= pageSum;
    return this;
  }

  /** Replaces a page's old checksum with its new one. */
  replace(oldPageSum: bigint, newPageSum: bigint): this {
    this.xor ^= oldPageSum ^ newPageSum;
    return this;
  }

  /** The checksum with the flag set, as stored in LTX headers and trailers. */
  get value(): bigint {
    return CHECKSUM_FLAG | (this.xor & ~CHECKSUM_FLAG);
  }
}

/**
 * The database checksum of a whole database image held in memory (pages beyond
 * `commit` and the lock page excluded). For files larger than memory use
 * `DatabaseChecksum` page by page.
 */
export function databaseChecksum(db: Uint8Array, pageSize: number, commit = Math.floor(db.length / pageSize)): bigint {
  const sum = new DatabaseChecksum();
  const lock = lockPgno(pageSize);
  for (let pgno = 1; pgno <= commit; pgno++) {
    if (pgno === lock) continue;
    const start = (pgno - 1) * pageSize;
    sum.add(pageChecksum(pgno, db.subarray(start, start + pageSize)));
  }
  return sum.value;
}

/** A checksum as 16 lowercase hex digits (the text form everywhere: names, JSON, logs). */
export function formatChecksum(checksum: bigint): string {
  return checksum.toString(16).padStart(16, "0");
}

/** Parses 16 hex digits (an optional `0x` is accepted); returns `undefined` if malformed. */
export function parseChecksum(text: string): bigint | undefined {
  const hex = text.startsWith("0x") ? text.slice(2) : text;
  if (!/^[0-9a-fA-F]{1,16}$/.test(hex)) return undefined;
  return BigInt(`0x${hex}`);
}
