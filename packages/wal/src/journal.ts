/** SQLite's rollback journal (fileformat2 §3): decode and encode headers and records, read a hot journal, and roll a database back with it. */
import { decodeDatabaseHeader, isValidPageSize, lockPageNumber } from "./database-header.js";
import { WalError } from "./errors.js";
import { bytesSource, driveAsync, driveSync, emit, read, type Input, type Program, type ReadOptions, type SyncInput } from "./source.js";
import { concatBytes, u32 } from "./bytes.js";

/** The 8 bytes a valid rollback-journal header starts with. */
export const JOURNAL_MAGIC: Uint8Array = Uint8Array.of(0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7);
/** Bytes of header fields; the header itself occupies a whole sector. */
export const JOURNAL_HEADER_FIELDS_SIZE = 28;
/** Record count meaning "the records fill the rest of the file" (journals written without sync). */
export const JOURNAL_RECORD_COUNT_TO_EOF = 0xffffffff;

/** One rollback-journal header block (fileformat2 §3). */
export interface JournalHeader {
  /** Where in the journal this header starts (a multiple of the sector size). */
  readonly offset: number;
  /**
   * The stored record count of this segment: 0xFFFFFFFF means up to the end of the
   * file; 0 means none (in a hot journal, a segment whose count was never synced).
   */
  readonly recordCount: number;
  /** Seed of every record checksum in this segment. */
  readonly nonce: number;
  /** Database size in pages before the transaction: a rollback truncates to it. */
  readonly initialPages: number;
  /** The header is padded to this size; later headers start on a multiple of it. */
  readonly sectorSize: number;
  readonly pageSize: number;
}

/** The fields a writer chooses for one journal header. */
export interface JournalHeaderInit {
  readonly recordCount: number;
  readonly nonce: number;
  readonly initialPages: number;
  readonly pageSize: number;
  /** Default 512 (what SQLite's unix VFS uses with powersafe overwrite). */
  readonly sectorSize?: number;
}

/** A valid page record: the content the page had before the transaction. */
export interface JournalRecord {
  /** Offset of the record (its 4-byte page number) in the journal. */
  readonly offset: number;
  /** Index (from 0) of the header block the record follows. */
  readonly segment: number;
  readonly pgno: number;
  readonly data: Uint8Array;
  readonly checksum: number;
}

/** Why a journal reader stopped. Each is where SQLite's hot-journal rollback stops too. */
export type JournalStopReason =
  | "end-of-file" // no room for another header, or all records read
  | "no-header" // no magic where a header should be (at offset 0: nothing to roll back)
  | "partial-record" // the file ends inside a record
  | "invalid-page-number" // page number 0 or the lock page (also how a super-journal name starts)
  | "checksum-mismatch"; // a record's checksum does not verify (unsynced or torn data)

/** How reading a journal ended. */
export interface JournalEnd {
  /** The first header; `undefined` when the journal holds none (not hot). */
  readonly header: JournalHeader | undefined;
  /** Header blocks read. */
  readonly segments: number;
  /** Valid records yielded. */
  readonly records: number;
  /** Records past `initialPages`, which SQLite skips without checking their checksum. */
  readonly skipped: number;
  /**
   * The super-journal named at the end of the file (multi-database transactions). If it
   * is set and that file does not exist, the transaction committed and SQLite deletes
   * the journal instead of rolling back.
   */
  readonly superJournal: string | undefined;
  readonly stop: { readonly offset: number; readonly reason: JournalStopReason };
}

/** Options for reading a journal. */
export interface JournalReadOptions extends ReadOptions {
  /** The database's page size, used when the journal header stores 0 (very old writers). */
  pageSize?: number | undefined;
}

/** One segment to encode: a header followed by its records. */
export interface JournalSegmentInit {
  readonly records: readonly { readonly pgno: number; readonly data: Uint8Array }[];
  /** Default: a fresh pseudo-random value per segment, as SQLite does. */
  readonly nonce?: number;
  /** Stored record count; default the number of records. */
  readonly recordCount?: number;
}

