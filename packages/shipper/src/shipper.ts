/**
 * One replica of one database: uploads what its log holds with Litestream's policy,
 * takes snapshots when the chain cannot continue, retries, and keeps the replica
 * compacted, pruned and verified. The engine that fills the log never waits for it.
 */
import { formatChecksum, formatTxid, isLtxError } from "@sqlrep/ltx";
import { isReplicaError, ReplicaError, SNAPSHOT_LEVEL, type LevelSchedule, type LtxFileInfo, type LtxFileRef, type ReplicaClient } from "@sqlrep/replica";
import type { Clock, Timer } from "./clock.js";
import type { LogFeeder } from "./feeder.js";
import type { Logger } from "./logger.js";
import type { LogEntry, LtxLog } from "./ltx-log.js";
import { ReplicaMaintenance } from "./maintenance.js";
import { UploadPolicy } from "./policy.js";
import { readEnds, readReplicaTip, verifyReplicaChain, type ReplicaTip } from "./replica-tip.js";
import type { ShipperEvent, ShipperStatus } from "./status.js";
import { EncodedUpload, entriesBody } from "./upload-body.js";

/** While backing off longer than this, the store is probed this often, so an upload follows its recovery at once. */
const PROBE_MS = 1000;

/** Settings of one replica (durations in ms; defaults are Litestream's). */
export interface ShipperOptions {
  /** Names the replica in status, events and logs; unique per database. */
  name: string;
  client: ReplicaClient;
  /** At most one upload per this many ms under sustained writes (1000). */
  syncInterval?: number;
  /** At most this many bytes of local files per level-0 upload (64 MiB); one entry is never split. */
  maxBatchBytes?: number;
  /**
   * Log entries one upload may merge into a TXID range (default 1: one level-0 file per
   * TXID, as Litestream writes them; the cluster, whose every commit is a TXID, merges
   * up to 256 as LiteFS did).
   */
  maxEntriesPerUpload?: number;
  /** Compaction levels (DEFAULT_LEVELS). */
  levels?: readonly LevelSchedule[];
  /** A new snapshot this often (24 h), jittered; skipped when nothing changed. */
  snapshotInterval?: number;
  snapshotRetention?: number;
  l0Retention?: number;
  retentionEnabled?: boolean;
  /** Verify the replica's chain this often; 0 never. */
  validationInterval?: number;
}

/** What a shipper works with, shared with the engine that feeds it. */
export interface ShipperContext {
  /** The database the log is of (for logs and errors). */
  readonly label: string;
  readonly log: LtxLog;
  readonly feeder: LogFeeder;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Fires when the engine stops (aborts uploads in flight). */
  readonly signal: AbortSignal;
  /** Hears of uploads, snapshots, failures and validations. */
  readonly onEvent?: ((event: ShipperEvent) => void) | undefined;
}

type Resolved = Required<Omit<ShipperOptions, "levels">> & { levels: readonly LevelSchedule[] };

interface Waiter {
  txid: number;
  /** The pass count when it began waiting: only a pass started after it can fail it. */
  after: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** The upload that failed last: repeated exactly, so a file that landed anyway is rewritten byte for byte. */
interface Retry {
  minTXID: number;
  maxTXID: number;
}

class NotOurs extends Error {}

/**
 * Ships a log to one replica. Position: the replica's TXID and checksum as this shipper
 * uploaded (or verified) them. A pass uploads every entry after the position (up to
 * `maxBatchBytes`) as one level-0 file, merged when there are several; where the log
 * cannot continue the replica's chain (a lineage break, entries dropped before they
 * were uploaded, a replica holding files that are not ours) it writes a snapshot at
 * the log's tip instead. Never writes over a chain it cannot verify as its own: a
 * replica whose tip is foreign gets a snapshot at a TXID above every file in it.
 */
export class LtxShipper {
  readonly name: string;
  readonly client: ReplicaClient;
  private readonly options: Resolved;
  private readonly policy: UploadPolicy;
  private readonly maintenance: ReplicaMaintenance;

