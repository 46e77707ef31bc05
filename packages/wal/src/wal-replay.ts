/** Replays a WAL's committed transactions as page writes into a database (what a checkpoint does), pure or into a caller's sink. */
import { decodeDatabaseHeader } from "./database-header.js";
import { WalError } from "./errors.js";
import { bytesSource, driveAsync, driveSync, emit, type Input, type Program, type SyncInput } from "./source.js";
import { headerProgram, pageProgram, scanProgram, type WalScanEnd, type WalScanOptions } from "./wal-reader.js";

/** One page to write into the database while replaying a WAL. */
export interface WalReplayPage {
  readonly pgno: number;
  readonly data: Uint8Array;
  /** Index (from 0) of the committed transaction this page belongs to. */
  readonly transaction: number;
  /** Database size in pages after that transaction. */
  readonly commit: number;
}

/** How a replay ended. */
export interface WalReplayEnd extends WalScanEnd {
  /** Committed transactions replayed. */
  readonly transactions: number;
  /** Database size in pages after the last transaction (truncate to it); 0 when none. */
  readonly commit: number;
}

/** Options for replaying a WAL. */
export interface WalReplayOptions extends Omit<WalScanOptions, "maxBytes"> {
  /**
   * What to do when the input does not end with a verified commit frame: `error`
   * (default; right for concatenated Litestream segments, which end on a commit) throws
   * `WalError` code `incomplete` after the last good transaction's pages; `ignore`
   * stops there silently, as SQLite does with a live `-wal` file.
   */
  trailing?: "error" | "ignore" | undefined;
}

/**
 * Replays a WAL image natively: yields, transaction by transaction, the latest version
 * of every page each committed transaction wrote (ascending page numbers), after the
 * whole transaction verified. Write them in order, then truncate the database to
 * `commit` pages from the return value: that is what a SQLite checkpoint produces.
 */
export function replayWal(input: Input, options: WalReplayOptions = {}): AsyncGenerator<WalReplayPage, WalReplayEnd, undefined> {
  return driveAsync(input, (size) => replayProgram(size, options), options);
}

/** {@link replayWal}, synchronously. */
export function replayWalSync(input: SyncInput, options: WalReplayOptions = {}): Generator<WalReplayPage, WalReplayEnd, undefined> {
  return driveSync(input, (size) => replayProgram(size, options), options);
}

/**
 * Applies a WAL image to a database image in memory and returns the new image, exactly
 * as a full checkpoint would leave the file. `database` may be empty (a database that
 * only exists in the WAL so far). Meant for small databases and tests; stream with
 * {@link replayWal} for large ones.
 */
export function applyWal(database: Uint8Array, wal: Uint8Array, options: WalReplayOptions = {}): Uint8Array {
  const pages: WalReplayPage[] = [];
  const it = replayWalSync(bytesSource(wal), options);
  let step = it.next();
  for (; step.done !== true; step = it.next()) pages.push(step.value);
  const end = step.value;
  if (end.transactions === 0) return database.slice();
  const pageSize = end.header.pageSize;
  if (database.length > 0) {
    const dbPageSize = decodeDatabaseHeader(database, options.file).pageSize;
    if (dbPageSize !== pageSize) {
      throw new WalError("invalid-argument", `database page size ${dbPageSize} differs from WAL page size ${pageSize}`, { file: options.file });
    }
  }
  const out = new Uint8Array(end.commit * pageSize);
  out.set(database.subarray(0, out.length));
  for (const page of pages) {
    if (page.pgno <= end.commit) out.set(page.data, (page.pgno - 1) * pageSize);
  }
  return out;
}

function* replayProgram(size: number, options: WalReplayOptions): Program<WalReplayPage, WalReplayEnd> {
  const header = yield* headerProgram(options.file);
  const scan = scanProgram(size, { ...options, maxBytes: undefined }, header);
  let answer: Uint8Array | undefined;
  let transactions = 0;
  let commit = 0;
  for (;;) {
    const step = scan.next(answer);
    if (step.done === true) {
      const end = step.value;
      if ((options.trailing ?? "error") === "error" && (end.stop.reason !== "end-of-file" || end.pendingFrames > 0)) {
        const why = end.pendingFrames > 0 ? `${end.pendingFrames} frames after the last commit` : end.stop.reason;
        throw new WalError("incomplete", `WAL replay stopped before the end of the input (${why})`, {
          file: options.file,
          offset: end.stop.offset,
        });
      }
      return { ...end, transactions, commit };
    }
    const s = step.value;
    if (s.read) {
      answer = yield s;
      continue;
    }
    answer = undefined;
    const tx = s.value;
    for (const [pgno, frameOffset] of tx.pages) {
      const data = yield* pageProgram(size, frameOffset, header.pageSize, options.file);
      yield* emit<WalReplayPage>({ pgno, data, transaction: transactions, commit: tx.commit });
    }
    transactions++;
    commit = tx.commit;
  }
}