/** A whole journal to encode. */
export interface JournalInit {
  readonly pageSize: number;
  readonly initialPages: number;
  /** Default 512. */
  readonly sectorSize?: number;
  readonly segments: readonly JournalSegmentInit[];
}

/** The record checksum as SQLite computes it: the nonce plus every 200th byte counted back from the page end (offset 0 excluded). */
export function journalChecksum(nonce: number, page: Uint8Array): number {
  let sum = nonce >>> 0;
  for (let i = page.length - 200; i > 0; i -= 200) sum = (sum + (page[i] ?? 0)) >>> 0;
  return sum;
}

/**
 * Decodes the header block at `offset` of `bytes`. Checks the magic, and the page and
 * sector sizes as SQLite does for the first header (the only one whose sizes it uses).
 */
export function decodeJournalHeader(bytes: Uint8Array, offset = 0, file?: string): JournalHeader {
  if (offset < 0 || bytes.length - offset < JOURNAL_HEADER_FIELDS_SIZE) {
    throw new WalError("truncated", `journal header needs ${JOURNAL_HEADER_FIELDS_SIZE} bytes`, { file, offset });
  }
  if (!hasMagic(bytes, offset)) throw new WalError("invalid-magic", "no rollback-journal magic", { file, offset });
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, JOURNAL_HEADER_FIELDS_SIZE);
  const header = {
    offset,
    recordCount: view.getUint32(8, false),
    nonce: view.getUint32(12, false),
    initialPages: view.getUint32(16, false),
    sectorSize: view.getUint32(20, false),
    pageSize: view.getUint32(24, false),
  };
  checkSizes(header.pageSize, header.sectorSize, file, offset);
  return header;
}

/** Encodes one header block, zero-padded to the sector size. */
export function encodeJournalHeader(init: JournalHeaderInit): Uint8Array {
  const sectorSize = init.sectorSize ?? 512;
  checkSizes(init.pageSize, sectorSize, undefined, undefined);
  const bytes = new Uint8Array(sectorSize);
  const view = new DataView(bytes.buffer);
  bytes.set(JOURNAL_MAGIC, 0);
  view.setUint32(8, u32(init.recordCount, "recordCount"), false);
  view.setUint32(12, u32(init.nonce, "nonce"), false);
  view.setUint32(16, u32(init.initialPages, "initialPages"), false);
  view.setUint32(20, sectorSize, false);
  view.setUint32(24, init.pageSize, false);
  return bytes;
}

/** Encodes one page record (page number, page, checksum). */
export function encodeJournalRecord(pgno: number, page: Uint8Array, nonce: number): Uint8Array {
  const bytes = new Uint8Array(page.length + 8);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, u32(pgno, "pgno"), false);
  bytes.set(page, 4);
  view.setUint32(page.length + 4, journalChecksum(nonce, page), false);
  return bytes;
}

/**
 * Encodes a whole hot journal: each segment's header on a sector boundary, then its
 * records. SQLite rolls back what it produces: `@sqlrep/follow` writes one before each
 * batch it applies in place; tests and tools use it too.
 */
export function encodeJournal(init: JournalInit): Uint8Array {
  const sectorSize = init.sectorSize ?? 512;
  const parts: Uint8Array[] = [];
  let length = 0;
  for (const segment of init.segments) {
    const padding = alignUp(length, sectorSize) - length;
    if (padding > 0) parts.push(new Uint8Array(padding));
    const nonce = segment.nonce ?? (Math.random() * 0x100000000) >>> 0;
    const header = encodeJournalHeader({
      recordCount: segment.recordCount ?? segment.records.length,
      nonce,
      initialPages: init.initialPages,
      pageSize: init.pageSize,
      sectorSize,
    });
    parts.push(header);
    length += padding + header.length;
    for (const { pgno, data } of segment.records) {
      if (data.length !== init.pageSize) throw new WalError("invalid-argument", `page ${pgno} is ${data.length} bytes, journal page size is ${init.pageSize}`);
      const record = encodeJournalRecord(pgno, data, nonce);
      parts.push(record);
      length += record.length;
    }
  }
  return concatBytes(parts);
}

