/**
 * @sqlrep/wal — SQLite's own file formats, pure: the database header, the WAL (header,
 * frames, checksums in both byte orders, committed-transaction scanning, native
 * replay) and the rollback journal. No I/O: callers pass bytes or a `readAt`.
 */

/** Errors: one class, branch on `code`. */
export { WalError, isWalError, type WalErrorCode, type WalErrorOptions } from "./errors.js";

/** Byte sources: a whole image, or a caller's `readAt` with the file size. */
export { bytesSource, type ByteSource, type SyncByteSource, type Input, type SyncInput, type ReadOptions } from "./source.js";

/** The 100-byte database header and the lock page. */
export {
  DATABASE_HEADER_SIZE,
  DATABASE_MAGIC,
  PENDING_BYTE,
  decodeDatabaseHeader,
  databasePageCount,
  isValidPageSize,
  lockPageNumber,
  type DatabaseHeader,
  type JournalKind,
  type TextEncoding,
} from "./database-header.js";

/** SQLite's WAL checksum. */
export { walChecksum, type WalChecksum } from "./wal-checksum.js";

/** WAL header and frame layout, and an encoder for writing valid WALs. */
export {
  WAL_HEADER_SIZE,
  WAL_FRAME_HEADER_SIZE,
  WAL_MAGIC_LE,
  WAL_MAGIC_BE,
  WAL_FORMAT_VERSION,
  walFrameSize,
  decodeWalHeader,
  encodeWalHeader,
  decodeWalFrameHeader,
  WalEncoder,
  encodeWal,
  type WalHeader,
  type WalHeaderInit,
  type WalFrameHeader,
  type WalTransactionInit,
} from "./wal-format.js";

/** Reading committed transactions out of a WAL, from a saved position, with page offsets. */
export {
  walStartPosition,
  readWalHeader,
  readWalHeaderSync,
  walTransactions,
  walTransactionsSync,
  scanWal,
  scanWalSync,
  readWalPage,
  readWalPageSync,
  checkWalPosition,
  checkWalPositionSync,
  type WalPosition,
  type WalTransaction,
  type WalStopReason,
  type WalScanEnd,
  type WalScan,
  type WalScanOptions,
  type WalPositionInvalidReason,
  type WalPositionCheck,
} from "./wal-reader.js";

/** Replaying a WAL onto a database without SQLite. */
export { replayWal, replayWalSync, applyWal, type WalReplayPage, type WalReplayEnd, type WalReplayOptions } from "./wal-replay.js";

/** The rollback journal: headers, records, reader, encoder, native rollback. */
export {
  JOURNAL_MAGIC,
  JOURNAL_HEADER_FIELDS_SIZE,
  JOURNAL_RECORD_COUNT_TO_EOF,
  journalChecksum,
  decodeJournalHeader,
  encodeJournalHeader,
  encodeJournalRecord,
  encodeJournal,
  readJournal,
  readJournalSync,
  rollbackJournal,
  type JournalHeader,
  type JournalHeaderInit,
  type JournalRecord,
  type JournalStopReason,
  type JournalEnd,
  type JournalReadOptions,
  type JournalSegmentInit,
  type JournalInit,
} from "./journal.js";
