import { formatChecksum, formatTxid, lockPgno, pageChecksum } from "@sqlrep/ltx";
import { compactLevel, enforceRetention, isReplicaError, SNAPSHOT_LEVEL, type LtxFileRef, type ReplicaClient } from "@sqlrep/replica";
import {
  checkWalPositionSync,
  isWalError,
  readWalPageSync,
  walTransactionsSync,
  WAL_FRAME_HEADER_SIZE,
  WAL_HEADER_SIZE,
  type WalHeader,
  type WalPosition,
} from "@sqlrep/wal";
import { BackupError, describeError, isBackupError } from "./errors.js";
import type { BackupEvents } from "./events.js";
import type { FileSource } from "./file-source.js";
import type { Logger } from "./logger.js";
import { LtxUpload, type BodyPage, type BodyPlan } from "./ltx-body.js";
import type { BackupMetrics } from "./metrics.js";
import type { ResolvedDatabaseOptions } from "./options.js";
import { PageChecksums } from "./page-checksums.js";
import { findResumePoint, readReplicaTip, type ReplicaTip } from "./resume.js";
import { RetentionPlan } from "./retention-plan.js";
import type { RwLock } from "./rw-lock.js";
import type { Scheduler, Timer } from "./scheduler.js";
import { verifyReplicaChain, type ChainEnd } from "./validate.js";
import { databaseFilePages, locateCursor, readHeader, scanBatch, StateReader, walPageMap, type WalBatch, type WalCursor } from "./wal-follow.js";

const RETRY_BASE_MS = 1000;
const RETRY_MAX_MS = 30_000;
const BUSY_RETRY_MS = 50;
/** TXID → post-apply checksum pairs kept for validation against a replica that is a little behind. */
const CHECKSUM_HISTORY = 4096;

/** WAL read errors that mean "changed under us" (a reset or truncation in progress), not damage. */
const TRANSIENT_WAL_ERRORS = new Set<string>(["stale-position", "truncated", "header-checksum-mismatch", "invalid-magic", "invalid-header"]);

/** What every part of an engine shares: logger, metrics, the timer queue and the event sink. */
export interface EngineServices {
  readonly logger: Logger;
  readonly metrics: BackupMetrics;
  readonly scheduler: Scheduler;
  /** Whether a directory's databases want file-system events may have changed. */
  interestChanged(dir: string): void;
  emit<K extends keyof BackupEvents>(event: K, ...args: BackupEvents[K]): void;
}

/** What a stream needs from its database. */
export interface StreamHost {
  readonly path: string;
  readonly wal: FileSource;
  readonly db: FileSource;
  readonly pageSize: number;
  readonly lock: RwLock;
  /** Incremented whenever our read transaction is replaced. */
  readonly readerEpoch: number;
  /** Whether our read transaction is open (it is, except after a failure to reopen it). */
  readonly readerHeld: boolean;
  readonly options: ResolvedDatabaseOptions;
  readonly services: EngineServices;
  /** Fires when the engine stops. */
  readonly signal: AbortSignal;
  /** The page checksums of the database file, shared by the streams resuming at start. */
  baseChecksums(signal: AbortSignal): Promise<PageChecksums>;
  /** Counts WAL bytes turned into LTX once per database, whichever replica gets there first. */
  walBytesSynced(header: WalHeader, from: number, to: number): void;
  /** Called when a stream has nothing running, so the database may hand off its read transaction or checkpoint. */
  streamSettled(): void;
  /** Called when a stream scheduled (or ran) a pass: whether WAL events matter may have changed. */
  streamScheduled(): void;
  /**
   * Called right before a sync: runs a checkpoint if one is due, with this stream's sync
   * inside it (as `catchUp`, holding the write lock). The stream's pass counter tells
   * whether its sync ran.
   */
  syncWithCheckpoint(stream: ReplicaStream): Promise<void>;
}

/** The outcome of `BackupEngine.sync` for one replica. */
export interface SyncResult {
  path: string;
  replica: string;
  /** The replica's TXID once everything committed before the call was uploaded. */
  txid: number;
}

interface PassOutcome {
  uploaded: boolean;
  /** The batch bound was reached: more is waiting, continue without throttling. */
  more: boolean;
  /** Everything committed when the pass read the WAL is uploaded. */
  caughtUp: boolean;
  retryInMs?: number;
}

/** An upload that failed, retried with the same WAL range and timestamp so a file that did land is rewritten byte for byte. */
interface PendingBatch {
  salt1: number;
  salt2: number;
  from: number;
  end: number;
  timestamp: number;
  txid: number;
}

class Divergence extends Error {}

/**
 * One replica of one database: its position (TXID, the page checksums of the state
 * there, and where that state is in the WAL), the sync loop with its throttle and
 * retries, snapshots, and the replica's maintenance (compaction, retention,
 * validation). Every upload reads the WAL under the database's shared lock.
 */
export class ReplicaStream {
  readonly name: string;
  readonly client: ReplicaClient;
  readonly syncInterval: number;

