/** Following a live WAL: where a cursor stands after checkpoints and resets, the next batch of committed frames, and reading the pages of one state. */
import { lockPgno } from "@sqlrep/ltx";
import {
  WAL_HEADER_SIZE,
  checkWalPositionSync,
  databasePageCount,
  decodeDatabaseHeader,
  decodeWalHeader,
  readWalPageSync,
  walStartPosition,
  walTransactionsSync,
  type WalHeader,
  type WalPosition,
  type WalStopReason,
} from "@sqlrep/wal";
import { BackupError } from "./errors.js";
import type { FileSource } from "./file-source.js";

/**
 * Where a replica stream is in the WAL: right after a commit of a known WAL (`at`), or
 * at the start of the next WAL, whose header has not been written yet (`next`, after a
 * TRUNCATE or before the first write). `after` is the header the next one must succeed.
 */
export type WalCursor = { readonly kind: "at"; readonly header: WalHeader; readonly position: WalPosition } | { readonly kind: "next"; readonly after: WalHeader | undefined };

/** What `locateCursor` found. */
export type CursorLocation =
  | { readonly kind: "ready"; readonly header: WalHeader; readonly from: WalPosition; readonly reset: boolean }
  | { readonly kind: "empty"; readonly cursor: WalCursor } // no WAL header yet: nothing to read
  | { readonly kind: "busy"; readonly reason: string } // a header being rewritten: try again shortly
  | { readonly kind: "lost"; readonly reason: string }; // frames may be gone: a snapshot is needed

/**
 * True when `next` can be the WAL that replaced `prev`: same page size, new salts.
 * Whether exactly one reset happened cannot be read from the header: SQLite increments
 * salt 1 and the checkpoint sequence from the resetting connection's own copy, and a
 * writer in another process that never read the old header writes a sequence of 0 and
 * random salts. That only one reset can have happened follows from how the read
 * transaction is handed off (README, "Why a reset loses nothing").
 */
export function isNextWal(prev: WalHeader, next: WalHeader): boolean {
  return next.pageSize === prev.pageSize && (next.salt1 !== prev.salt1 || next.salt2 !== prev.salt2);
}

/** Reads the WAL header, or `undefined` when the file has none yet; throws on a torn or foreign header. */
export function readHeader(wal: FileSource): WalHeader | undefined {
  const bytes = wal.readAt(0, WAL_HEADER_SIZE);
  if (bytes.length < WAL_HEADER_SIZE) return undefined;
  return decodeWalHeader(bytes, wal.path);
}

/**
 * Finds where a stream continues. A WAL reset (new salts, or a truncated file) is
 * followed to the start of the new WAL only when `trustResets` (every frame the reset
 * could have discarded was already uploaded: see the README, "Why a reset loses
 * nothing"); anything else is `lost`.
 */
export function locateCursor(wal: FileSource, cursor: WalCursor, trustResets: boolean): CursorLocation {
  wal.refresh();
  let header: WalHeader | undefined;
  try {
    header = readHeader(wal);
  } catch (err) {
    return { kind: "busy", reason: `WAL header unreadable: ${(err as Error).message}` };
  }
  if (cursor.kind === "next") {
    if (header === undefined) return { kind: "empty", cursor };
    if (cursor.after !== undefined && !isNextWal(cursor.after, header)) {
      return { kind: "lost", reason: "the new WAL does not follow the old one (page size or salts)" };
    }
    return { kind: "ready", header, from: walStartPosition(header), reset: cursor.after !== undefined };
  }
  if (header === undefined) {
    if (!trustResets) return { kind: "lost", reason: "the WAL was truncated before its frames were uploaded" };
    return { kind: "empty", cursor: { kind: "next", after: cursor.header } };
  }
  const check = checkWalPositionSync(wal, cursor.position, { file: wal.path });
  if (check.valid) return { kind: "ready", header, from: cursor.position, reset: false };
  if (check.reason === "invalid-header") return { kind: "busy", reason: "WAL header unreadable" };
  // The header and the frames are separate reads: a reset between them shows as a
  // frame that does not fit an unchanged header. Read the header again to tell.
  let again: WalHeader | undefined;
  try {
    again = readHeader(wal);
  } catch {
    return { kind: "busy", reason: "WAL header unreadable" };
  }
  if (again === undefined) {
    if (!trustResets) return { kind: "lost", reason: "the WAL was truncated before its frames were uploaded" };
    return { kind: "empty", cursor: { kind: "next", after: cursor.header } };
  }
  header = again;
  const sameSalts = header.salt1 === cursor.position.salt1 && header.salt2 === cursor.position.salt2;
  if (sameSalts) {
    return { kind: "lost", reason: `the WAL at offset ${cursor.position.offset} no longer holds the last uploaded commit (${check.reason})` };
  }
  if (!trustResets) return { kind: "lost", reason: "the WAL was reset before its frames were uploaded" };
  if (!isNextWal(cursor.header, header)) {
    return { kind: "lost", reason: "the new WAL does not follow the old one (page size)" };
  }
  return { kind: "ready", header, from: walStartPosition(header), reset: true };
}

