/**
 * WAL → local log: turns the committed transactions of a database's WAL into LTX
 * entries of its local log, right after they are committed, so that the read
 * transaction guarding the WAL can move on at once (uploads happen later, from the log).
 * Also the shippers' feeder: consistent snapshots of the database at the log's tip.
 */
import { formatChecksum, formatTxid, lockPgno, pageChecksum } from "@sqlrep/ltx";
import type { LogFeeder, LogPage, LtxLog, ReplicaTip, SnapshotState } from "@sqlrep/shipper";
import { checkWalPositionSync, isWalError, readWalPageSync, WAL_HEADER_SIZE, type WalPosition } from "@sqlrep/wal";
import { BackupError } from "./errors.js";
import type { FileSource } from "./file-source.js";
import type { Logger } from "./logger.js";
import type { PageChecksums } from "./page-checksums.js";
import { currentState, databaseFileChecksums, findResumePoint, tipTarget, type ResumeTarget } from "./resume.js";
import type { RwLock } from "./rw-lock.js";
import { locateCursor, scanBatch, StateReader, walPageMap, type WalBatch, type WalCursor } from "./wal-follow.js";

/** WAL read errors that mean "changed under us" (a reset or truncation in progress), not damage. */
const TRANSIENT_WAL_ERRORS = new Set<string>(["stale-position", "truncated", "header-checksum-mismatch", "invalid-magic", "invalid-header"]);
/** How often a snapshot retries reaching the WAL's end when it is being rewritten. */
const BUSY_RETRY_MS = 20;
const BUSY_TRIES = 50;

/** What the stager needs from its database. */
export interface StagerHost {
  readonly path: string;
  readonly wal: FileSource;
  readonly db: FileSource;
  readonly pageSize: number;
  readonly lock: RwLock;
  readonly logger: Logger;
  /** Whether our read transaction is open (WAL resets can be trusted only then). */
  readonly readerHeld: boolean;
  /** Incremented whenever our read transaction is replaced. */
  readonly readerEpoch: number;
  readonly maxBatchBytes: number;
  /** A page-1 mismatch or a lost WAL: the database file is not what the log says. */
  lineageBroken?(reason: string): void;
  /** Counts WAL bytes turned into log entries. */
  walBytesStaged?(bytes: number): void;
  /** The WAL at the path is not the file being followed: the database was replaced or deleted. */
  fileReplaced?(): void;
}

/** What one `stage()` did. */
export interface StageOutcome {
  /** Changes staged. */
  appended: number;
  /** The WAL was restarted since the last stage (someone checkpointed it completely). */
  reset: boolean;
  /** Transactions in them. */
  transactions: number;
  /** Everything committed is in the log. */
  atEnd: boolean;
  /** The WAL was being rewritten: try again shortly. */
  busy: boolean;
}

/**
 * Follows one database's WAL from the log's tip. `stage()` reads the committed
 * transactions after its cursor (at most `maxBatchBytes` per entry, never splitting one)
 * and appends one entry per batch: the newest frame of each page, pages past the old size
 * that the batch did not write read from the state before it, the WAL offset, size and
 * salts in the header. Its database checksum is kept page by page (8 bytes per page): no
 * page outside a batch is read.
 */
export class WalStager implements LogFeeder {
  private checksums: PageChecksums | undefined;
  private cursorValue: WalCursor | undefined;
  /** Whether a WAL reset can be followed (see `locateCursor`). */
  private covered = false;
  /** The newest frame of page 1 in the current WAL up to the cursor ("unknown" until looked up after a resume). */
  private pageOneFrame: { salt1: number; salt2: number; offset: number } | undefined | "unknown" = "unknown";
  /** The reader epoch in which the stager last reached the end of the WAL. */
  caughtUpEpoch = -1;

  constructor(
    private readonly host: StagerHost,
    readonly log: LtxLog,
  ) {}

  /** Where the stager is in the WAL (for checkpoint decisions). */
  get cursor(): WalCursor | undefined {
    return this.cursorValue;
  }

  /** Whether the stager knows where it is (resumed, or started a lineage). */
  get ready(): boolean {
    return this.checksums !== undefined;
  }

  /** Stops trusting WAL resets until the stager reaches the end again under a read transaction. */
  distrustResets(): void {
    this.covered = false;
  }