  /** The replica's TXID (0 before the first snapshot). */
  txid = 0;
  /** Whether a WAL reset can be followed without a snapshot (see `locateCursor`). */
  covered = false;
  /** The reader epoch in which this stream last reached the end of the WAL. */
  caughtUpEpoch = -1;
  lastSyncAt: Date | undefined;
  lastError: string | undefined;
  lastVerifiedAt: Date | undefined;
  /** Why the last validation failed, until one succeeds. */
  validationError: string | undefined;
  private pendingSince: number | undefined;

  private checksums: PageChecksums | undefined;
  private cursorValue: WalCursor | undefined;
  private resumed = false;
  private lostReason: string | undefined;
  private pending: PendingBatch | undefined;
  private uncertainTxid: number | undefined;
  private newestSnapshot: { txid: number; at: number } | undefined;
  private snapshotDue = false;
  /** Set while a checkpoint holding the write lock runs a pass: no snapshots then. */
  private quick = false;
  private readonly snapshotJitter: number;
  private readonly history = new Map<number, bigint>();

  private running = false;
  private dirty = false;
  private forced = false;
  private backlog = false;
  private closed = false;
  private timer: Timer | undefined;
  private backoffUntil = 0;
  private retryAt = 0;
  private failures = 0;
  private lastUploadAt = 0;
  private lastRequestAt = 0;
  private passSeq = 0;
  private waiters: { after: number; resolve: (r: SyncResult) => void; reject: (e: unknown) => void }[] = [];

  private maintenance: Promise<void> = Promise.resolve();
  private readonly loops = new Map<string, Timer>();
  private snapshotTimer: Timer | undefined;
  private readonly written = new Map<number, number>();
  private readonly retention: RetentionPlan;
  private retentionTimer: { at: number; timer: Timer } | undefined;

  constructor(
    private readonly host: StreamHost,
    target: { name: string; client: ReplicaClient; syncInterval: number },
  ) {
    this.name = target.name;
    this.client = target.client;
    this.syncInterval = target.syncInterval;
    // Per-replica jitter so databases (and replicas) do not snapshot in lockstep.
    this.snapshotJitter = Math.floor(Math.random() * Math.min(host.options.snapshotInterval * 0.1, 60 * 60_000));
    this.retention = new RetentionPlan(host.options.l0Retention);
  }

  private get log(): Logger {
    return this.host.services.logger;
  }

  private get fields(): Record<string, unknown> {
    return { db: this.host.path, replica: this.name };
  }

  /** Where the stream is in the WAL (for the database's checkpoint decisions). */
  get cursor(): WalCursor | undefined {
    return this.cursorValue;
  }

  /** Age of the oldest change seen but not yet uploaded, ms. */
  get lagMs(): number {
    return this.pendingSince === undefined ? 0 : Math.max(0, Date.now() - this.pendingSince);
  }

  /** True while a pass runs or is waiting for its turn. */
  get busy(): boolean {
    return this.running;
  }

  /**
   * A sync of this replica is running or will run soon, and will run any checkpoint
   * that is due (see `run`): nobody else needs to start one.
   */
  get syncPending(): boolean {
    return this.canFold && (this.running || this.dirty || this.forced || this.timer !== undefined);
  }

  /** Whether a due checkpoint can run with this stream's next sync inside it. */
  private get canFold(): boolean {
    return !this.closed && !this.failing && !this.backlog && this.resumed && this.lostReason === undefined;
  }

  /** True when the stream has nothing it knows it must upload. */
  get idle(): boolean {
    return !this.running && !this.dirty && this.lostReason === undefined && this.resumed;
  }

  /** First pass: resume (or snapshot) and sync. Resolves when it ran, whether or not it succeeded. */
  async start(): Promise<void> {
    this.scheduleMaintenance();
    await this.syncNow().catch(() => undefined);
  }

  /** The WAL changed: sync now, or as soon as the throttle allows. */
  requestSync(): void {
    const now = Date.now();
    this.lastRequestAt = now;
    if (this.pendingSince === undefined && (!this.resumed || this.framesFollow())) this.pendingSince = now;
    this.dirty = true;
    this.kick();
  }

  /**
   * Looks at the WAL again as soon as the throttle allows (at once when idle), without
   * counting as a change: lets the database hand its read transaction off while another
   * connection's checkpoint waits for it. Under sustained writes the scheduled upload
   * does that anyway, so this never adds one.
   */
  recheck(): void {
    if (this.failing || this.closed) return;
    this.dirty = true;
    this.kick();
  }