  private positionValue: { txid: number; postApply: bigint } | undefined;
  private resumedValue = false;
  private tip: ReplicaTip | undefined;
  /** Files up to this TXID may exist in the replica that are not ours: a snapshot must be above it. */
  private floor = 0;
  private snapshotReason: string | undefined;
  private newestSnapshot: { txid: number; at: number } | undefined;
  private snapshotDue = false;
  private snapshotTimer: Timer | undefined;
  private readonly snapshotJitter: number;
  private retry: Retry | undefined;

  private running = false;
  private dirty = false;
  private backlog = false;
  private urgent = 0;
  private timer: Timer | undefined;
  private probeTimer: Timer | undefined;
  /** A probe found the store unreachable and none has found it answering since (so an answer now means it came back). */
  private probeFailed = false;
  private closed = false;
  private waiters: Waiter[] = [];
  /** Passes started so far. */
  private passes = 0;
  private unsubscribe: (() => void) | undefined;
  private inFlight: AbortController | undefined;

  private lastSyncAt: Date | undefined;
  private lastError: string | undefined;
  private lastVerifiedAt: Date | undefined;
  private validationError: string | undefined;

  constructor(
    private readonly context: ShipperContext,
    options: ShipperOptions,
  ) {
    this.name = options.name;
    this.client = options.client;
    this.options = {
      name: options.name,
      client: options.client,
      syncInterval: options.syncInterval ?? 1000,
      maxBatchBytes: options.maxBatchBytes ?? 64 << 20,
      maxEntriesPerUpload: options.maxEntriesPerUpload ?? 1,
      levels: options.levels ?? [],
      snapshotInterval: options.snapshotInterval ?? 24 * 3_600_000,
      snapshotRetention: options.snapshotRetention ?? 24 * 3_600_000,
      l0Retention: options.l0Retention ?? 5 * 60_000,
      retentionEnabled: options.retentionEnabled ?? true,
      validationInterval: options.validationInterval ?? 0,
    };
    this.policy = new UploadPolicy(this.options.syncInterval);
    // Per-replica jitter so databases (and replicas) do not snapshot in lockstep.
    this.snapshotJitter = Math.floor(Math.random() * Math.min(this.options.snapshotInterval * 0.1, 3_600_000));
    const shipper = this;
    this.maintenance = new ReplicaMaintenance(
      {
        client: this.client,
        clock: context.clock,
        logger: context.logger,
        fields: this.fields,
        signal: context.signal,
        get resumed() {
          return shipper.resumedValue;
        },
        get newestSnapshotTXID() {
          return shipper.newestSnapshot?.txid ?? 0;
        },
        validate: () => this.validate(),
        chainBroken: (reason) => this.chainBroken(reason),
        failed: (what, err) => this.report(what, err),
        wrote: () => undefined,
      },
      this.options,
    );
  }

  private get fields(): Record<string, unknown> {
    return { db: this.context.label, replica: this.name };
  }

  /** The replica's TXID as this shipper knows it (0 before it resumed or snapshotted). */
  get txid(): number {
    return this.positionValue?.txid ?? 0;
  }

  /** Whether the shipper knows where the replica is. */
  get resumed(): boolean {
    return this.resumedValue;
  }

  /** The replica's last state as read by `loadTip` (the feeder resumes from the best of these). */
  get replicaTip(): ReplicaTip | undefined {
    return this.tip;
  }

  /** Whether something staged now would be uploaded at once (no pass running, the throttle and back-off allow it). */
  get wouldUploadNow(): boolean {
    return !this.closed && !this.running && this.resumedValue && this.policy.nextAt(this.urgent > 0) <= this.context.clock.now();
  }

  /** True while uploads fail (backing off). */
  get failing(): boolean {
    return this.policy.failures > 0;
  }

  /** Reads the replica's last state (before the feeder resumes); a failure is retried by the first pass. */
  async loadTip(signal?: AbortSignal): Promise<ReplicaTip | undefined> {
    try {
      this.tip = await readReplicaTip(this.client, signal);
    } catch (err) {
      this.report("reading the replica's position", err);
    }
    return this.tip;
  }

  /**
   * Starts shipping: a first pass resumes (or snapshots) and uploads what the log holds.
   * Resolves once that pass ran, whether or not it succeeded (failures are retried).
   */
  async start(): Promise<void> {
    this.context.log.register(this.name, 0);
    this.unsubscribe = this.context.log.subscribe(() => this.request());
    this.maintenance.start();
    await this.waitFor(this.context.log.head?.txid ?? 0).catch(() => undefined);
  }