  /**
   * Finds the log's tip in the database (the database file and its WAL, commit by
   * commit), else the newest replica tip that is there (the log then starts from it);
   * else a new lineage starts above every TXID seen, and every replica snapshots.
   */
  async resume(tips: readonly ReplicaTip[], signal: AbortSignal): Promise<void> {
    const { host, log } = this;
    const base = await databaseFileChecksums(host.db, host.pageSize, signal);
    const candidates: { txid: number; target: ResumeTarget; fromLog: boolean }[] = [];
    const last = log.last;
    if (last !== undefined)
      candidates.push({ txid: last.maxTXID, target: { commit: last.commit, pageSize: last.pageSize, postApply: last.postApply, wal: last.wal }, fromLog: true });
    else {
      for (const tip of [...tips].sort((a, b) => b.txid - a.txid)) {
        const target = tip.txid > 0 ? tipTarget(tip) : undefined;
        if (target !== undefined) candidates.push({ txid: tip.txid, target, fromLog: false });
      }
    }
    for (const c of candidates) {
      const point = await findResumePoint(host.wal, host.db, base, c.target, signal);
      if (point === undefined) continue;
      this.checksums = point.checksums;
      this.cursorValue = point.cursor;
      this.pageOneFrame = "unknown";
      this.covered = point.atEnd && host.readerHeld;
      if (!c.fromLog) log.setBase({ txid: c.txid, postApply: c.target.postApply, commit: c.target.commit, pageSize: c.target.pageSize });
      host.logger.info("resuming replication", {
        db: host.path,
        txid: formatTxid(c.txid),
        from: c.fromLog ? "local log" : "replica",
        walOffset: point.cursor.kind === "at" ? point.cursor.position.offset : 0,
      });
      return;
    }
    const seen = Math.max(log.tip?.txid ?? 0, ...tips.map((t) => t.txid));
    if (seen === 0) return this.newLineage("initial snapshot of an empty replica", signal, base, 1);
    const reason = `no state of the database matches the local log or a replica (TXID ${formatTxid(seen)}): it changed while not replicated (a checkpoint, or another file)`;
    host.logger.warn("lost track of the WAL, taking a snapshot", { db: host.path, reason });
    await this.newLineage(reason, signal, base, seen + 1);
  }

  /**
   * Appends what is committed after the cursor. Synchronous: the WAL is read and the
   * entry written without yielding, so nothing can reset the WAL in between.
   */
  stage(): StageOutcome {
    if (this.checksums === undefined) return { appended: 0, reset: false, transactions: 0, atEnd: false, busy: false };
    const wal = this.host.wal;
    // Synchronous from here to the end: the WAL's size is read once (what is appended
    // meanwhile is staged by the next call).
    try {
      return this.stageFrozen();
    } finally {
      wal.thaw();
    }
  }

  private stageFrozen(): StageOutcome {
    const outcome: StageOutcome = { appended: 0, reset: false, transactions: 0, atEnd: false, busy: false };
    const epoch = this.host.readerEpoch;
    for (;;) {
      // The WAL file we follow must still be the one at its path: a WAL swapped under us
      // (the database replaced) is never followed as if it were a reset.
      if (this.host.wal.replaced()) {
        this.host.fileReplaced?.();
        return outcome;
      }
      const loc = locateCursor(this.host.wal, this.cursorValue!, this.covered);
      this.host.wal.freeze();
      if (loc.kind === "busy") return { ...outcome, busy: true };
      if (loc.kind === "lost") {
        this.host.logger.warn("lost track of the WAL, taking a snapshot", { db: this.host.path, reason: loc.reason });
        this.host.lineageBroken?.(loc.reason);
        return outcome;
      }
      if (loc.kind === "empty") {
        if (this.cursorValue?.kind === "at") outcome.reset = true;
        this.cursorValue = loc.cursor;
        this.pageOneFrame = undefined;
        this.reachedEnd(epoch);
        return { ...outcome, atEnd: true };
      }
      if (loc.reset) {
        outcome.reset = true;
        this.cursorValue = { kind: "at", header: loc.header, position: loc.from };
        this.pageOneFrame = undefined;
      }
      let batch: WalBatch;
      try {
        batch = scanBatch(this.host.wal, loc.header, loc.from, this.host.maxBatchBytes);
      } catch (err) {
        if (isWalError(err) && TRANSIENT_WAL_ERRORS.has(err.code)) return { ...outcome, busy: true };
        throw err;
      }
      if (batch.transactions === 0) {
        this.reachedEnd(epoch);
        return { ...outcome, atEnd: true };
      }
      try {
        this.append(batch);
      } catch (err) {
        if (err instanceof BackupError && err.retryable) return { ...outcome, busy: true };
        throw err;
      }
      outcome.appended++;
      outcome.transactions += batch.transactions;
      if (batch.stop !== "max-bytes") {
        this.reachedEnd(epoch);
        return { ...outcome, atEnd: true };
      }
    }
  }