/**
 * Yields the valid page records of a hot journal in file order, following every header
 * block, and stops where SQLite's rollback stops: a missing header, a bad page number,
 * a checksum that fails, or the end of the file. Records past the initial database
 * size are skipped (counted in `skipped`), as SQLite skips them.
 */
export function readJournal(input: Input, options: JournalReadOptions = {}): AsyncGenerator<JournalRecord, JournalEnd, undefined> {
  return driveAsync(input, (size) => journalProgram(size, options), options);
}

/** {@link readJournal}, synchronously. */
export function readJournalSync(input: SyncInput, options: JournalReadOptions = {}): Generator<JournalRecord, JournalEnd, undefined> {
  return driveSync(input, (size) => journalProgram(size, options), options);
}

/**
 * Rolls a database image back with a hot journal, in memory, as SQLite does on open:
 * truncate to the initial size, then write back every valid record in order. Returns
 * the database unchanged when the journal has no valid header. Ignores a super-journal
 * name (check `JournalEnd.superJournal` first when it can matter).
 */
export function rollbackJournal(database: Uint8Array, journal: Uint8Array, options: ReadOptions = {}): Uint8Array {
  // Only a fallback for journals that store page size 0: the rollback itself must not
  // depend on page 1, which is what a crash may have left half written.
  const pageSize = databasePageSizeOrUndefined(database);
  const records: JournalRecord[] = [];
  const it = readJournalSync(bytesSource(journal), { ...options, pageSize });
  let step = it.next();
  for (; step.done !== true; step = it.next()) records.push(step.value);
  const { header } = step.value;
  if (header === undefined) return database.slice();
  const journalPageSize = header.pageSize === 0 ? (pageSize ?? 0) : header.pageSize;
  const target = header.initialPages * journalPageSize;
  // SQLite truncates a longer file, and extends a shorter one by writing a zero last page.
  let length = database.length > target || database.length + journalPageSize <= target ? target : database.length;
  for (const r of records) length = Math.max(length, r.pgno * journalPageSize);
  const out = new Uint8Array(length);
  out.set(database.subarray(0, Math.min(database.length, length)));
  for (const r of records) out.set(r.data, (r.pgno - 1) * journalPageSize);
  return out;
}