  /** Something was appended (or is wanted): a pass now, or as soon as the throttle allows. */
  request(): void {
    this.dirty = true;
    this.kick();
  }

  /** Resolves once the replica holds `txid` (a `sync()` caller: uploads skip the throttle meanwhile). */
  waitFor(txid: number, signal?: AbortSignal): Promise<void> {
    if (this.closed) return Promise.reject(new ReplicaError("aborted", `the shipper of replica ${this.name} is stopped`));
    if (this.txid >= txid && this.resumedValue) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { txid, after: this.passes, resolve, reject };
      this.waiters.push(waiter);
      this.urgent++;
      const done = () => {
        this.urgent--;
        signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        done();
        reject(new ReplicaError("aborted", "sync aborted", { cause: signal?.reason }));
      };
      waiter.resolve = () => {
        done();
        resolve();
      };
      waiter.reject = (err) => {
        done();
        reject(err);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.dirty = true;
      this.timer?.cancel();
      this.timer = undefined;
      this.kick();
    });
  }

  /**
   * Uploads everything the log holds, retrying failures (the store probed every second),
   * until done or `deadline` (ms since the epoch); an upload still running then is
   * aborted. Resolves with how many TXIDs the replica lacks (0: all shipped).
   */
  async flush(deadline: number): Promise<{ missing: number; lastError?: string | undefined }> {
    this.context.log.seal(this.options.maxBatchBytes);
    const target = this.context.log.tip?.txid ?? 0;
    const clock = this.context.clock;
    this.urgent++;
    try {
      while (this.txid < target && !this.closed && clock.now() < deadline) {
        const timeout = new AbortController();
        const timer = clock.schedule(deadline - clock.now(), () => timeout.abort(new ReplicaError("timeout", `replica ${this.name}: the final upload did not finish in time`)));
        try {
          await this.waitFor(target, timeout.signal);
        } catch {
          // A failed pass rejects its waiters: wait a little (the back-off and the probe pace the retries) and look again.
          if (!timeout.signal.aborted) await new Promise<void>((resolve) => clock.schedule(Math.min(PROBE_MS, Math.max(0, deadline - clock.now())), resolve));
        } finally {
          timer.cancel();
        }
      }
    } finally {
      this.urgent--;
      if (this.txid < target) this.inFlight?.abort(new ReplicaError("timeout", `replica ${this.name}: the final upload did not finish in time`));
    }
    return { missing: Math.max(0, target - this.txid), lastError: this.lastError };
  }

  /** Stops timers and maintenance; waiters are rejected. Resolves when running work ended. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    this.timer?.cancel();
    this.probeTimer?.cancel();
    this.snapshotTimer?.cancel();
    this.maintenance.close();
    this.inFlight?.abort(new ReplicaError("aborted", "the engine stopped"));
    const err = new ReplicaError("aborted", `the shipper of replica ${this.name} stopped`);
    for (const w of this.waiters.splice(0)) w.reject(err);
    await this.maintenance.drain();
    while (this.running) await new Promise((r) => setTimeout(r, 5));
  }

  /** Where the replica is and how it is doing. */
  status(): ShipperStatus {
    const log = this.context.log;
    const tip = log.tip?.txid ?? 0;
    // Before the first pass has found the replica's tip, everything in the log counts.
    const first = this.resumedValue ? log.after(this.txid)[0] : log.entries[0];
    const oldest = first?.timestamp ?? log.stagedSince;
    return {
      name: this.name,
      type: this.client.type,
      location: this.client.location,
      txid: this.txid,
      pendingTXIDs: Math.max(0, tip - this.txid) + (log.staged > 0 ? 1 : 0),
      lagMs: oldest === undefined ? 0 : Math.max(0, this.context.clock.now() - oldest),
      lastSyncAt: this.lastSyncAt,
      lastError: this.lastError,
      lastVerifiedAt: this.lastVerifiedAt,
      validationError: this.validationError,
    };
  }

  // ------------------------------------------------------------------------------------
  // The loop