  /** Stages one batch into the log (the checksums move only once it is written). */
  private append(batch: WalBatch): void {
    const { wal, db, pageSize } = this.host;
    const checksums = this.checksums!;
    if (batch.header.pageSize !== pageSize) {
      throw new BackupError("sync", `the WAL's page size ${batch.header.pageSize} differs from the database's ${pageSize}`, { path: this.host.path });
    }
    const commit = batch.commit;
    const lock = lockPgno(pageSize);
    const change = checksums.change();
    // Pages a growing batch did not write come from the state before the batch.
    const fills: number[] = [];
    for (let pgno = checksums.commit + 1; pgno <= commit; pgno++) if (pgno !== lock && !batch.pages.has(pgno)) fills.push(pgno);
    let before: StateReader | undefined;
    const readBefore = (pgno: number): Uint8Array => {
      before ??= new StateReader(wal, db, pageSize, walPageMap(wal, batch.from).pages);
      return before.page(pgno);
    };
    const path = this.host.path;
    function* pages(): Generator<LogPage & { checksum: bigint }> {
      const written = [...batch.pages].filter(([pgno]) => pgno <= commit);
      let i = 0;
      let j = 0;
      while (i < written.length || j < fills.length) {
        const fromWal = i < written.length && (j >= fills.length || written[i]![0] < fills[j]!);
        const pgno = fromWal ? written[i]![0] : fills[j]!;
        const data = fromWal ? readWalPageSync(wal, written[i++]![1], pageSize, { file: wal.path }) : readBefore(fills[j++]!);
        const checksum = pageChecksum(pgno, data);
        change.set(pgno, checksum);
        yield { pgno, data, checksum };
      }
      // The frames read must still be the ones committed (no reset meanwhile), else nothing is written.
      if (!checkWalPositionSync(wal, batch.end, { file: wal.path }).valid) {
        throw new BackupError("sync", `the WAL changed while frames ${batch.from.offset}…${batch.end.offset} were read`, { path, retryable: true });
      }
    }
    // The post-apply checksum is known only once every page was read: the log asks for it after the pages.
    this.log.stage(
      {
        pageSize,
        commit,
        timestamp: Date.now(),
        wal: { offset: batch.from.offset, size: batch.end.offset - batch.from.offset, salt1: batch.header.salt1, salt2: batch.header.salt2 },
        transactions: batch.transactions,
      },
      pages(),
      () => change.finish(commit),
    );
    change.commit();
    this.cursorValue = { kind: "at", header: batch.header, position: batch.end };
    const one = batch.pages.get(1);
    if (one !== undefined) this.pageOneFrame = { salt1: batch.header.salt1, salt2: batch.header.salt2, offset: one };
    this.host.walBytesStaged?.(batch.end.offset - batch.from.offset);
  }

  private reachedEnd(epoch: number): void {
    this.caughtUpEpoch = epoch;
    // Resets are trusted only while a read transaction has been held since before this scan.
    if (this.host.readerHeld) this.covered = true;
  }

  /**
   * Page 1 of the database as the WAL's end shows it must be the page 1 the log's
   * checksums describe (call it right after a stage reached the end). A database overwritten in place (same inode) shows here first:
   * its header (change counter, page count, schema cookie) is another. Returns false
   * (and reports a broken lineage) on a mismatch.
   */
  checkPageOne(): boolean {
    const sums = this.checksums!;
    const cursor = this.cursorValue;
    if (sums.commit === 0 || !this.host.readerHeld) return true;
    let frame: number | undefined;
    if (cursor?.kind === "at") {
      const known = this.pageOneFrame;
      if (known === "unknown" || (known !== undefined && (known.salt1 !== cursor.header.salt1 || known.salt2 !== cursor.header.salt2))) {
        // Once after a resume: where page 1's newest frame is (then kept up to date by each batch).
        const offset = walPageMap(this.host.wal, cursor.position).pages.get(1);
        this.pageOneFrame = offset === undefined ? undefined : { salt1: cursor.header.salt1, salt2: cursor.header.salt2, offset };
      }
      frame = (this.pageOneFrame as { offset: number } | undefined)?.offset;
    }
    const page = new StateReader(this.host.wal, this.host.db, this.host.pageSize, new Map(frame === undefined ? [] : [[1, frame]])).page(1);
    if (pageChecksum(1, page) === sums.get(1)) return true;
    const reason = "page 1 of the database is not the one replicated: the file was written outside SQLite's WAL (overwritten or replaced in place)";
    this.host.logger.error("the database changed under the replicator", { db: this.host.path, reason });
    this.host.lineageBroken?.(reason);
    return false;
  }

