/** Finds the committed transactions in a WAL as SQLite's recovery does (checksum chain, salts, commit frames) and checks saved resume positions. */
import { isValidPageSize } from "./database-header.js";
import { WalError } from "./errors.js";
import { driveAsync, driveSync, emit, read, runAsync, runSync, type Input, type Program, type ReadOptions, type SyncInput } from "./source.js";
import { checksumRange } from "./wal-checksum.js";
import { decodeWalHeader, WAL_FRAME_HEADER_SIZE, WAL_HEADER_SIZE, walFrameSize, type WalHeader } from "./wal-format.js";

/**
 * A place in a WAL right after a commit frame (or right after the header), with what
 * is needed to continue verifying from there: the running checksum and the salts.
 */
export interface WalPosition {
  /** Byte offset of the next frame. */
  readonly offset: number;
  readonly salt1: number;
  readonly salt2: number;
  /** Running checksum after the frame that ends here (the header checksum at offset 32). */
  readonly checksum1: number;
  readonly checksum2: number;
}

/** A committed transaction found in the WAL. No page data is held, only where it is. */
export interface WalTransaction {
  /** Offset of the first frame. */
  readonly start: number;
  /** Offset just past the commit frame. */
  readonly end: number;
  readonly frameCount: number;
  /** Database size in pages after this transaction. */
  readonly commit: number;
  /**
   * Page number → offset of the latest frame (its 24-byte header) holding that page in
   * this transaction, in ascending page-number order. Read the data with `readWalPage`.
   */
  readonly pages: ReadonlyMap<number, number>;
  /** The position right after this transaction; save it to continue from here. */
  readonly position: WalPosition;
}

/** Why a scan stopped. All but `max-bytes` are where SQLite's recovery would stop too. */
export type WalStopReason =
  | "end-of-file" // no bytes left
  | "partial-frame" // fewer bytes left than a frame (a torn write)
  | "salt-mismatch" // a frame from before the last WAL reset
  | "invalid-page-number" // page number 0
  | "checksum-mismatch" // the running checksum does not verify
  | "max-bytes"; // the caller's bound was reached

/** How a scan ended. */
export interface WalScanEnd {
  /** The header read at the start of the scan. */
  readonly header: WalHeader;
  /** After the last transaction yielded (the starting position if none was). */
  readonly position: WalPosition;
  /** The offset of the frame that stopped the scan, and why. */
  readonly stop: { readonly offset: number; readonly reason: WalStopReason };
  /** Valid frames after the last transaction yielded that no commit frame closed (yet). */
  readonly pendingFrames: number;
}

/** A scan collected into one result. */
export interface WalScan extends WalScanEnd {
  readonly transactions: readonly WalTransaction[];
}

/** Options for scanning committed transactions. */
export interface WalScanOptions extends ReadOptions {
  /** Continue after this position (from `WalTransaction.position`); default: the start of the WAL. */
  from?: WalPosition | undefined;
  /**
   * Stop before the transaction that would take the bytes covered past this bound. A
   * transaction is never split: the first one is yielded whole however large it is.
   */
  maxBytes?: number | undefined;
  /** Bytes asked of `readAt` at a time, rounded down to whole frames (default 1 MiB). */
  readSize?: number | undefined;
}

/** Why a saved position no longer fits the file. */
export type WalPositionInvalidReason =
  | "no-header" // the file is shorter than a WAL header (e.g. truncated by a TRUNCATE checkpoint)
  | "invalid-header" // the header does not decode or verify
  | "salt-mismatch" // the WAL was reset since the position was saved (or the frame there is from another generation)
  | "truncated" // the file ends before the position
  | "misaligned" // the offset is not on a frame boundary
  | "not-a-commit" // the frame ending there is not a valid commit frame
  | "checksum-mismatch"; // that frame was overwritten

/** The answer of {@link checkWalPosition}. */
export type WalPositionCheck =
  | { readonly valid: true; readonly header: WalHeader }
  | { readonly valid: false; readonly reason: WalPositionInvalidReason; readonly header: WalHeader | undefined };

const DEFAULT_READ_SIZE = 1 << 20;

