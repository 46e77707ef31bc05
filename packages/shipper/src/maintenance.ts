/**
 * A replica's upkeep besides uploads: compaction into levels, retention, validation.
 * Idle replicas cost no requests: compaction runs only when the level below received
 * files, retention only at moments from which something may have become deletable.
 */
import { formatTxid } from "@sqlrep/ltx";
import { compactLevel, enforceRetention, isReplicaError, type LevelSchedule, type ReplicaClient } from "@sqlrep/replica";
import type { Clock, Timer } from "./clock.js";
import type { Logger } from "./logger.js";
import { RetentionPlan } from "./retention-plan.js";

/** The maintenance settings of a replica (ms). */
export interface MaintenanceOptions {
  levels: readonly LevelSchedule[];
  snapshotRetention: number;
  l0Retention: number;
  retentionEnabled: boolean;
  validationInterval: number;
}

/** What maintenance asks of its shipper. */
export interface MaintenanceHost {
  readonly client: ReplicaClient;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly fields: Record<string, unknown>;
  readonly signal: AbortSignal;
  /** Whether the shipper knows its position (no compaction before it resumed). */
  readonly resumed: boolean;
  /** The newest snapshot this replica holds (compaction skips a broken region before it). */
  readonly newestSnapshotTXID: number;
  /** Verifies the replica's chain against what was shipped (the validation task). */
  validate(): Promise<void>;
  /** A compaction found files that do not chain: the shipper checks whether the replica is still its own. */
  chainBroken(reason: string): void;
  /** A task failed (reported as an error event). */
  failed(what: string, err: unknown): void;
  /** A file was written at `level` by maintenance (a compaction). */
  wrote(level: number, file: { minTXID: number; maxTXID: number; size: number }): void;
}

/** Compaction, retention and validation of one replica, on jittered timers, one task at a time. */
export class ReplicaMaintenance {
  private chain: Promise<void> = Promise.resolve();
  private readonly loops = new Map<string, Timer>();
  private readonly written = new Map<number, number>();
  private readonly retention: RetentionPlan;
  private retentionTimer: { at: number; timer: Timer } | undefined;
  private skipBefore = 0;
  private closed = false;

  constructor(
    private readonly host: MaintenanceHost,
    private readonly options: MaintenanceOptions,
  ) {
    this.retention = new RetentionPlan(options.l0Retention);
  }

  /** Starts the compaction and validation loops (each level compacts once soon: what was written before is unknown). */
  start(): void {
    for (const { level, interval } of this.options.levels) {
      this.written.set(level - 1, 1);
      this.every(`compact ${level}`, interval, () => this.enqueue(`compaction into level ${level}`, () => this.compact(level)));
    }
    if (this.options.validationInterval > 0) this.every("validation", this.options.validationInterval, () => this.enqueue("validation", () => this.host.validate()));
  }

  /** A file reached `level`: the level above has something to compact. */
  noteWritten(level: number): void {
    this.written.set(level, (this.written.get(level) ?? 0) + 1);
  }

  /** Retention runs once each of `moments` has passed (rounded up to `RetentionPlan`'s grid). */
  planRetention(...moments: number[]): void {
    if (!this.options.retentionEnabled || this.closed) return;
    for (const at of moments) this.retention.request(at);
    this.arm();
  }

  /** Compaction into level 1 skips files that end at or before `txid` (a region replaced by a snapshot). */
  skipTo(txid: number): void {
    this.skipBefore = Math.max(this.skipBefore, txid);
    this.written.set(0, 1);
  }

  /** Resolves when the running task is done. */
  drain(): Promise<void> {
    return this.chain;
  }

  close(): void {
    this.closed = true;
    this.retentionTimer?.timer.cancel();
    for (const t of this.loops.values()) t.cancel();
  }

  /** Runs `fn` about every `interval` ms (±10 %, so replicas and databases drift apart). */
  private every(key: string, interval: number, fn: () => void): void {
    const jittered = () => interval * (0.9 + Math.random() * 0.2);
    const tick = () => {
      if (this.closed) return;
      fn();
      this.loops.set(key, this.host.clock.schedule(jittered(), tick));
    };
    this.loops.set(key, this.host.clock.schedule(jittered(), tick));
  }

  private enqueue(what: string, task: () => Promise<void>): void {
    if (this.closed) return;
    this.chain = this.chain.then(async () => {
      if (this.closed) return;
      try {
        await task();
      } catch (err) {
        if (!this.closed) this.host.failed(what, err);
      }
    });
  }

  private arm(): void {
    const next = this.retention.next();
    if (next === undefined || this.closed || (this.retentionTimer !== undefined && this.retentionTimer.at <= next)) return;
    this.retentionTimer?.timer.cancel();
    const timer = this.host.clock.schedule(Math.max(0, next - this.host.clock.now()), () => {
      this.retentionTimer = undefined;
      this.enqueue("retention", () => this.retain());
    });
    this.retentionTimer = { at: next, timer };
  }

  private async compact(level: number): Promise<void> {
    if ((this.written.get(level - 1) ?? 0) === 0 || !this.host.resumed) return;
    this.written.set(level - 1, 0);
    try {
      const after = level === 1 ? this.skipBefore : 0;
      const file = await compactLevel(this.host.client, level, { signal: this.host.signal, after });
      if (file === undefined) return;
      this.noteWritten(level);
      this.host.wrote(level, file);
      // Level-0 files this one covers can go once they are l0Retention old; any older ones it covers, now.
      const now = this.host.clock.now();
      if (level === 1) this.planRetention(now, now + this.options.l0Retention);
      this.host.logger.debug("compaction complete", { ...this.host.fields, level, minTXID: formatTxid(file.minTXID), maxTXID: formatTxid(file.maxTXID), size: file.size });
    } catch (err) {
      this.written.set(level - 1, 1);
      if (isReplicaError(err, "corrupt") || isReplicaError(err, "non-contiguous")) this.host.chainBroken(err.message);
      throw err;
    }
  }

  /**
   * Retention now, after the task running (`replicate -once -enforce-retention`), whatever
   * the schedule and `retentionEnabled` (an explicit request). Resolves with how many
   * files it deleted; rejects with its failure.
   */
  retainNow(): Promise<number> {
    const run = this.chain.then(() => this.enforce(this.host.clock.now()));
    this.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async enforce(now: number): Promise<number> {
    const { deleted } = await enforceRetention(this.host.client, {
      snapshotRetention: this.options.snapshotRetention,
      l0Retention: this.options.l0Retention,
      levels: this.options.levels.map((l) => l.level),
      now: new Date(now),
      signal: this.host.signal,
    });
    if (deleted.length > 0) this.host.logger.debug("retention deleted files", { ...this.host.fields, files: deleted.length });
    return deleted.length;
  }

  private async retain(): Promise<void> {
    const started = this.host.clock.now();
    // Another run already saw what this one was for.
    const due = this.retention.next();
    if (due === undefined || due > started) return this.arm();
    this.retention.started(started);
    try {
      await this.enforce(started);
    } catch (err) {
      this.retention.failed(this.host.clock.now());
      throw err;
    } finally {
      this.arm();
    }
  }
}