  /**
   * A new lineage: the database as it is now (its whole checksum computed from what is
   * in it) becomes a lineage break in the log, at `atLeast` or the next TXID. Every
   * replica snapshots it.
   */
  async newLineage(reason: string, signal: AbortSignal, base?: PageChecksums, atLeast = 0): Promise<void> {
    const { host } = this;
    const state = await currentState(host.wal, host.db, base ?? (await databaseFileChecksums(host.db, host.pageSize, signal)), signal);
    this.checksums = state.checksums;
    this.cursorValue = state.cursor;
    this.pageOneFrame = "unknown";
    this.covered = host.readerHeld;
    const cursor = state.cursor;
    const wal = cursor.kind === "at" ? { offset: cursor.position.offset, salt1: cursor.header.salt1, salt2: cursor.header.salt2 } : undefined;
    const entry = this.log.appendBreak(
      { commit: state.checksums.commit, pageSize: host.pageSize, postApply: state.checksums.checksum, timestamp: Date.now(), wal },
      reason,
      atLeast,
    );
    if (entry.minTXID > 1 || this.log.entries.length > 1) {
      host.logger.warn("starting a new lineage", { db: host.path, txid: formatTxid(entry.minTXID), checksum: formatChecksum(entry.postApply), reason });
    }
  }

  /** LogFeeder: a snapshot's pages disagreed with the log — re-read the database as a new lineage. */
  diverged(reason: string): void {
    this.host.lineageBroken?.(`the database is not what was replicated: ${reason}`);
  }

  /**
   * LogFeeder: the database at the log's tip, after staging what is committed. Holds the
   * database's shared lock until `release` (our checkpoints and read-transaction
   * hand-offs wait, so no checkpoint can copy a frame past the state into the file).
   */
  async snapshotState(signal: AbortSignal): Promise<SnapshotState> {
    const { host } = this;
    const release = await host.lock.acquireShared();
    try {
      for (let tries = 0; ; tries++) {
        if (signal.aborted) throw new BackupError("aborted", "snapshot aborted", { path: host.path, cause: signal.reason });
        const outcome = this.stage();
        if (outcome.atEnd && !outcome.busy) break;
        if (tries >= BUSY_TRIES) throw new BackupError("snapshot", `${host.path}: the WAL kept changing while a snapshot started`, { path: host.path, retryable: true });
        await new Promise((r) => setTimeout(r, BUSY_RETRY_MS));
      }
      this.log.seal();
      const tip = this.log.tip!;
      const cursor = this.cursorValue!;
      let frames = new Map<number, number>();
      let end: WalPosition | undefined;
      if (cursor.kind === "at") {
        end = cursor.position;
        frames = walPageMap(host.wal, end).pages;
      }
      const reader = new StateReader(host.wal, host.db, host.pageSize, frames);
      const commit = tip.commit;
      return {
        txid: tip.txid,
        pageSize: host.pageSize,
        commit,
        timestamp: Date.now(),
        expected: tip.postApply,
        wal: cursor.kind === "at" ? { start: WAL_HEADER_SIZE, offset: end!.offset, salt1: cursor.header.salt1, salt2: cursor.header.salt2 } : undefined,
        pages: () => reader.inOrder(commit),
        verify: () => {
          if (end !== undefined && !checkWalPositionSync(host.wal, end, { file: host.wal.path }).valid) {
            throw new BackupError("snapshot", "the WAL changed while the snapshot was read", { path: host.path, retryable: true });
          }
        },
        release,
      };
    } catch (err) {
      release();
      throw err;
    }
  }
}