/** The position right after the header: where a scan of the whole WAL starts. */
export function walStartPosition(header: WalHeader): WalPosition {
  return { offset: WAL_HEADER_SIZE, salt1: header.salt1, salt2: header.salt2, checksum1: header.checksum1, checksum2: header.checksum2 };
}

/** Reads and verifies the WAL header. */
export function readWalHeader(input: Input, options: ReadOptions = {}): Promise<WalHeader> {
  return runAsync(input, () => headerProgram(options.file), options);
}

/** Reads and verifies the WAL header, synchronously. */
export function readWalHeaderSync(input: SyncInput, options: ReadOptions = {}): WalHeader {
  return runSync(input, () => headerProgram(options.file), options);
}

/**
 * Yields the committed transactions after `options.from`, stopping where SQLite's
 * recovery would (a stale salt, a broken checksum, a torn frame). Frames after the
 * last commit are never yielded. The generator's return value says where and why it
 * stopped. Throws `WalError` code `stale-position` when `from` no longer fits the file.
 */
export function walTransactions(input: Input, options: WalScanOptions = {}): AsyncGenerator<WalTransaction, WalScanEnd, undefined> {
  return driveAsync(input, (size) => scanProgram(size, options), options);
}

/** {@link walTransactions}, synchronously. */
export function walTransactionsSync(input: SyncInput, options: WalScanOptions = {}): Generator<WalTransaction, WalScanEnd, undefined> {
  return driveSync(input, (size) => scanProgram(size, options), options);
}

/** {@link walTransactions} collected into one result (use `maxBytes` to bound it). */
export async function scanWal(input: Input, options: WalScanOptions = {}): Promise<WalScan> {
  const transactions: WalTransaction[] = [];
  const it = walTransactions(input, options);
  for (let step = await it.next(); ; step = await it.next()) {
    if (step.done === true) return { ...step.value, transactions };
    transactions.push(step.value);
  }
}

/** {@link scanWal}, synchronously. */
export function scanWalSync(input: SyncInput, options: WalScanOptions = {}): WalScan {
  const transactions: WalTransaction[] = [];
  const it = walTransactionsSync(input, options);
  for (let step = it.next(); ; step = it.next()) {
    if (step.done === true) return { ...step.value, transactions };
    transactions.push(step.value);
  }
}

/** Reads the page stored in the frame at `frameOffset` (a value from `WalTransaction.pages`). */
export function readWalPage(input: Input, frameOffset: number, pageSize: number, options: ReadOptions = {}): Promise<Uint8Array> {
  return runAsync(input, (size) => pageProgram(size, frameOffset, pageSize, options.file), options);
}

/** {@link readWalPage}, synchronously. */
export function readWalPageSync(input: SyncInput, frameOffset: number, pageSize: number, options: ReadOptions = {}): Uint8Array {
  return runSync(input, (size) => pageProgram(size, frameOffset, pageSize, options.file), options);
}

/**
 * Tells whether a saved position still fits the current file: same salts as the
 * header, and the commit frame ending there still verifies. When it does not, the WAL
 * was reset or overwritten since, and a scan must restart at the header.
 */
export function checkWalPosition(input: Input, position: WalPosition, options: ReadOptions = {}): Promise<WalPositionCheck> {
  return runAsync(input, (size) => checkProgram(size, position, options.file), options);
}

/** {@link checkWalPosition}, synchronously. */
export function checkWalPositionSync(input: SyncInput, position: WalPosition, options: ReadOptions = {}): WalPositionCheck {
  return runSync(input, (size) => checkProgram(size, position, options.file), options);
}

/** The header-reading logic, for composition by other programs. */
export function* headerProgram(file: string | undefined): Program<never, WalHeader> {
  return decodeWalHeader(yield* read(0, WAL_HEADER_SIZE), file);
}

