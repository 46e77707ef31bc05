/** Where a restarted engine continues: the WAL commit whose database state equals the log's or replica's last one, matched by page count and checksum. */
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { lockPgno, pageChecksum, tracksChecksums } from "@sqlrep/ltx";
import type { ReplicaTip } from "@sqlrep/shipper";
import { readWalPageSync, walStartPosition, walTransactionsSync, type WalHeader, type WalPosition } from "@sqlrep/wal";
import { throwIfAborted } from "./errors.js";
import type { FileSource } from "./file-source.js";
import { PageChecksums } from "./page-checksums.js";
import { databaseFilePages, readHeader, type WalCursor } from "./wal-follow.js";

/** Bytes processed between two yields to the event loop in long local reads. */
const YIELD_BYTES = 8 << 20;

/** The page checksums of the database file as it is (pages 1…its page count), read once at start. */
export async function databaseFileChecksums(db: FileSource, pageSize: number, signal?: AbortSignal): Promise<PageChecksums> {
  const pages = databaseFilePages(db);
  const sums = new PageChecksums(pageSize, pages);
  sums.resize(pages);
  const lock = lockPgno(pageSize);
  const perChunk = Math.max(1, Math.floor((1 << 20) / pageSize));
  let sinceYield = 0;
  for (let first = 1; first <= pages; first += perChunk) {
    const count = Math.min(perChunk, pages - first + 1);
    const chunk = db.readZeroFilled((first - 1) * pageSize, count * pageSize);
    for (let i = 0; i < count; i++) {
      const pgno = first + i;
      if (pgno !== lock) sums.set(pgno, pageChecksum(pgno, chunk.subarray(i * pageSize, (i + 1) * pageSize)));
    }
    sinceYield += chunk.length;
    if (sinceYield >= YIELD_BYTES) {
      sinceYield = 0;
      await yieldToLoop();
      throwIfAborted(signal);
    }
  }
  return sums;
}

/** A database state to find in the local WAL: the local log's tip, or a replica's last state. */
export interface ResumeTarget {
  commit: number;
  pageSize: number;
  postApply: bigint;
  /** Where the state was in the WAL when it was staged (a hint: that commit wins when it matches). */
  wal?: { offset: number; salt1: number; salt2: number } | undefined;
}

/** A replica's last state as a resume target; undefined when its file carries no database checksums. */
export function tipTarget(tip: ReplicaTip): ResumeTarget | undefined {
  const header = tip.header;
  if (header === undefined || !tracksChecksums(header)) return undefined;
  const wal = header.walOffset > 0 ? { offset: header.walOffset + header.walSize, salt1: header.walSalt1, salt2: header.walSalt2 } : undefined;
  return { commit: header.commit, pageSize: header.pageSize, postApply: tip.postApply, wal };
}

/** A place in the local WAL whose database state equals the replica's last state. */
export interface ResumePoint {
  cursor: WalCursor;
  checksums: PageChecksums;
  /** The cursor is at the end of the committed WAL (as scanned after our read transaction began). */
  atEnd: boolean;
}

/**
 * Finds where to continue so that `target` (the log's tip, or a replica's last state) is the starting point.
 * Candidates are the start of the WAL (the database file alone) and every commit in it:
 * the state at a commit is the database file overlaid with the newest frame of each
 * page up to that commit, its checksum maintained incrementally. The position named
 * by the replica file's WAL fields wins when it matches; otherwise the last match.
 * Matching means equal page count and equal database checksum, so a wrong candidate
 * is never taken; none matching means the replica needs a snapshot.
 *
 * Continuing from a commit whose state equals the replica is sound even if another
 * process's checkpoint had copied later frames into the database file: the next batch
 * covers every frame after that commit, so what it leaves is the true state.
 */