  /** Syncs now (ignoring throttle and back-off) and resolves once everything committed before the call is uploaded. */
  syncNow(signal?: AbortSignal): Promise<SyncResult> {
    if (this.closed) return Promise.reject(new BackupError("closed", "the engine is stopped", this.errorOptions()));
    return new Promise<SyncResult>((resolve, reject) => {
      const waiter = { after: this.passSeq, resolve, reject };
      this.waiters.push(waiter);
      if (signal !== undefined) {
        const onAbort = () => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new BackupError("aborted", "sync aborted", { ...this.errorOptions(), cause: signal.reason }));
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener("abort", onAbort, { once: true });
        const settle = <T>(fn: (v: T) => void) => (v: T) => {
          signal.removeEventListener("abort", onAbort);
          fn(v);
        };
        waiter.resolve = settle(resolve);
        waiter.reject = settle(reject);
      }
      this.forced = true;
      this.dirty = true;
      this.timer?.cancel();
      this.timer = undefined;
      this.kick();
    });
  }

  /** Stops trusting WAL resets until the stream reaches the end of the WAL again under a read transaction. */
  distrustResets(): void {
    this.covered = false;
  }

  /** Marks the stream as having lost track of the WAL (our own checkpoint discarded frames it had not uploaded). */
  markLost(reason: string): void {
    this.lostReason ??= reason;
    this.covered = false;
    this.requestSync();
  }

  /** True while uploads fail (the stream is backing off): it cannot catch up now. */
  get failing(): boolean {
    return this.failures > 0;
  }

  /**
   * Uploads everything up to the end of the WAL right now, for a checkpoint that holds
   * the write lock (and the database's exclusive lock, so no other pass runs). Resolves
   * false when the stream could not catch up (the failure is recorded as for any sync).
   */
  async catchUp(signal: AbortSignal): Promise<boolean> {
    // A stream that must resume or snapshot first is not quick: it stays behind.
    if (this.failing || this.closed || !this.resumed || this.lostReason !== undefined) return false;
    try {
      for (let i = 0; i < 1000; i++) {
        const pass = ++this.passSeq;
        const started = Date.now();
        let outcome: PassOutcome;
        try {
          outcome = await this.pass(signal, true);
        } catch (err) {
          this.failed(err);
          return false;
        }
        // Counts as the replica's sync: the throttle, the lag and `sync()` callers see it.
        this.succeeded(outcome, pass, started);
        if (!outcome.more) return outcome.caughtUp;
      }
      return false;
    } finally {
      // A stream caught up from outside its own loop may have been left something to do.
      if (!this.running && (this.dirty || this.forced)) this.kick();
    }
  }

  /** Stops timers and maintenance; pending waiters are rejected. */
  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.snapshotTimer?.cancel();
    this.retentionTimer?.timer.cancel();
    for (const t of this.loops.values()) t.cancel();
    const err = new BackupError("closed", "the engine stopped", this.errorOptions());
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  /** Resolves when running maintenance and the current pass are done. */
  async drain(): Promise<void> {
    await this.maintenance;
    while (this.running) await new Promise((r) => setTimeout(r, 5));
  }

  private errorOptions(): { path: string; replica: string } {
    return { path: this.host.path, replica: this.name };
  }

  /** When the next pass may run: a short retry delay always applies; throttle and back-off unless forced or draining a backlog. */
  private nextPassAt(): number {
    const limit = this.forced || this.backlog ? 0 : Math.max(this.backoffUntil, this.lastUploadAt + this.syncInterval);
    return Math.max(this.retryAt, limit);
  }

  private kick(): void {
    if (this.running || this.closed) return;
    if (this.timer !== undefined && !this.forced) return;
    this.timer?.cancel();
    this.timer = undefined;
    const now = Date.now();
    const at = this.nextPassAt();
    if (at <= now) {
      void this.run();
    } else {
      this.timer = this.host.services.scheduler.schedule(at - now, () => {
        this.timer = undefined;
        void this.run();
      });
      this.host.streamScheduled();
    }
  }

  /** A pass is scheduled that will read whatever is committed before it runs: events add nothing meanwhile. */
  get scheduled(): boolean {
    return this.timer !== undefined && !this.running;
  }

  private async run(): Promise<void> {
    if (this.running || this.closed) return;
    this.running = true;
    try {
      while ((this.dirty || this.forced) && !this.closed) {
        if (Date.now() < this.nextPassAt()) break;
        this.dirty = false;
        this.forced = false;
        if (this.canFold) {
          const before = this.passSeq;
          await this.host.syncWithCheckpoint(this);
          if (this.passSeq !== before) {
            if (this.failing) break;
            continue;
          }
        }
        const pass = ++this.passSeq;
        const started = Date.now();
        let outcome: PassOutcome;
        try {
          outcome = await this.host.lock.withShared(() => this.pass());
        } catch (err) {
          this.failed(err);
          break;
        }
        this.succeeded(outcome, pass, started);
      }
    } finally {
      this.running = false;
      if (!this.closed && (this.dirty || this.forced) && this.timer === undefined) this.kick();
      this.host.streamSettled();
    }
  }

  private succeeded(outcome: PassOutcome, pass: number, started: number): void {
    const now = Date.now();
    this.failures = 0;
    this.backoffUntil = 0;
    this.lastError = undefined;
    this.lastSyncAt = new Date(now);
    if (outcome.uploaded) this.lastUploadAt = now;
    this.backlog = outcome.more;
    if (outcome.more) this.dirty = true;
    this.retryAt = outcome.retryInMs === undefined ? 0 : now + outcome.retryInMs;
    if (outcome.retryInMs !== undefined) {
      this.dirty = true;
      // A sync() waiting for this pass keeps bypassing the throttle on the retry.
      if (this.waiters.length > 0) this.forced = true;
    }
    if (outcome.caughtUp && !outcome.more) {
      // A change noticed during the pass may be one the pass already read: it counts only
      // if a frame of the current WAL follows the uploaded position.
      this.pendingSince = this.lastRequestAt >= started && this.framesFollow() ? this.lastRequestAt : undefined;
      const done = this.waiters.filter((w) => w.after < pass);
      this.waiters = this.waiters.filter((w) => w.after >= pass);
      for (const w of done) w.resolve({ path: this.host.path, replica: this.name, txid: this.txid });
    }
  }

  /** Whether frames follow the cursor: a new WAL, or a frame of the cursor's WAL after it (two small reads; committed or not). */
  framesFollow(): boolean {
    const c = this.cursorValue;
    const wal = this.host.wal;
    if (c?.kind !== "at") return wal.size > WAL_HEADER_SIZE;
    const header = wal.readAt(0, WAL_HEADER_SIZE);
    if (header.length < WAL_HEADER_SIZE) return false;
    const h = new DataView(header.buffer, header.byteOffset, header.byteLength);
    if (h.getUint32(16) !== c.header.salt1 || h.getUint32(20) !== c.header.salt2) return true;
    const head = wal.readAt(c.position.offset, WAL_FRAME_HEADER_SIZE);
    if (head.length < WAL_FRAME_HEADER_SIZE) return false;
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    return view.getUint32(8) === c.header.salt1 && view.getUint32(12) === c.header.salt2;
  }

  private failed(err: unknown): void {
    const { metrics } = this.host.services;
    const error = toBackupError(err, "sync", this.errorOptions());
    this.failures++;
    this.lastError = describeError(error);
    metrics.syncErrorCount.inc({ db: this.host.path });
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (this.failures - 1)) * (0.75 + Math.random() * 0.5);
    this.backoffUntil = Date.now() + delay;
    this.dirty = true;
    this.pendingSince ??= Date.now();
    for (const w of this.waiters.splice(0)) w.reject(error);
    if (!this.closed) {
      this.log.warn("sync failed, will retry", { ...this.fields, error: this.lastError, retryInMs: Math.round(delay), attempt: this.failures });
      this.host.services.emit("error", { path: this.host.path, replica: this.name, error });
      this.timer?.cancel();
      this.timer = this.host.services.scheduler.schedule(delay, () => {
        this.timer = undefined;
        void this.run();
      });
      this.host.streamScheduled();
    }
  }

  /** One sync: resume if needed, follow the WAL, upload one level-0 file (or a snapshot). Runs under the shared lock. */
  private async pass(signal: AbortSignal = this.host.signal, quick = false): Promise<PassOutcome> {
    if (!this.resumed) await this.resume(signal);
    if (this.lostReason !== undefined) return this.snapshotAfterLoss(signal);
    if (quick) this.quick = true;
    try {
      return await this.follow(signal);
    } finally {
      this.quick = false;
    }
  }

  /** The sync proper, once the stream knows where it is. */
  private async follow(signal: AbortSignal): Promise<PassOutcome> {
    const epoch = this.host.readerEpoch;
    const loc = locateCursor(this.host.wal, this.cursorValue!, this.covered);
    if (loc.kind === "busy") {
      this.log.debug("WAL not readable yet, retrying", { ...this.fields, reason: loc.reason });
      return { uploaded: false, more: false, caughtUp: false, retryInMs: BUSY_RETRY_MS };
    }
    if (loc.kind === "lost") {
      this.lostReason = loc.reason;
      if (this.quick) return { uploaded: false, more: false, caughtUp: false };
      return this.snapshotAfterLoss(signal);
    }
    if (loc.kind === "empty") {
      this.cursorValue = loc.cursor;
      this.reachedEnd(epoch);
      return this.afterSync({ uploaded: false, more: false, caughtUp: true }, signal);
    }
    if (loc.reset) {
      this.log.debug("following a WAL reset", { ...this.fields, checkpointSequence: loc.header.checkpointSequence });
      this.cursorValue = { kind: "at", header: loc.header, position: loc.from };
    }
    const pending = this.pending;
    const retry =
      pending !== undefined && pending.salt1 === loc.header.salt1 && pending.salt2 === loc.header.salt2 && pending.from === loc.from.offset && pending.txid === this.txid + 1;
    let batch: WalBatch;
    try {
      batch = scanBatch(this.host.wal, loc.header, loc.from, retry ? pending.end - pending.from : this.host.options.maxBatchBytes);
    } catch (err) {
      // The WAL was reset or truncated between the position check and the scan: look again shortly.
      if (isWalError(err) && TRANSIENT_WAL_ERRORS.has(err.code)) return { uploaded: false, more: false, caughtUp: false, retryInMs: BUSY_RETRY_MS };
      throw err;
    }
    if (batch.transactions === 0) {
      this.pending = undefined;
      if (batch.stop !== "max-bytes") this.reachedEnd(epoch);
      return this.afterSync({ uploaded: false, more: false, caughtUp: batch.stop !== "max-bytes" }, signal);
    }
    const identical = retry && batch.end.offset === pending.end;
    if (!identical && this.uncertainTxid === this.txid + 1) {
      // An upload of this TXID failed and cannot be repeated byte for byte: if it landed
      // after all, other content must not take its name.
      if (await this.exists({ level: 0, minTXID: this.txid + 1, maxTXID: this.txid + 1 }, signal)) {
        this.lostReason = "an upload reported as failed had landed and cannot be repeated";
        if (this.quick) return { uploaded: false, more: false, caughtUp: false };
        return this.snapshotAfterLoss(signal);
      }
      this.uncertainTxid = undefined;
    }
    const timestamp = identical ? pending.timestamp : Date.now();
    await this.upload(batch, timestamp, signal);
    const more = batch.stop === "max-bytes";
    if (!more) this.reachedEnd(epoch);
    return this.afterSync({ uploaded: true, more, caughtUp: !more }, signal);
  }

  private reachedEnd(epoch: number): void {
    this.caughtUpEpoch = epoch;
    // Resets are trusted only while a read transaction has been held since before this scan.
    if (this.host.readerHeld) this.covered = true;
  }

  /** After a sync: a periodic (or first) snapshot once the replica is at the end of the WAL. */
  private async afterSync(outcome: PassOutcome, signal: AbortSignal): Promise<PassOutcome> {
    if (!this.snapshotDue || this.quick || outcome.more || this.caughtUpEpoch !== this.host.readerEpoch) return outcome;
    if (this.newestSnapshot !== undefined && this.newestSnapshot.txid >= this.txid) {
      // Nothing changed since the newest snapshot: an idle database is not re-snapshotted.
      this.snapshotDue = false;
      this.scheduleSnapshot(Date.now());
      return outcome;
    }
    try {
      await this.snapshot(this.txid, this.newestSnapshot === undefined ? "first snapshot" : "periodic", "cursor", this.checksums!.checksum, signal);
    } catch (err) {
      if (!(err instanceof Divergence)) throw err;
      const error = new BackupError("validation", err.message, this.errorOptions());
      this.log.error("replica diverged from the database; taking a new snapshot", { ...this.fields, error: err.message });
      this.host.services.emit("error", { path: this.host.path, replica: this.name, error });
      this.lostReason = err.message;
      return this.snapshotAfterLoss(signal);
    }
    return { ...outcome, uploaded: true };
  }

  /** Reads the replica's position and finds the matching place in the local WAL; without one, a snapshot follows. */
  private async resume(signal: AbortSignal): Promise<void> {
    const [tip, snapshots] = await Promise.all([readReplicaTip(this.client, signal), this.listSnapshots(signal)]);
    this.newestSnapshot = snapshots;
    this.txid = tip.txid;
    if (tip.txid === 0) {
      this.lostReason = "initial snapshot of an empty replica";
    } else {
      const base = await this.host.baseChecksums(signal);
      const point = await findResumePoint(this.host.wal, this.host.db, base, tip, signal);
      if (point === undefined) {
        this.lostReason = mismatchReason(tip, this.host.pageSize);
      } else {
        this.checksums = point.checksums;
        this.cursorValue = point.cursor;
        this.covered = point.atEnd && this.host.readerHeld;
        this.recordChecksum();
        this.log.info("resuming replication", {
          ...this.fields,
          txid: formatTxid(tip.txid),
          walOffset: point.cursor.kind === "at" ? point.cursor.position.offset : 0,
        });
      }
      if (snapshots === undefined) this.snapshotDue = true;
      // What an earlier run left may be deletable now, once its level-0 files age, and
      // once the newest snapshot falls out of the retention window.
      const now = Date.now();
      this.planRetention(now, now + this.host.options.l0Retention, (snapshots?.at ?? now) + this.host.options.snapshotRetention);
    }
    this.resumed = true;
    this.scheduleSnapshot(this.newestSnapshot?.at ?? Date.now());
  }

  private async listSnapshots(signal: AbortSignal): Promise<{ txid: number; at: number } | undefined> {
    let newest: { txid: number; at: number } | undefined;
    for await (const f of this.client.ltxFiles(SNAPSHOT_LEVEL, { signal })) {
      if (f.minTXID === 1 && (newest === undefined || f.maxTXID > newest.txid)) newest = { txid: f.maxTXID, at: f.createdAt.getTime() };
    }
    return newest;
  }

  /** Encodes one batch as a level-0 file at TXID+1 and uploads it as it is read. */
  private async upload(batch: WalBatch, timestamp: number, signal: AbortSignal): Promise<void> {
    const { wal, db, pageSize, services } = this.host;
    const checksums = this.checksums!;
    if (batch.header.pageSize !== pageSize) {
      throw new BackupError("sync", `the WAL's page size ${batch.header.pageSize} differs from the database's ${pageSize}`, this.errorOptions());
    }
    const txid = this.txid + 1;
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
    const plan: BodyPlan = {
      header: {
        pageSize,
        commit,
        minTXID: txid,
        maxTXID: txid,
        timestamp,
        preApplyChecksum: checksums.checksum,
        walOffset: batch.from.offset,
        walSize: batch.end.offset - batch.from.offset,
        walSalt1: batch.header.salt1,
        walSalt2: batch.header.salt2,
      },
      *pages(): Iterable<BodyPage> {
        const written = [...batch.pages].filter(([pgno]) => pgno <= commit);
        let i = 0;
        let j = 0;
        while (i < written.length || j < fills.length) {
          const fromWal = i < written.length && (j >= fills.length || written[i]![0] < fills[j]!);
          const pgno = fromWal ? written[i]![0] : fills[j]!;
          const data = fromWal ? readWalPageSync(wal, written[i++]![1], pageSize, { file: wal.path }) : readBefore(fills[j++]!);
          change.set(pgno, pageChecksum(pgno, data));
          yield { pgno, data };
        }
      },
      postApply: () => change.finish(commit),
      verify: () => {
        if (!checkWalPositionSync(wal, batch.end, { file: wal.path }).valid) {
          throw new BackupError("sync", `the WAL changed while frames ${batch.from.offset}…${batch.end.offset} were read`, { ...this.errorOptions(), retryable: true });
        }
      },
    };
    const ref: LtxFileRef = { level: 0, minTXID: txid, maxTXID: txid };
    this.pending = { salt1: batch.header.salt1, salt2: batch.header.salt2, from: batch.from.offset, end: batch.end.offset, timestamp, txid };
    this.uncertainTxid = txid;
    const started = performance.now();
    const body = new LtxUpload(plan, signal);
    const info = await this.client.writeLtxFile(ref, body.body(), { timestamp: new Date(timestamp), signal });
    change.commit();
    this.txid = txid;
    this.cursorValue = { kind: "at", header: batch.header, position: batch.end };
    this.pending = undefined;
    this.uncertainTxid = undefined;
    this.recordChecksum();
    this.noteWritten(0);
    const seconds = (performance.now() - started) / 1000;
    services.metrics.syncCount.inc({ db: this.host.path });
    services.metrics.syncSeconds.inc({ db: this.host.path }, seconds);
    this.host.walBytesSynced(batch.header, batch.from.offset, batch.end.offset);
    this.log.debug("ltx file uploaded", {
      ...this.fields,
      level: 0,
      txid: formatTxid(txid),
      transactions: batch.transactions,
      pages: body.pages,
      size: info.size,
      ms: Math.round(seconds * 1000),
    });
    services.emit("synced", { path: this.host.path, replica: this.name, txid, minTXID: txid, timestamp: new Date(timestamp), bytes: info.size, level: 0 });
  }

  /** The stream lost track of the WAL (or the replica is empty): a snapshot at the next TXID. */
  private async snapshotAfterLoss(signal: AbortSignal): Promise<PassOutcome> {
    const reason = this.lostReason!;
    let txid = this.txid + 1;
    if (this.uncertainTxid === txid && (await this.exists({ level: 0, minTXID: txid, maxTXID: txid }, signal))) {
      // A failed upload may have landed after all: never reuse its TXID for other content.
      txid++;
    }
    if (txid === 1) this.log.info("taking the initial snapshot", { ...this.fields, txid: formatTxid(txid) });
    else this.log.warn("lost track of the WAL, taking a snapshot", { ...this.fields, reason, txid: formatTxid(txid) });
    await this.snapshot(txid, reason, "end", undefined, signal);
    this.lostReason = undefined;
    return { uploaded: true, more: false, caughtUp: true };
  }

  private async exists(ref: LtxFileRef, signal: AbortSignal): Promise<boolean> {
    try {
      await this.client.statLtxFile(ref, { signal });
      return true;
    } catch (err) {
      if (isReplicaError(err, "not-found")) return false;
      throw err;
    }
  }

  /**
   * Streams the database state into a level-9 snapshot `1-<txid>`: at the stream's
   * cursor (`cursor`, the state the replica already has at `txid`), or at the current
   * end of the WAL (`end`). Pages are the newest WAL frame up to that point, else the
   * database file; nothing is staged locally. `expect` (the replica's checksum at
   * `txid`) must equal the snapshot's, else Divergence and nothing is written.
   */
  private async snapshot(txid: number, reason: string, at: "cursor" | "end", expect: bigint | undefined, signal: AbortSignal): Promise<void> {
    const { wal, db, pageSize, services } = this.host;
    const epoch = this.host.readerEpoch;
    const started = performance.now();
    wal.refresh();
    let header: WalHeader | undefined;
    let end: WalPosition | undefined;
    let frames = new Map<number, number>();
    let commit: number | undefined;
    if (at === "cursor") {
      const cursor = this.cursorValue!;
      if (cursor.kind === "at") {
        header = cursor.header;
        end = cursor.position;
        ({ pages: frames, commit } = walPageMap(wal, end));
      }
    } else {
      header = readHeader(wal);
      if (header !== undefined) ({ frames, commit, end } = scanAll(wal, header));
    }
    commit ??= databaseFilePages(db);
    if (commit === 0) throw new BackupError("snapshot", `${this.host.path} has no pages to snapshot`, this.errorOptions());
    const timestamp = Date.now();
    const reader = new StateReader(wal, db, pageSize, frames);
    const sums = new PageChecksums(pageSize, commit);
    const plan: BodyPlan = {
      header: {
        pageSize,
        commit,
        minTXID: 1,
        maxTXID: txid,
        timestamp,
        walOffset: header === undefined ? 0 : WAL_HEADER_SIZE,
        walSize: header === undefined ? 0 : end!.offset - WAL_HEADER_SIZE,
        walSalt1: header?.salt1 ?? 0,
        walSalt2: header?.salt2 ?? 0,
      },
      *pages(): Iterable<BodyPage> {
        for (const page of reader.inOrder(commit)) {
          sums.set(page.pgno, pageChecksum(page.pgno, page.data));
          yield page;
        }
      },
      postApply: () => undefined,
      verify: () => {
        if (header !== undefined && !checkWalPositionSync(wal, end!, { file: wal.path }).valid) {
          throw new BackupError("snapshot", "the WAL changed while the snapshot was read", { ...this.errorOptions(), retryable: true });
        }
        if (expect !== undefined && sums.checksum !== expect) {
          throw new Divergence(
            `the database at TXID ${formatTxid(txid)} has checksum ${formatChecksum(sums.checksum)} but the replica's chain has ${formatChecksum(expect)}`,
          );
        }
      },
    };
    const body = new LtxUpload(plan, signal);
    const info = await this.client.writeLtxFile({ level: SNAPSHOT_LEVEL, minTXID: 1, maxTXID: txid }, body.body(), { timestamp: new Date(timestamp), signal });
    this.checksums = sums;
    this.txid = txid;
    this.cursorValue = header === undefined ? { kind: "next", after: undefined } : { kind: "at", header, position: end! };
    this.covered = this.host.readerHeld;
    if (at === "end") this.caughtUpEpoch = epoch;
    this.pending = undefined;
    this.uncertainTxid = undefined;
    this.newestSnapshot = { txid, at: timestamp };
    this.snapshotDue = false;
    this.recordChecksum();
    this.noteWritten(SNAPSHOT_LEVEL);
    this.scheduleSnapshot(timestamp);
    const durationMs = performance.now() - started;
    this.log.info("snapshot uploaded", { ...this.fields, txid: formatTxid(txid), pages: body.pages, size: info.size, reason, ms: Math.round(durationMs) });
    services.emit("snapshot", { path: this.host.path, replica: this.name, txid, pages: body.pages, bytes: info.size, reason, durationMs });
    services.emit("synced", { path: this.host.path, replica: this.name, txid, minTXID: 1, timestamp: new Date(timestamp), bytes: info.size, level: SNAPSHOT_LEVEL });
    // Older snapshots (and what only they needed) may go now, and once this one is snapshotRetention old.
    this.planRetention(Date.now(), timestamp + this.host.options.snapshotRetention);
  }

  private recordChecksum(): void {
    this.history.set(this.txid, this.checksums!.checksum);
    if (this.history.size > CHECKSUM_HISTORY) this.history.delete(this.history.keys().next().value!);
  }

  /**
   * Compaction and validation timers. Idle replicas cost no requests: compaction runs only
   * when the level below received files, retention only when something may have become
   * deletable (`planRetention`).
   */
  private scheduleMaintenance(): void {
    const { options } = this.host;
    for (const { level, interval } of options.levels) {
      this.written.set(level - 1, 1); // compact once after start: what was written before is unknown
      this.every(`compact ${level}`, interval, () => this.enqueue(`compaction into level ${level}`, () => this.compact(level)));
    }
    if (options.validationInterval > 0) this.every("validation", options.validationInterval, () => this.enqueue("validation", () => this.validate()));
  }

  /** Runs `fn` about every `interval` ms (±10 %, so replicas and databases drift apart). */
  private every(key: string, interval: number, fn: () => void): void {
    const jittered = () => interval * (0.9 + Math.random() * 0.2);
    const tick = () => {
      if (this.closed) return;
      fn();
      this.loops.set(key, this.host.services.scheduler.schedule(jittered(), tick));
    };
    this.loops.set(key, this.host.services.scheduler.schedule(jittered(), tick));
  }

  private enqueue(what: string, task: () => Promise<void>): void {
    if (this.closed) return;
    this.maintenance = this.maintenance.then(async () => {
      if (this.closed) return;
      try {
        await task();
      } catch (err) {
        if (this.closed) return;
        const error = toBackupError(err, "replica", this.errorOptions());
        this.log.warn(`${what} failed`, { ...this.fields, error: describeError(error) });
        this.host.services.emit("error", { path: this.host.path, replica: this.name, error });
      }
    });
  }

  private noteWritten(level: number): void {
    this.written.set(level, (this.written.get(level) ?? 0) + 1);
  }

  /** Retention runs once `at` has passed (rounded up to `RetentionPlan`'s grid). */
  private planRetention(...moments: number[]): void {
    if (!this.host.options.retentionEnabled || this.closed) return;
    for (const at of moments) this.retention.request(at);
    this.armRetention();
  }

  private armRetention(): void {
    const next = this.retention.next();
    if (next === undefined || this.closed || (this.retentionTimer !== undefined && this.retentionTimer.at <= next)) return;
    this.retentionTimer?.timer.cancel();
    const timer = this.host.services.scheduler.schedule(Math.max(0, next - Date.now()), () => {
      this.retentionTimer = undefined;
      this.enqueue("retention", () => this.retain());
    });
    this.retentionTimer = { at: next, timer };
  }

  private async compact(level: number): Promise<void> {
    if ((this.written.get(level - 1) ?? 0) === 0 || !this.resumed) return;
    this.written.set(level - 1, 0);
    try {
      const file = await compactLevel(this.client, level, { signal: this.host.signal });
      if (file !== undefined) {
        this.noteWritten(level);
        // Level 0 files this one covers can go once they are l0Retention old; any older
        // ones it covers, now.
        if (level === 1) this.planRetention(Date.now(), Date.now() + this.host.options.l0Retention);
        this.log.debug("compaction complete", { ...this.fields, level, minTXID: formatTxid(file.minTXID), maxTXID: formatTxid(file.maxTXID), size: file.size });
      }
    } catch (err) {
      this.written.set(level - 1, 1);
      throw err;
    }
  }

  private async retain(): Promise<void> {
    const { options } = this.host;
    const started = Date.now();
    // Another run already saw what this one was for.
    const due = this.retention.next();
    if (due === undefined || due > started) return this.armRetention();
    this.retention.started(started);
    try {
      const { deleted } = await enforceRetention(this.client, {
        snapshotRetention: options.snapshotRetention,
        l0Retention: options.l0Retention,
        levels: options.levels.map((l) => l.level),
        now: new Date(started),
        signal: this.host.signal,
      });
      if (deleted.length > 0) this.log.debug("retention deleted files", { ...this.fields, files: deleted.length });
    } catch (err) {
      this.retention.failed(Date.now());
      throw err;
    } finally {
      this.armRetention();
    }
  }

  private async validate(): Promise<void> {
    const { metrics } = this.host.services;
    const labels = { db: this.host.path, name: this.name };
    const fail = (err: BackupError): never => {
      this.validationError = err.message;
      metrics.validationTotal.inc({ ...labels, status: "error" });
      throw err;
    };
    let end: ChainEnd;
    try {
      end = await verifyReplicaChain(this.client, this.host.signal);
    } catch (err) {
      // A broken chain is a validation failure; a replica that cannot be read is not.
      if (isBackupError(err, "validation")) fail(new BackupError("validation", err.message, this.errorOptions()));
      throw err;
    }
    const ours = this.history.get(end.txid);
    if (ours === undefined) {
      this.log.debug("validation skipped: the replica's TXID is not one this engine wrote recently", { ...this.fields, txid: formatTxid(end.txid) });
      return;
    }
    if (ours !== end.postApply) {
      fail(
        new BackupError(
          "validation",
          `replica ${this.name} has checksum ${formatChecksum(end.postApply)} at TXID ${formatTxid(end.txid)} but the database had ${formatChecksum(ours)}`,
          this.errorOptions(),
        ),
      );
    }
    this.validationError = undefined;
    this.lastVerifiedAt = new Date();
    metrics.validationTotal.inc({ ...labels, status: "ok" });
    metrics.replicaVerified.set(labels, this.lastVerifiedAt.getTime() / 1000);
    this.log.debug("replica verified", { ...this.fields, txid: formatTxid(end.txid), files: end.files });
  }

  private scheduleSnapshot(from: number): void {
    this.snapshotTimer?.cancel();
    if (this.closed) return;
    const due = from + this.host.options.snapshotInterval + this.snapshotJitter;
    this.snapshotTimer = this.host.services.scheduler.schedule(Math.max(0, due - Date.now()), () => {
      this.snapshotDue = true;
      this.requestSync();
    });
  }
}