/** The page-reading logic, for composition by other programs. */
export function* pageProgram(size: number, frameOffset: number, pageSize: number, file: string | undefined): Program<never, Uint8Array> {
  checkOffset(frameOffset, "frameOffset");
  if (!isValidPageSize(pageSize)) throw new WalError("invalid-page-size", `page size ${pageSize} is not a power of two in 512…65536`);
  const at = frameOffset + WAL_FRAME_HEADER_SIZE;
  if (at + pageSize > size) throw new WalError("truncated", `no whole page in the frame at ${frameOffset}`, { file, offset: frameOffset });
  const page = yield* read(at, pageSize);
  if (page.length < pageSize) throw new WalError("truncated", `short read of the page in the frame at ${frameOffset}`, { file, offset: frameOffset });
  return page;
}

function* checkProgram(size: number, position: WalPosition, file: string | undefined): Program<never, WalPositionCheck> {
  checkPosition(position);
  const bytes = yield* read(0, WAL_HEADER_SIZE);
  if (bytes.length < WAL_HEADER_SIZE) return { valid: false, reason: "no-header", header: undefined };
  let header: WalHeader;
  try {
    header = decodeWalHeader(bytes, file);
  } catch {
    return { valid: false, reason: "invalid-header", header: undefined };
  }
  const reason = yield* verifyPosition(size, header, position);
  return reason === undefined ? { valid: true, header } : { valid: false, reason, header };
}

// Recomputes the checksum of the commit frame that ends at `position`, seeded from the
// frame before it (whose stored checksum is the running checksum if it is valid).
function* verifyPosition(size: number, header: WalHeader, position: WalPosition): Program<never, WalPositionInvalidReason | undefined> {
  if (position.salt1 !== header.salt1 || position.salt2 !== header.salt2) return "salt-mismatch";
  const frameSize = walFrameSize(header.pageSize);
  const frames = (position.offset - WAL_HEADER_SIZE) / frameSize;
  if (!Number.isInteger(frames) || frames < 0) return "misaligned";
  if (frames === 0) {
    return position.checksum1 === header.checksum1 && position.checksum2 === header.checksum2 ? undefined : "checksum-mismatch";
  }
  if (position.offset > size) return "truncated";
  const start = frames === 1 ? position.offset - frameSize : position.offset - 2 * frameSize;
  const bytes = yield* read(start, position.offset - start);
  if (bytes.length < position.offset - start) return "truncated";
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const last = bytes.length - frameSize;
  let seed: [number, number] = [header.checksum1, header.checksum2];
  if (frames > 1) {
    if (!saltsMatch(view, 0, header)) return "checksum-mismatch";
    seed = [view.getUint32(16, false), view.getUint32(20, false)];
  }
  if (!saltsMatch(view, last, header)) return "salt-mismatch";
  if (view.getUint32(last, false) === 0 || view.getUint32(last + 4, false) === 0) return "not-a-commit";
  const sum = frameChecksum(view, last, frameSize, header.bigEndian, seed);
  const s1 = view.getUint32(last + 16, false);
  const s2 = view.getUint32(last + 20, false);
  if (sum[0] !== s1 || sum[1] !== s2 || s1 !== position.checksum1 || s2 !== position.checksum2) return "checksum-mismatch";
  return undefined;
}

