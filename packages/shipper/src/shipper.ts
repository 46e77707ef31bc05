/**
 * One replica of one database: uploads what its log holds with Litestream's policy,
 * takes snapshots when the chain cannot continue, retries, and keeps the replica
 * compacted, pruned and verified. The engine that fills the log never waits for it.
 */
import { isReplicaError, ReplicaError, type LtxFileRef, type ReplicaClient } from "@sqlrep/replica";
import type { Timer } from "./clock.js";
import { UploadPolicy } from "./policy.js";
import type { ShipperContext, ShipperOptions } from "./shipper-options.js";
import { ReplicaSync, type PassOutcome, type ResolvedShipperOptions } from "./replica-sync.js";
import type { ReplicaTip } from "./replica-tip.js";
import type { ShipperStatus } from "./status.js";

export type { ShipperContext, ShipperOptions } from "./shipper-options.js";

/** While backing off longer than this, the store is probed this often, so an upload follows its recovery at once. */
const PROBE_MS = 1000;

interface Waiter {
  txid: number;
  /** The pass count when it began waiting: only a pass started after it can fail it. */
  after: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Ships a log to one replica. This class decides when passes run: the upload policy (at
 * once after a quiet spell, at most one upload per sync interval under load), back-off
 * with a probe of the store, `waitFor` callers, the flush at shutdown, one status. What
 * a pass does (resume, upload, snapshot, validate; never writing over a chain it cannot
 * verify as its own) is {@link ReplicaSync}'s.
 */
export class LtxShipper {
  readonly name: string;
  readonly client: ReplicaClient;
  private readonly options: ResolvedShipperOptions;
  private readonly policy: UploadPolicy;
  private readonly sync: ReplicaSync;

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
    const shipper = this;
    this.sync = new ReplicaSync(context, this.options, {
      get closed() {
        return shipper.closed;
      },
      request: () => this.request(),
      report: (what, err) => this.report(what, err),
    });
  }

  private get fields(): Record<string, unknown> {
    return { db: this.context.label, replica: this.name };
  }

  /** The replica's TXID as this shipper knows it (0 before it resumed or snapshotted). */
  get txid(): number {
    return this.sync.txid;
  }

  /** Whether the shipper knows where the replica is. */
  get resumed(): boolean {
    return this.sync.resumedValue;
  }

  /** The replica's last state as read by `loadTip` (the feeder resumes from the best of these). */
  get replicaTip(): ReplicaTip | undefined {
    return this.sync.tip;
  }

  /** Whether something staged now would be uploaded at once (no pass running, the throttle and back-off allow it). */
  get wouldUploadNow(): boolean {
    return !this.closed && !this.running && this.sync.resumedValue && this.policy.nextAt(this.urgent > 0) <= this.context.clock.now();
  }

  /** True while uploads fail (backing off). */
  get failing(): boolean {
    return this.policy.failures > 0;
  }

  /** Reads the replica's last state (before the feeder resumes); a failure is retried by the first pass. */
  loadTip(signal?: AbortSignal): Promise<ReplicaTip | undefined> {
    return this.sync.loadTip(signal);
  }

  /**
   * Starts shipping: a first pass resumes (or snapshots) and uploads what the log holds.
   * Resolves once that pass ran, whether or not it succeeded (failures are retried).
   */
  async start(): Promise<void> {
    this.context.log.register(this.name, 0);
    this.unsubscribe = this.context.log.subscribe(() => this.request());
    this.sync.maintenance.start();
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
    if (this.txid >= txid && this.sync.resumedValue) return Promise.resolve();
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
   * aborted. With `retryInterval` (ms; Litestream's `shutdown-sync-interval`) a failed
   * upload is retried that often instead of on the growing back-off. Resolves with how
   * many TXIDs the replica lacks (0: all shipped).
   */
  async flush(deadline: number, retryInterval?: number): Promise<{ missing: number; lastError?: string | undefined }> {
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
          if (!timeout.signal.aborted) await new Promise<void>((resolve) => clock.schedule(Math.min(retryInterval ?? PROBE_MS, Math.max(0, deadline - clock.now())), resolve));
          // The interval, not the back-off, paces the retries now.
          if (retryInterval !== undefined) this.policy.probeSucceeded();
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

  /**
   * Uploads a snapshot at the log's tip now, even if nothing changed since the last one
   * (`replicate -once -force-snapshot`): after the pass running, never beside one.
   * Resolves with the snapshot's TXID; rejects with the failure (also reported as usual).
   */
  async snapshotNow(signal?: AbortSignal): Promise<number> {
    if (this.closed) throw new ReplicaError("aborted", `the shipper of replica ${this.name} is stopped`);
    while (this.running) await new Promise((r) => setTimeout(r, 5));
    this.running = true;
    this.timer?.cancel();
    this.timer = undefined;
    try {
      const outcome = await this.sync.forcedSnapshot(signal ? AbortSignal.any([this.context.signal, signal]) : this.context.signal);
      this.succeeded(outcome);
      // Not `txid`: level-0 files the snapshot overtook may still be on their way.
      return this.sync.newestSnapshotTXID;
    } catch (err) {
      this.failedPass(err, ++this.passes);
      throw err;
    } finally {
      this.running = false;
      if (!this.closed && this.dirty && this.timer === undefined) this.kick();
    }
  }

  /**
   * Runs retention on the replica now (`replicate -once -enforce-retention`), after the
   * maintenance task running. Resolves with how many files were deleted.
   */
  enforceRetention(): Promise<number> {
    if (this.closed) return Promise.reject(new ReplicaError("aborted", `the shipper of replica ${this.name} is stopped`));
    return this.sync.maintenance.retainNow();
  }

  /** Stops timers and maintenance; waiters are rejected. Resolves when running work ended. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    this.timer?.cancel();
    this.probeTimer?.cancel();
    this.sync.close();
    this.sync.maintenance.close();
    this.inFlight?.abort(new ReplicaError("aborted", "the engine stopped"));
    const err = new ReplicaError("aborted", `the shipper of replica ${this.name} stopped`);
    for (const w of this.waiters.splice(0)) w.reject(err);
    await this.sync.maintenance.drain();
    while (this.running) await new Promise((r) => setTimeout(r, 5));
  }

  /** Where the replica is and how it is doing. */
  status(): ShipperStatus {
    const log = this.context.log;
    const tip = log.tip?.txid ?? 0;
    // Before the first pass has found the replica's tip, everything in the log counts.
    const first = this.sync.resumedValue ? log.after(this.txid)[0] : log.entries[0];
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
      lastVerifiedAt: this.sync.lastVerifiedAt,
      validationError: this.sync.validationError,
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
          const outcome = await this.sync.pass(AbortSignal.any([this.context.signal, controller.signal]));
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

  private succeeded(outcome: PassOutcome): void {
    if (outcome.uploaded) this.policy.uploaded(this.context.clock.now());
    else this.policy.succeeded();
    this.probeTimer?.cancel();
    this.probeTimer = undefined;
    this.lastError = undefined;
    this.lastSyncAt = new Date(this.context.clock.now());
    this.backlog = outcome.more;
    if (outcome.more || outcome.staged) this.dirty = true;
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