  private kick(): void {
    if (this.running || this.closed) return;
    if (this.timer !== undefined && this.urgent === 0) return;
    this.timer?.cancel();
    this.timer = undefined;
    const now = this.context.clock.now();
    const at = this.policy.nextAt(this.urgent > 0 || this.backlog);
    if (at <= now) {
      void this.run();
      return;
    }
    this.timer = this.context.clock.schedule(at - now, () => {
      this.timer = undefined;
      void this.run();
    });
  }

  private async run(): Promise<void> {
    if (this.running || this.closed) return;
    this.running = true;
    try {
      while (this.dirty && !this.closed) {
        if (this.context.clock.now() < this.policy.nextAt(this.urgent > 0 || this.backlog)) break;
        this.dirty = false;
        const controller = new AbortController();
        this.inFlight = controller;
        const pass = ++this.passes;
        try {
          const outcome = await this.pass(AbortSignal.any([this.context.signal, controller.signal]));
          this.succeeded(outcome);
        } catch (err) {
          this.failedPass(err, pass);
          break;
        } finally {
          this.inFlight = undefined;
        }
      }
    } finally {
      this.running = false;
      if (!this.closed && this.dirty && this.timer === undefined) this.kick();
    }
  }

  private succeeded(outcome: { uploaded: boolean; more: boolean; retryInMs?: number }): void {
    if (outcome.uploaded) this.policy.uploaded(this.context.clock.now());
    else this.policy.succeeded();
    this.probeTimer?.cancel();
    this.probeTimer = undefined;
    this.lastError = undefined;
    this.lastSyncAt = new Date(this.context.clock.now());
    this.backlog = outcome.more;
    if (outcome.more) this.dirty = true;
    if (outcome.retryInMs !== undefined) {
      this.dirty = true;
      this.timer?.cancel();
      this.timer = this.context.clock.schedule(outcome.retryInMs, () => {
        this.timer = undefined;
        void this.run();
      });
    }
    const txid = this.txid;
    const done = this.waiters.filter((w) => w.txid <= txid);
    this.waiters = this.waiters.filter((w) => w.txid > txid);
    for (const w of done) w.resolve();
  }

  private failedPass(err: unknown, pass: number): void {
    const delay = this.policy.failed(this.context.clock.now());
    this.lastError = describe(err);
    this.dirty = true;
    // Callers that began waiting before this pass started hear of its failure.
    const failed = this.waiters.filter((w) => w.after < pass);
    this.waiters = this.waiters.filter((w) => w.after >= pass);
    for (const w of failed) w.reject(err);
    if (this.closed) return;
    this.context.logger.warn("sync failed, will retry", { ...this.fields, error: this.lastError, retryInMs: Math.round(delay), attempt: this.policy.failures });
    this.context.onEvent?.({ type: "failed", replica: this.name, what: "sync", error: err, retryInMs: delay });
    this.timer?.cancel();
    this.timer = this.context.clock.schedule(delay, () => {
      this.timer = undefined;
      void this.run();
    });
    if (delay > PROBE_MS) this.scheduleProbe();
  }

  /**
   * While backing off: one cheap request per second (the stat of the file a retry would
   * write). When the store answers (found or not) after a probe found it unreachable, the
   * back-off ends and the retry runs at once, instead of waiting out up to 30 s after an
   * outage. A store that answers reads from the first probe on failed for another reason
   * (writes refused: a read-only bucket, a quota, SlowDown): the back-off stands.
   */
  private scheduleProbe(): void {
    this.probeTimer?.cancel();
    this.probeTimer = this.context.clock.schedule(PROBE_MS, () => {
      this.probeTimer = undefined;
      if (this.closed || !this.failing || this.running) return;
      const ref: LtxFileRef = { level: 0, minTXID: this.txid + 1, maxTXID: this.txid + 1 };
      this.client.statLtxFile(ref, { signal: AbortSignal.any([this.context.signal, AbortSignal.timeout(5000)]) }).then(
        () => this.answered(),
        (err: unknown) => {
          if (isReplicaError(err, "not-found")) return this.answered();
          this.probeFailed = true;
          this.scheduleProbe();
        },
      );
    });
  }

  private answered(): void {
    if (!this.probeFailed) return;
    this.probeFailed = false;
    this.recovered();
  }

  private recovered(): void {
    if (this.closed || !this.failing) return;
    this.context.logger.info("replica reachable again, retrying now", this.fields);
    this.policy.probeSucceeded();
    this.timer?.cancel();
    this.timer = undefined;
    this.kick();
  }