/** Committed transactions after a position, merged into one batch (newest frame of each page). */
export interface WalBatch {
  readonly header: WalHeader;
  readonly from: WalPosition;
  /** After the last transaction (equals `from` when there was none). */
  readonly end: WalPosition;
  readonly transactions: number;
  /** Database size in pages after the batch. */
  readonly commit: number;
  /** Page number → offset of its newest frame in the batch, ascending page order. */
  readonly pages: ReadonlyMap<number, number>;
  /** Why the scan stopped; `max-bytes` means more is waiting. */
  readonly stop: WalStopReason;
}

/** Scans committed transactions after `from`, at most `maxBytes` of frames (a transaction is never split). */
export function scanBatch(wal: FileSource, header: WalHeader, from: WalPosition, maxBytes: number): WalBatch {
  const it = walTransactionsSync(wal.scanner(), { from, maxBytes, file: wal.path });
  const pages = new Map<number, number>();
  let transactions = 0;
  let commit = 0;
  for (;;) {
    const step = it.next();
    if (step.done === true) {
      const sorted = new Map([...pages].sort((a, b) => a[0] - b[0]));
      return { header, from, end: step.value.position, transactions, commit, pages: sorted, stop: step.value.stop.reason };
    }
    const tx = step.value;
    // Pages past the final commit are left out when the file is written. A page written
    // before a shrink and inside the final size again keeps its frame: SQLite reads it too.
    for (const [pgno, offset] of tx.pages) pages.set(pgno, offset);
    commit = tx.commit;
    transactions++;
  }
}

/** Frame offsets of the newest frame of each page in the WAL up to `until` (for snapshots and rare page look-ups). */
export function walPageMap(wal: FileSource, until: WalPosition): { pages: Map<number, number>; commit: number | undefined } {
  const pages = new Map<number, number>();
  let commit: number | undefined;
  if (until.offset <= WAL_HEADER_SIZE) return { pages, commit };
  const it = walTransactionsSync(wal.scanner(), { maxBytes: until.offset - WAL_HEADER_SIZE, file: wal.path });
  for (;;) {
    const step = it.next();
    if (step.done === true) {
      const { header } = step.value;
      if (step.value.position.offset !== until.offset || header.salt1 !== until.salt1 || header.salt2 !== until.salt2) {
        throw new BackupError("sync", `the WAL no longer reaches offset ${until.offset} (scan ended at ${step.value.position.offset}: ${step.value.stop.reason})`, {
          retryable: true,
        });
      }
      return { pages, commit };
    }
    for (const [pgno, offset] of step.value.pages) pages.set(pgno, offset);
    commit = step.value.commit;
  }
}

/** The page count of the database file itself (0 when it is empty). */
export function databaseFilePages(db: FileSource): number {
  const size = db.size;
  if (size < 100) return 0;
  return databasePageCount(decodeDatabaseHeader(db.readAt(0, 100), db.path), size);
}

/** Bytes of the database file read at once when every page is wanted in order (snapshots). */
const SEQUENTIAL_READ_BYTES = 1 << 20;

/** Reads pages of one database state: the newest WAL frame of a page if it has one, else the database file (zeros past its end). */
export class StateReader {
  constructor(
    private readonly wal: FileSource,
    private readonly db: FileSource,
    private readonly pageSize: number,
    private readonly frames: ReadonlyMap<number, number>,
  ) {}

  page(pgno: number): Uint8Array {
    const frame = this.frames.get(pgno);
    if (frame !== undefined) return this.walPage(frame);
    return this.db.readZeroFilled((pgno - 1) * this.pageSize, this.pageSize);
  }

  /**
   * Pages 1…`commit` in order, the lock page left out. The database file is read in
   * 1 MiB chunks into one reused buffer (a read per page cost more than the rest of a
   * snapshot's reading), so each page must be used before the next one is asked for.
   */
  *inOrder(commit: number): Generator<{ pgno: number; data: Uint8Array }> {
    const { pageSize } = this;
    const lock = lockPgno(pageSize);
    const file = this.db.scanner();
    const perChunk = Math.max(1, Math.floor(SEQUENTIAL_READ_BYTES / pageSize));
    for (let first = 1; first <= commit; first += perChunk) {
      const count = Math.min(perChunk, commit - first + 1);
      // Read on first use: a run of pages that all come from the WAL needs no file read.
      let chunk: Uint8Array | undefined;
      for (let pgno = first; pgno < first + count; pgno++) {
        if (pgno === lock) continue;
        const frame = this.frames.get(pgno);
        if (frame !== undefined) {
          yield { pgno, data: this.walPage(frame) };
          continue;
        }
        chunk ??= file.readAt((first - 1) * pageSize, count * pageSize);
        const at = (pgno - first) * pageSize;
        let data = chunk.subarray(at, at + pageSize);
        if (data.length < pageSize) {
          data = new Uint8Array(pageSize); // past the end of the file
          data.set(chunk.subarray(at));
        }
        yield { pgno, data };
      }
    }
  }

  private walPage(frame: number): Uint8Array {
    return readWalPageSync(this.wal, frame, this.pageSize, { file: this.wal.path });
  }
}