/** The scanning logic, for composition by other programs; reads the header unless given. */
export function* scanProgram(size: number, options: WalScanOptions, knownHeader?: WalHeader): Program<WalTransaction, WalScanEnd> {
  const { file } = options;
  const readSize = options.readSize ?? DEFAULT_READ_SIZE;
  if (!Number.isSafeInteger(readSize) || readSize <= 0) throw new WalError("invalid-argument", `readSize must be a positive integer, got ${readSize}`);
  const maxBytes = options.maxBytes ?? Infinity;
  if (!(maxBytes > 0)) throw new WalError("invalid-argument", `maxBytes must be positive, got ${maxBytes}`);

  const header = knownHeader ?? (yield* headerProgram(file));
  let from = walStartPosition(header);
  if (options.from !== undefined) {
    checkPosition(options.from);
    const reason = yield* verifyPosition(size, header, options.from);
    if (reason !== undefined) {
      throw new WalError("stale-position", `saved WAL position ${options.from.offset} no longer fits the file (${reason})`, {
        file,
        offset: options.from.offset,
      });
    }
    from = options.from;
  }

  const { pageSize, bigEndian, salt1, salt2 } = header;
  const frameSize = walFrameSize(pageSize);
  const chunkFrames = Math.max(1, Math.floor(readSize / frameSize));
  const limit = from.offset + maxBytes;
  let checksum: [number, number] = [from.checksum1, from.checksum2];
  let offset = from.offset;
  let buffer: Uint8Array = new Uint8Array(0);
  let view = new DataView(buffer.buffer);
  let bufferStart = offset;
  let txStart = offset;
  let pages = new Map<number, number>();
  let ordered = true;
  let maxPgno = 0;
  let frames = 0;
  let position = from;
  let yielded = 0;
  let reason: WalStopReason;

  for (;;) {
    if (offset + frameSize > size) {
      reason = offset >= size ? "end-of-file" : "partial-frame";
      break;
    }
    if (yielded > 0 && offset + frameSize > limit) {
      reason = "max-bytes";
      break;
    }
    if (offset + frameSize > bufferStart + buffer.length) {
      let n = Math.min(chunkFrames, Math.floor((size - offset) / frameSize));
      if (limit !== Infinity) n = Math.max(1, Math.min(n, Math.floor((limit - offset) / frameSize)));
      buffer = yield* read(offset, n * frameSize);
      view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      bufferStart = offset;
      if (buffer.length < frameSize) {
        // The file shrank since `size` was taken: stop where it now ends.
        reason = buffer.length === 0 ? "end-of-file" : "partial-frame";
        break;
      }
    }
    const at = offset - bufferStart;
    if (!saltsMatch(view, at, header)) {
      reason = "salt-mismatch";
      break;
    }
    const pgno = view.getUint32(at, false);
    if (pgno === 0) {
      reason = "invalid-page-number";
      break;
    }
    const sum = frameChecksum(view, at, frameSize, bigEndian, checksum);
    if (sum[0] !== view.getUint32(at + 16, false) || sum[1] !== view.getUint32(at + 20, false)) {
      reason = "checksum-mismatch";
      break;
    }
    checksum = sum;
    // Pages usually arrive in ascending order (and re-setting a key keeps its place), so
    // the ascending Map can be handed out as is; sort only when one arrived out of order.
    if (pgno < maxPgno && !pages.has(pgno)) ordered = false;
    else if (pgno > maxPgno) maxPgno = pgno;
    pages.set(pgno, offset);
    frames++;
    offset += frameSize;
    const commit = view.getUint32(at + 4, false);
    if (commit !== 0) {
      position = { offset, salt1, salt2, checksum1: sum[0], checksum2: sum[1] };
      yield* emit<WalTransaction>({
        start: txStart,
        end: offset,
        frameCount: frames,
        commit,
        pages: ordered ? pages : new Map([...pages].sort((a, b) => a[0] - b[0])),
        position,
      });
      yielded++;
      txStart = offset;
      pages = new Map();
      ordered = true;
      maxPgno = 0;
      frames = 0;
    }
  }
  return { header, position, stop: { offset, reason }, pendingFrames: frames };
}

function frameChecksum(view: DataView, at: number, frameSize: number, bigEndian: boolean, seed: readonly [number, number]): [number, number] {
  const [a, b] = checksumRange(view, at, at + 8, bigEndian, seed[0], seed[1]);
  return checksumRange(view, at + WAL_FRAME_HEADER_SIZE, at + frameSize, bigEndian, a, b);
}

function saltsMatch(view: DataView, at: number, header: WalHeader): boolean {
  return view.getUint32(at + 8, false) === header.salt1 && view.getUint32(at + 12, false) === header.salt2;
}

function checkPosition(position: WalPosition): void {
  checkOffset(position.offset, "position.offset");
  for (const key of ["salt1", "salt2", "checksum1", "checksum2"] as const) {
    const v = position[key];
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new WalError("invalid-argument", `position.${key} must be an unsigned 32-bit integer, got ${v}`);
    }
  }
}

function checkOffset(offset: number, name: string): void {
  if (!Number.isSafeInteger(offset) || offset < WAL_HEADER_SIZE) {
    throw new WalError("invalid-argument", `${name} must be an integer ≥ ${WAL_HEADER_SIZE}, got ${offset}`);
  }
}