  // ------------------------------------------------------------------------------------
  // A pass

  private async pass(signal: AbortSignal): Promise<{ uploaded: boolean; more: boolean; retryInMs?: number }> {
    if (!this.resumedValue) await this.resume(signal);
    if (this.positionValue === undefined || this.snapshotReason !== undefined) return this.snapshot(signal, this.snapshotReason ?? "initial snapshot of an empty replica");
    if (this.context.feeder.prepare?.() === false) return { uploaded: false, more: false };
    const position = this.positionValue;
    const log = this.context.log;
    // What was staged becomes the next TXID once everything sealed before it is shipped.
    if (log.after(position.txid).length === 0) log.seal(this.options.maxBatchBytes);
    const entries = log.after(position.txid);
    const first = entries[0];
    if (first === undefined) return this.afterCatchUp(signal);
    if (first.lineage !== undefined) return this.snapshot(signal, first.lineage);
    if (first.minTXID !== position.txid + 1) {
      return this.snapshot(signal, `the local log no longer holds TXID ${formatTxid(position.txid + 1)} (dropped before this replica took it)`);
    }
    if (first.preApply !== position.postApply) {
      return this.snapshot(signal, `the local log's TXID ${formatTxid(first.minTXID)} does not continue the replica's checksum ${formatChecksum(position.postApply)}`);
    }
    const batch = this.batch(entries);
    // Another writer's file at our name: the next pass snapshots above what is there.
    if (!(await this.upload(batch, signal))) return { uploaded: false, more: true, retryInMs: 0 };
    // More to do: entries past the batch, or changes staged meanwhile (during an outage).
    const more = batch.length < entries.length || log.staged > 0;
    if (more) return { uploaded: true, more };
    return { ...(await this.afterCatchUp(signal)), uploaded: true };
  }

  /** The entries of the next upload: contiguous, no break, within `maxBatchBytes` (at least one); a failed one repeated exactly. */
  private batch(entries: readonly LogEntry[]): LogEntry[] {
    const retry = this.retry;
    const out: LogEntry[] = [];
    let bytes = 0;
    for (const e of entries) {
      if (e.lineage !== undefined) break;
      if (out.length > 0 && e.minTXID !== out[out.length - 1]!.maxTXID + 1) break;
      if (retry !== undefined && entries[0]!.minTXID === retry.minTXID) {
        out.push(e);
        if (e.maxTXID >= retry.maxTXID) break;
        continue;
      }
      if (out.length > 0 && (bytes + e.size > this.options.maxBatchBytes || out.length >= this.options.maxEntriesPerUpload)) break;
      out.push(e);
      bytes += e.size;
    }
    return out;
  }

  /** Uploads one batch as a level-0 file; false when another writer's file holds its name (nothing written). */
  private async upload(batch: readonly LogEntry[], signal: AbortSignal): Promise<boolean> {
    const first = batch[0]!;
    const last = batch[batch.length - 1]!;
    const ref: LtxFileRef = { level: 0, minTXID: first.minTXID, maxTXID: last.maxTXID };
    this.retry = { minTXID: ref.minTXID, maxTXID: ref.maxTXID };
    const started = performance.now();
    const info = await this.createOnly(ref, first.preApply, last.postApply, signal, () =>
      this.client.writeLtxFile(ref, entriesBody(this.context.log, batch, signal), { timestamp: new Date(last.timestamp), signal, ifNotExists: true }),
    );
    if (info === undefined) return false;
    this.retry = undefined;
    this.positionValue = { txid: last.maxTXID, postApply: last.postApply };
    this.context.log.release(this.name, last.maxTXID);
    this.maintenance.noteWritten(0);
    const durationMs = performance.now() - started;
    this.context.logger.debug("ltx file uploaded", { ...this.fields, level: 0, minTXID: formatTxid(ref.minTXID), txid: formatTxid(ref.maxTXID), entries: batch.length, size: info.size, ms: Math.round(durationMs) });
    this.context.onEvent?.({ type: "uploaded", replica: this.name, level: 0, minTXID: ref.minTXID, maxTXID: ref.maxTXID, bytes: info.size, durationMs, timestamp: new Date(last.timestamp) });
    return true;
  }