/** Frames of the newest frame per page in the whole committed WAL, its final size and end. */
function scanAll(wal: FileSource, header: WalHeader): { frames: Map<number, number>; commit: number | undefined; end: WalPosition } {
  const frames = new Map<number, number>();
  let commit: number | undefined;
  const it = walTransactionsSync(wal.scanner(), { file: wal.path });
  for (;;) {
    const step = it.next();
    if (step.done === true) {
      if (step.value.header.salt1 !== header.salt1 || step.value.header.salt2 !== header.salt2) {
        throw new BackupError("snapshot", "the WAL was reset while the snapshot started", { retryable: true });
      }
      return { frames, commit, end: step.value.position };
    }
    for (const [pgno, offset] of step.value.pages) frames.set(pgno, offset);
    commit = step.value.commit;
  }
}

function mismatchReason(tip: ReplicaTip, pageSize: number): string {
  const header = tip.header!;
  if ((header.flags & 2) !== 0) return `the replica's last file (TXID ${formatTxid(tip.txid)}) carries no database checksums`;
  if (header.pageSize !== pageSize) return `the replica's page size ${header.pageSize} differs from the database's ${pageSize}`;
  return `no state of the local database matches the replica at TXID ${formatTxid(tip.txid)} (checksum ${formatChecksum(tip.postApply)})`;
}

/** Wraps anything thrown into a BackupError of `code`, keeping BackupErrors as they are. */
export function toBackupError(err: unknown, code: "sync" | "replica" | "snapshot" | "checkpoint", options: { path: string; replica?: string }): BackupError {
  if (isBackupError(err)) return err;
  const retryable = isReplicaError(err) ? err.retryable || err.code === "io" : true;
  return new BackupError(code, describeError(err), { ...options, retryable, cause: err });
}