export async function findResumePoint(wal: FileSource, db: FileSource, base: PageChecksums, target: ResumeTarget, signal?: AbortSignal): Promise<ResumePoint | undefined> {
  if (target.pageSize !== base.pageSize) return undefined;
  const hint = target.wal;
  const matches = (sums: PageChecksums) => sums.commit === target.commit && sums.checksum === target.postApply;

  wal.refresh();
  let walHeader: WalHeader | undefined;
  try {
    walHeader = readHeader(wal);
  } catch {
    walHeader = undefined; // a torn or foreign header: only the database file can be trusted
  }
  const sums = base.clone();
  const startCursor: WalCursor = walHeader === undefined ? { kind: "next", after: undefined } : { kind: "at", header: walHeader, position: walStartPosition(walHeader) };
  let last: ResumePoint | undefined = matches(sums) ? { cursor: startCursor, checksums: sums.clone(), atEnd: false } : undefined;
  if (walHeader === undefined) return last === undefined ? undefined : { ...last, atEnd: true };

  if (walHeader.pageSize !== base.pageSize) return undefined;
  const it = walTransactionsSync(wal.scanner(), { file: wal.path });
  let end: WalPosition = walStartPosition(walHeader);
  let sinceYield = 0;
  for (;;) {
    const step = it.next();
    if (step.done === true) {
      end = step.value.position;
      break;
    }
    const tx = step.value;
    applyCommit(sums, tx, wal, db);
    if (matches(sums)) {
      const point: ResumePoint = { cursor: { kind: "at", header: walHeader, position: tx.position }, checksums: sums.clone(), atEnd: false };
      if (hint !== undefined && tx.position.offset === hint.offset && walHeader.salt1 === hint.salt1 && walHeader.salt2 === hint.salt2) {
        last = point;
        // The replica named this commit: no later one is preferable, but the scan goes on
        // to learn whether it is the end of the WAL.
        end = scanToEnd(it);
        break;
      }
      last = point;
    }
    sinceYield += tx.end - tx.start;
    if (sinceYield >= YIELD_BYTES) {
      sinceYield = 0;
      await yieldToLoop();
      throwIfAborted(signal);
    }
  }
  if (last === undefined) return undefined;
  const lastOffset = last.cursor.kind === "at" ? last.cursor.position.offset : 0;
  return { ...last, atEnd: lastOffset === end.offset };
}

function scanToEnd(it: Generator<unknown, { position: WalPosition }, undefined>): WalPosition {
  for (;;) {
    const step = it.next();
    if (step.done === true) return step.value.position;
  }
}

/**
 * The database as it is now: the database file's page checksums (`base`) with every
 * committed transaction of the WAL applied, and the cursor at the WAL's committed end.
 * What a new lineage starts from (a replaced database, a WAL lost track of).
 */
export async function currentState(wal: FileSource, db: FileSource, base: PageChecksums, signal?: AbortSignal): Promise<{ cursor: WalCursor; checksums: PageChecksums }> {
  wal.refresh();
  let walHeader: WalHeader | undefined;
  try {
    walHeader = readHeader(wal);
  } catch {
    walHeader = undefined;
  }
  const sums = base.clone();
  if (walHeader === undefined || walHeader.pageSize !== base.pageSize) return { cursor: { kind: "next", after: undefined }, checksums: sums };
  const it = walTransactionsSync(wal.scanner(), { file: wal.path });
  let sinceYield = 0;
  for (;;) {
    const step = it.next();
    if (step.done === true) return { cursor: { kind: "at", header: walHeader, position: step.value.position }, checksums: sums };
    applyCommit(sums, step.value, wal, db);
    sinceYield += step.value.end - step.value.start;
    if (sinceYield >= YIELD_BYTES) {
      sinceYield = 0;
      await yieldToLoop();
      throwIfAborted(signal);
    }
  }
}

/** Moves `sums` to the state after one committed transaction of the WAL. */
function applyCommit(sums: PageChecksums, tx: { pages: ReadonlyMap<number, number>; commit: number }, wal: FileSource, db: FileSource): void {
  const { pageSize } = sums;
  const lock = lockPgno(pageSize);
  const change = sums.change();
  for (const [pgno, frame] of tx.pages) {
    if (pgno <= tx.commit) change.set(pgno, pageChecksum(pgno, readWalPageSync(wal, frame, pageSize, { file: wal.path })));
  }
  // Pages a growing transaction did not write (never seen from SQLite, but possible in
  // the format): the database file's bytes, zeros past its end.
  for (let pgno = sums.commit + 1; pgno <= tx.commit; pgno++) {
    if (pgno !== lock && !tx.pages.has(pgno)) change.set(pgno, pageChecksum(pgno, db.readZeroFilled((pgno - 1) * pageSize, pageSize)));
  }
  change.finish(tx.commit);
  change.commit();
}