  /**
   * A create-only write. When the name is taken, the file there must be ours (an upload
   * that landed although its answer was lost: same checksums): then it counts as
   * written. Otherwise another writer made it: nothing is written over it, the replica
   * is not ours to continue, and undefined is returned (a snapshot above it follows).
   */
  private async createOnly(ref: LtxFileRef, preApply: bigint, postApply: bigint, signal: AbortSignal, write: () => Promise<LtxFileInfo>): Promise<LtxFileInfo | undefined> {
    try {
      return await write();
    } catch (err) {
      if (!isReplicaError(err, "exists")) throw err;
    }
    const found = await this.client.statLtxFile(ref, { signal });
    const ends = await readEnds(this.client, found, signal);
    const pre = ref.minTXID === 1 ? 0n : ends.header.preApplyChecksum;
    if (pre === (ref.minTXID === 1 ? 0n : preApply) && ends.post === postApply) return found;
    this.notOurs(Math.max(ref.maxTXID, this.tip?.txid ?? 0), `level ${ref.level} file ${formatTxid(ref.minTXID)}-${formatTxid(ref.maxTXID)} was written by another writer (checksum ${formatChecksum(ends.post)})`);
    this.dirty = true;
    return undefined;
  }

  /** Caught up: a periodic (or first) snapshot when one is due and something changed since the last. */
  private async afterCatchUp(signal: AbortSignal): Promise<{ uploaded: boolean; more: boolean }> {
    if (!this.snapshotDue) return { uploaded: false, more: false };
    if (this.newestSnapshot !== undefined && this.newestSnapshot.txid >= this.txid) {
      // Nothing changed since the newest snapshot: an idle database is not re-snapshotted.
      this.snapshotDue = false;
      this.scheduleSnapshot(this.context.clock.now());
      return { uploaded: false, more: false };
    }
    return this.snapshot(signal, this.newestSnapshot === undefined ? "first snapshot" : "periodic");
  }

  /**
   * A snapshot at the log's tip (after the feeder appended what is committed). Its TXID
   * must be above any file that is not ours; its pages must add up to the log's
   * checksum, else the feeder starts a new lineage and the next pass snapshots that.
   */
  private async snapshot(signal: AbortSignal, reason: string): Promise<{ uploaded: boolean; more: boolean; retryInMs?: number }> {
    // After meeting another writer's files, where they end now decides the TXID to snapshot above.
    if (this.floor > 0) this.floor = Math.max(this.floor, (await readReplicaTip(this.client, signal)).txid);
    const state = await this.context.feeder.snapshotState(signal);
    let upload: EncodedUpload;
    let size: number;
    const started = performance.now();
    try {
      if (state.txid <= this.floor) {
        // Files up to the floor are another writer's: move the TXID past them first.
        this.context.log.advance(this.floor + 1, this.context.clock.now());
        return { uploaded: false, more: true, retryInMs: 0 };
      }
      if (this.positionValue === undefined || this.snapshotReason !== undefined) {
        const level = this.positionValue === undefined && this.floor === 0 ? "info" : "warn";
        this.context.logger[level](level === "info" ? "taking the initial snapshot" : "taking a snapshot", { ...this.fields, reason, txid: formatTxid(state.txid) });
      }
      upload = new EncodedUpload(
        {
          header: {
            pageSize: state.pageSize,
            commit: state.commit,
            minTXID: 1,
            maxTXID: state.txid,
            timestamp: state.timestamp,
            walOffset: state.wal?.start ?? 0,
            walSize: state.wal === undefined ? 0 : state.wal.offset - state.wal.start,
            walSalt1: state.wal?.salt1 ?? 0,
            walSalt2: state.wal?.salt2 ?? 0,
          },
          pages: () => state.pages(),
          verify: () => state.verify(),
          expected: state.expected,
        },
        signal,
      );
      try {
        const ref: LtxFileRef = { level: SNAPSHOT_LEVEL, minTXID: 1, maxTXID: state.txid };
        const body = upload.body();
        const info = await this.createOnly(ref, 0n, state.expected, signal, () => this.client.writeLtxFile(ref, body, { timestamp: new Date(state.timestamp), signal, ifNotExists: true }));
        if (info === undefined) return { uploaded: false, more: true, retryInMs: 0 };
        size = info.size;
      } catch (err) {
        const mismatch = findLtxError(err, "post-apply-checksum-mismatch");
        if (mismatch === undefined) throw err;
        const message = `the database at TXID ${formatTxid(state.txid)} does not add up to the checksum ${formatChecksum(state.expected)} the log holds for it: ${mismatch.message}`;
        this.context.logger.error("the database is not what the log says; starting a new lineage", { ...this.fields, error: message });
        this.context.onEvent?.({ type: "diverged", replica: this.name, message });
        this.context.feeder.diverged(message);
        return { uploaded: false, more: true, retryInMs: 0 };
      }
    } finally {
      state.release();
    }
    const durationMs = performance.now() - started;
    this.positionValue = { txid: state.txid, postApply: state.expected };
    this.snapshotReason = undefined;
    this.retry = undefined;
    this.newestSnapshot = { txid: state.txid, at: state.timestamp };
    this.snapshotDue = false;
    this.scheduleSnapshot(state.timestamp);
    this.context.log.release(this.name, state.txid);
    this.maintenance.noteWritten(SNAPSHOT_LEVEL);
    if (this.floor > 0) this.maintenance.skipTo(state.txid);
    // Older snapshots (and what only they needed) may go now, and once this one is snapshotRetention old.
    this.maintenance.planRetention(this.context.clock.now(), state.timestamp + this.options.snapshotRetention);
    this.context.logger.info("snapshot uploaded", { ...this.fields, txid: formatTxid(state.txid), pages: upload.pages, size, reason, ms: Math.round(durationMs) });
    this.context.onEvent?.({ type: "snapshot", replica: this.name, txid: state.txid, pages: upload.pages, bytes: size, reason, durationMs, timestamp: new Date(state.timestamp) });
    return { uploaded: true, more: this.context.log.after(state.txid).length > 0 };
  }