function* journalProgram(size: number, options: JournalReadOptions): Program<JournalRecord, JournalEnd> {
  const { file } = options;
  let first: JournalHeader | undefined;
  let superJournal: string | undefined;
  let segments = 0;
  let records = 0;
  let skipped = 0;
  let offset = 0;
  const end = (reason: JournalStopReason, at: number): JournalEnd => ({
    header: first,
    segments,
    records,
    skipped,
    superJournal,
    stop: { offset: at, reason },
  });

  for (;;) {
    const headerOffset = first === undefined ? 0 : alignUp(offset, first.sectorSize);
    if (first !== undefined && headerOffset + first.sectorSize > size) return end("end-of-file", headerOffset);
    const fields = yield* read(headerOffset, JOURNAL_HEADER_FIELDS_SIZE);
    if (fields.length < JOURNAL_HEADER_FIELDS_SIZE) return end("end-of-file", headerOffset);
    if (!hasMagic(fields, 0)) return end("no-header", headerOffset);
    const view = new DataView(fields.buffer, fields.byteOffset, JOURNAL_HEADER_FIELDS_SIZE);
    let recordCount = view.getUint32(8, false);
    const nonce = view.getUint32(12, false);
    if (first === undefined) {
      let pageSize = view.getUint32(24, false);
      if (pageSize === 0 && options.pageSize !== undefined) pageSize = options.pageSize;
      const sectorSize = view.getUint32(20, false);
      checkSizes(pageSize, sectorSize, file, 0);
      if (sectorSize > size) return end("end-of-file", 0);
      first = { offset: 0, recordCount, nonce, initialPages: view.getUint32(16, false), sectorSize, pageSize };
      superJournal = yield* superJournalProgram(size);
    }
    segments++;
    const { pageSize, initialPages, sectorSize } = first;
    const recordSize = pageSize + 8;
    const lockPage = lockPageNumber(pageSize);
    offset = headerOffset + sectorSize;
    if (recordCount === JOURNAL_RECORD_COUNT_TO_EOF) recordCount = Math.floor((size - offset) / recordSize);
    for (let i = 0; i < recordCount; i++) {
      const record = yield* read(offset, recordSize);
      if (record.length < pageSize + 4) return end(offset === size ? "end-of-file" : "partial-record", offset);
      const rv = new DataView(record.buffer, record.byteOffset, record.byteLength);
      const pgno = rv.getUint32(0, false);
      if (pgno === 0 || pgno === lockPage) return end("invalid-page-number", offset);
      const at = offset;
      offset += recordSize;
      if (pgno > initialPages) {
        skipped++;
        continue;
      }
      if (record.length < recordSize) return end("partial-record", at);
      const data = record.subarray(4, 4 + pageSize);
      const checksum = rv.getUint32(4 + pageSize, false);
      if (journalChecksum(nonce, data) !== checksum) return end("checksum-mismatch", at);
      records++;
      yield* emit<JournalRecord>({ offset: at, segment: segments - 1, pgno, data, checksum });
    }
  }
}

// The trailer SQLite appends for multi-database commits:
// [lock page number][name][name length][name checksum][magic], integers big-endian.
function* superJournalProgram(size: number): Program<never, string | undefined> {
  const maxName = 512; // unix VFS pathname limit: SQLite ignores longer names
  if (size < 16) return undefined;
  const tail = yield* read(size - 16, 16);
  if (tail.length < 16 || !hasMagic(tail, 8)) return undefined;
  const view = new DataView(tail.buffer, tail.byteOffset, 16);
  const length = view.getUint32(0, false);
  if (length === 0 || length > maxName || length > size - 16) return undefined;
  const name = yield* read(size - 16 - length, length);
  if (name.length < length) return undefined;
  let sum = view.getUint32(4, false);
  // SQLite sums the name as C `char`, which is signed on the platforms it ships on.
  for (const byte of name) sum = (sum - (byte >= 0x80 ? byte - 0x100 : byte)) >>> 0;
  if (sum !== 0) return undefined;
  const end = name.indexOf(0);
  return new TextDecoder().decode(end < 0 ? name : name.subarray(0, end));
}

function databasePageSizeOrUndefined(database: Uint8Array): number | undefined {
  try {
    return decodeDatabaseHeader(database).pageSize;
  } catch {
    return undefined;
  }
}

function checkSizes(pageSize: number, sectorSize: number, file: string | undefined, offset: number | undefined): void {
  if (!isValidPageSize(pageSize)) {
    throw new WalError("invalid-header", `journal page size ${pageSize} is not a power of two in 512…65536`, { file, offset });
  }
  if (sectorSize < 32 || sectorSize > 0x10000 || (sectorSize & (sectorSize - 1)) !== 0) {
    throw new WalError("invalid-header", `journal sector size ${sectorSize} is not a power of two in 32…65536`, { file, offset });
  }
}

function hasMagic(bytes: Uint8Array, offset: number): boolean {
  for (let i = 0; i < JOURNAL_MAGIC.length; i++) if (bytes[offset + i] !== JOURNAL_MAGIC[i]) return false;
  return true;
}

function alignUp(offset: number, sectorSize: number): number {
  return Math.ceil(offset / sectorSize) * sectorSize;
}