  // ------------------------------------------------------------------------------------
  // Where the replica is

  /**
   * Decides where to continue: at the replica's tip when the log knows that exact state
   * and the chain from the newest snapshot to it verifies; otherwise a snapshot (above
   * every file there when the tip is not one the log knows).
   */
  private async resume(signal: AbortSignal): Promise<void> {
    const tip = this.tip ?? (await readReplicaTip(this.client, signal));
    this.tip = tip;
    const newest = await this.listNewestSnapshot(signal);
    this.newestSnapshot = newest;
    const now = this.context.clock.now();
    if (tip.txid === 0) {
      this.positionValue = undefined;
    } else {
      try {
        const ours = this.context.log.checksumAt(tip.txid);
        if (ours === undefined || ours !== tip.postApply) {
          throw new NotOurs(
            ours === undefined
              ? `the replica's last state (TXID ${formatTxid(tip.txid)}) is not one the local log knows`
              : `the replica's checksum at TXID ${formatTxid(tip.txid)} is ${formatChecksum(tip.postApply)}, not the database's ${formatChecksum(ours)}`,
          );
        }
        const chain = await verifyReplicaChain(this.client, signal).catch((err: unknown) => {
          if (isReplicaError(err, "conflict") || isReplicaError(err, "non-contiguous")) throw new NotOurs(err.message);
          throw err;
        });
        if (chain.txid !== tip.txid || chain.postApply !== tip.postApply) throw new NotOurs(`the replica's chain ends at TXID ${formatTxid(chain.txid)}, not at its highest file`);
        this.positionValue = { txid: tip.txid, postApply: tip.postApply };
        this.context.logger.debug("the replica's position is the log's", { ...this.fields, txid: formatTxid(tip.txid) });
      } catch (err) {
        if (!(err instanceof NotOurs)) throw err;
        this.notOurs(tip.txid, err.message);
      }
      if (newest === undefined) this.snapshotDue = true;
      // What an earlier run left may be deletable now, once its level-0 files age, and once the newest snapshot falls out of the window.
      this.maintenance.planRetention(now, now + this.options.l0Retention, (newest?.at ?? now) + this.options.snapshotRetention);
    }
    this.resumedValue = true;
    this.context.log.register(this.name, this.positionValue?.txid ?? 0);
    this.scheduleSnapshot(newest?.at ?? now);
  }

  /** The replica holds a chain that is not ours up to `txid`: never write on top of it. */
  private notOurs(txid: number, reason: string): void {
    this.floor = Math.max(this.floor, txid);
    this.positionValue = undefined;
    this.snapshotReason = `${reason}: a snapshot above TXID ${formatTxid(txid)} starts a chain of our own`;
    this.context.logger.warn("the replica's files are not ours to continue", { ...this.fields, reason, txid: formatTxid(txid) });
    this.context.onEvent?.({ type: "conflict", replica: this.name, message: reason });
  }

  /** A compaction met files that do not chain: check whether the replica's tip is still ours. */
  private chainBroken(reason: string): void {
    if (this.closed) return;
    void (async () => {
      try {
        const tip = await readReplicaTip(this.client, this.context.signal);
        const chain = await verifyReplicaChain(this.client, this.context.signal).catch(() => undefined);
        const mine = this.positionValue;
        if (chain !== undefined && mine !== undefined && tip.txid <= mine.txid && chain.txid === mine.txid && chain.postApply === mine.postApply) return;
        this.notOurs(Math.max(tip.txid, this.txid), `compaction found files that do not chain (${reason})`);
        this.request();
      } catch (err) {
        this.report("checking the replica's chain", err);
      }
    })();
  }

  private async listNewestSnapshot(signal: AbortSignal): Promise<{ txid: number; at: number } | undefined> {
    let newest: { txid: number; at: number } | undefined;
    for await (const f of this.client.ltxFiles(SNAPSHOT_LEVEL, { signal })) {
      if (f.minTXID === 1 && (newest === undefined || f.maxTXID > newest.txid)) newest = { txid: f.maxTXID, at: f.createdAt.getTime() };
    }
    return newest;
  }

  private scheduleSnapshot(from: number): void {
    this.snapshotTimer?.cancel();
    if (this.closed) return;
    const due = from + this.options.snapshotInterval + this.snapshotJitter;
    this.snapshotTimer = this.context.clock.schedule(Math.max(0, due - this.context.clock.now()), () => {
      this.snapshotDue = true;
      this.request();
    });
  }

  /**
   * Validation: the replica's chain from its newest snapshot holds together and ends at
   * a checksum the database had at that TXID (as the log remembers it).
   */
  private async validate(): Promise<void> {
    const fail = (message: string): never => {
      this.validationError = message;
      this.context.onEvent?.({ type: "validated", replica: this.name, ok: false, message });
      throw new ReplicaError("conflict", message);
    };
    let chain;
    try {
      chain = await verifyReplicaChain(this.client, this.context.signal);
    } catch (err) {
      // A broken chain is a validation failure; a replica that cannot be read is not.
      if (isReplicaError(err, "conflict") || isReplicaError(err, "non-contiguous")) fail(err.message);
      throw err;
    }
    const ours = this.context.log.checksumAt(chain.txid);
    if (ours === undefined) {
      this.context.logger.debug("validation skipped: the replica's TXID is not one the log remembers", { ...this.fields, txid: formatTxid(chain.txid) });
      return;
    }
    if (ours !== chain.postApply) {
      fail(`replica ${this.name} has checksum ${formatChecksum(chain.postApply)} at TXID ${formatTxid(chain.txid)} but the database had ${formatChecksum(ours)}`);
    }
    this.validationError = undefined;
    this.lastVerifiedAt = new Date(this.context.clock.now());
    this.context.onEvent?.({ type: "validated", replica: this.name, ok: true, txid: chain.txid });
    this.context.logger.debug("replica verified", { ...this.fields, txid: formatTxid(chain.txid), files: chain.files });
  }

  private report(what: string, err: unknown): void {
    if (this.closed) return;
    this.context.logger.warn(`${what} failed`, { ...this.fields, error: describe(err) });
    this.context.onEvent?.({ type: "failed", replica: this.name, what, error: err });
  }
}

/** A short text for status and logs: the message, with the cause's when it adds something. */
export function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause.message : undefined;
  return cause !== undefined && !err.message.includes(cause) ? `${err.message}: ${cause}` : err.message;
}

/** The LtxError of `code` in an error or its causes (a client wraps what a body throws). */
function findLtxError(err: unknown, code: string): Error | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (isLtxError(e) && e.code === code) return e;
  }
  return undefined;
}
