/**
 * What one pass of a shipper does to its replica: find where the replica is (resume),
 * upload what the log holds after it, snapshot where the chain cannot continue, and
 * validate. The shipper around it decides when passes run, retries and reports.
 */
import { formatChecksum, formatTxid, isLtxError } from "@sqlrep/ltx";
import { isReplicaError, ReplicaError, SNAPSHOT_LEVEL, type LevelSchedule, type LtxFileInfo, type LtxFileRef, type ReplicaClient } from "@sqlrep/replica";
import type { Timer } from "./clock.js";
import type { LogEntry } from "./ltx-log.js";
import { ReplicaMaintenance } from "./maintenance.js";
import { readEnds, readReplicaTip, verifyReplicaChain, type ReplicaTip } from "./replica-tip.js";
import type { ShipperContext, ShipperOptions } from "./shipper-options.js";
import { EncodedUpload, entriesBody } from "./upload-body.js";

/** A shipper's options with every default applied. */
export type ResolvedShipperOptions = Required<Omit<ShipperOptions, "levels">> & { levels: readonly LevelSchedule[] };

/** What a pass did: uploaded something; has more to do (at once, or after `retryInMs`); left staged changes for a later pass. */
export interface PassOutcome {
  uploaded: boolean;
  more: boolean;
  retryInMs?: number;
  staged?: boolean;
}

/** What the sync needs of its shipper. */
export interface SyncHooks {
  /** The shipper is closed: nothing more is scheduled or reported. */
  readonly closed: boolean;
  /** Asks for a pass (a periodic snapshot fell due; the chain must be rechecked). */
  request(): void;
  /** A background step failed (logged and told as an event). */
  report(what: string, err: unknown): void;
}

/** The upload that failed last: repeated exactly, so a file that landed anyway is rewritten byte for byte. */
interface Retry {
  minTXID: number;
  maxTXID: number;
}

class NotOurs extends Error {}

/**
 * The replica side of one shipper. Position: the replica's TXID and checksum as uploaded
 * (or verified) here. A pass uploads every entry after the position (up to
 * `maxBatchBytes`) as one level-0 file; where the log cannot continue the replica's
 * chain (a lineage break, entries dropped before they were uploaded, files that are not
 * ours) it writes a snapshot at the log's tip instead, above every file that is not ours.
 */
export class ReplicaSync {
  readonly maintenance: ReplicaMaintenance;
  positionValue: { txid: number; postApply: bigint } | undefined;
  resumedValue = false;
  tip: ReplicaTip | undefined;
  lastVerifiedAt: Date | undefined;
  validationError: string | undefined;
  /** Files up to this TXID may exist in the replica that are not ours: a snapshot must be above it. */
  private floor = 0;
  private snapshotReason: string | undefined;
  private newestSnapshot: { txid: number; at: number } | undefined;
  private snapshotDue = false;
  private snapshotTimer: Timer | undefined;
  private readonly snapshotJitter: number;
  private retry: Retry | undefined;
  /**
   * A periodic snapshot taken while level 0 was behind it (commits staged after the last
   * upload): the level-0 files up to the snapshot's TXID still go, ending exactly there,
   * so every TXID stays restorable from level 0 and no file straddles the snapshot.
   */
  private l0Boundary: number | undefined;

  constructor(
    private readonly context: ShipperContext,
    private readonly options: ResolvedShipperOptions,
    private readonly hooks: SyncHooks,
  ) {
    // Per-replica jitter so databases (and replicas) do not snapshot in lockstep.
    this.snapshotJitter = Math.floor(Math.random() * Math.min(options.snapshotInterval * 0.1, 3_600_000));
    const sync = this;
    this.maintenance = new ReplicaMaintenance(
      {
        client: this.client,
        clock: context.clock,
        logger: context.logger,
        fields: this.fields,
        signal: context.signal,
        get resumed() {
          return sync.resumedValue;
        },
        get newestSnapshotTXID() {
          return sync.newestSnapshot?.txid ?? 0;
        },
        validate: () => this.validate(),
        chainBroken: (reason) => this.chainBroken(reason),
        failed: (what, err) => hooks.report(what, err),
        wrote: () => undefined,
      },
      options,
    );
  }

  private get name(): string {
    return this.options.name;
  }

  private get client(): ReplicaClient {
    return this.options.client;
  }

  private get fields(): Record<string, unknown> {
    return { db: this.context.label, replica: this.name };
  }

  /** The replica's TXID as known here (0 before it resumed or snapshotted). */
  get txid(): number {
    return this.positionValue?.txid ?? 0;
  }

  /** The TXID of the newest snapshot written here (0 before the first). */
  get newestSnapshotTXID(): number {
    return this.newestSnapshot?.txid ?? 0;
  }

  /** Reads the replica's last state (before the feeder resumes); a failure is retried by the first pass. */
  async loadTip(signal?: AbortSignal): Promise<ReplicaTip | undefined> {
    try {
      this.tip = await readReplicaTip(this.client, signal);
    } catch (err) {
      this.hooks.report("reading the replica's position", err);
    }
    return this.tip;
  }

  /** Stops the snapshot timer (the maintenance is closed by the shipper). */
  close(): void {
    this.snapshotTimer?.cancel();
  }

  /** One pass: resume if needed, then upload what the log holds after the replica (or a snapshot). */
  async pass(signal: AbortSignal): Promise<PassOutcome> {
    if (!this.resumedValue) await this.resume(signal);
    if (this.positionValue === undefined || this.snapshotReason !== undefined) return this.snapshot(signal, this.snapshotReason ?? "initial snapshot of an empty replica");
    if (this.context.feeder.prepare?.() === false) return { uploaded: false, more: false };
    const position = this.positionValue;
    const log = this.context.log;
    // What is staged becomes the next TXID now, also behind entries sealed earlier and not
    // shipped yet: else what prepare just staged would wait a whole sync interval.
    log.seal(this.options.maxBatchBytes);
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
    // A backlog (entries past the batch) goes at once; changes staged meanwhile (during an
    // outage, say) go with the next pass the throttle allows, without waiting for a commit.
    if (batch.length < entries.length) return { uploaded: true, more: true };
    return { ...(await this.afterCatchUp(signal)), uploaded: true, staged: log.staged > 0 };
  }

  /** The entries of the next upload: contiguous, no break, within `maxBatchBytes` (at least one); a failed one repeated exactly. */
  private batch(entries: readonly LogEntry[]): LogEntry[] {
    const retry = this.retry;
    const out: LogEntry[] = [];
    let bytes = 0;
    for (const e of entries) {
      if (e.lineage !== undefined) break;
      if (out.length > 0 && e.minTXID !== out[out.length - 1]!.maxTXID + 1) break;
      if (this.l0Boundary !== undefined && out.length > 0 && out[out.length - 1]!.maxTXID >= this.l0Boundary) break;
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
    if (this.l0Boundary !== undefined && last.maxTXID >= this.l0Boundary) this.l0Boundary = undefined;
    this.context.log.release(this.name, last.maxTXID);
    this.maintenance.noteWritten(0);
    const durationMs = performance.now() - started;
    this.context.logger.debug("ltx file uploaded", {
      ...this.fields,
      level: 0,
      minTXID: formatTxid(ref.minTXID),
      txid: formatTxid(ref.maxTXID),
      entries: batch.length,
      size: info.size,
      ms: Math.round(durationMs),
    });
    this.context.onEvent?.({
      type: "uploaded",
      replica: this.name,
      level: 0,
      minTXID: ref.minTXID,
      maxTXID: ref.maxTXID,
      bytes: info.size,
      durationMs,
      timestamp: new Date(last.timestamp),
    });
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
    this.notOurs(
      Math.max(ref.maxTXID, this.tip?.txid ?? 0),
      `level ${ref.level} file ${formatTxid(ref.minTXID)}-${formatTxid(ref.maxTXID)} was written by another writer (checksum ${formatChecksum(ends.post)})`,
    );
    return undefined;
  }

  /**
   * A snapshot now, whatever the schedule and even if nothing changed since the last
   * (`replicate -once -force-snapshot`); resumes first when needed. The shipper runs it
   * in place of a pass, never beside one.
   */
  async forcedSnapshot(signal: AbortSignal): Promise<PassOutcome> {
    if (!this.resumedValue) await this.resume(signal);
    return this.snapshot(signal, this.snapshotReason ?? "forced");
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
  private async snapshot(signal: AbortSignal, reason: string): Promise<PassOutcome> {
    const periodic = this.positionValue !== undefined && this.snapshotReason === undefined && this.floor === 0;
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
        const info = await this.createOnly(ref, 0n, state.expected, signal, () =>
          this.client.writeLtxFile(ref, body, { timestamp: new Date(state.timestamp), signal, ifNotExists: true }),
        );
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
    if (periodic && this.levelZeroLeadsTo(state.txid)) {
      this.l0Boundary = state.txid;
    } else {
      this.l0Boundary = undefined;
      this.positionValue = { txid: state.txid, postApply: state.expected };
      this.context.log.release(this.name, state.txid);
    }
    this.snapshotReason = undefined;
    this.retry = undefined;
    this.newestSnapshot = { txid: state.txid, at: state.timestamp };
    this.snapshotDue = false;
    this.scheduleSnapshot(state.timestamp);
    this.maintenance.noteWritten(SNAPSHOT_LEVEL);
    if (this.floor > 0) this.maintenance.skipTo(state.txid);
    // Older snapshots (and what only they needed) may go now, and once this one is snapshotRetention old.
    this.maintenance.planRetention(this.context.clock.now(), state.timestamp + this.options.snapshotRetention);
    this.context.logger.info("snapshot uploaded", { ...this.fields, txid: formatTxid(state.txid), pages: upload.pages, size, reason, ms: Math.round(durationMs) });
    this.context.onEvent?.({ type: "snapshot", replica: this.name, txid: state.txid, pages: upload.pages, bytes: size, reason, durationMs, timestamp: new Date(state.timestamp) });
    return { uploaded: true, more: this.context.log.after(this.txid).length > 0 };
  }

  /** Whether the log holds an unbroken level-0 chain from the replica's position up to `txid` (what a periodic snapshot overtook). */
  private levelZeroLeadsTo(txid: number): boolean {
    const position = this.positionValue;
    if (position === undefined || position.txid >= txid) return false;
    let next = position.txid + 1;
    let post = position.postApply;
    for (const e of this.context.log.after(position.txid)) {
      if (e.lineage !== undefined || e.minTXID !== next || e.preApply !== post) return false;
      if (e.maxTXID >= txid) return e.maxTXID === txid;
      next = e.maxTXID + 1;
      post = e.postApply;
    }
    return false;
  }

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
    if (this.hooks.closed) return;
    void (async () => {
      try {
        const tip = await readReplicaTip(this.client, this.context.signal);
        const chain = await verifyReplicaChain(this.client, this.context.signal).catch(() => undefined);
        const mine = this.positionValue;
        if (chain !== undefined && mine !== undefined && tip.txid <= mine.txid && chain.txid === mine.txid && chain.postApply === mine.postApply) return;
        this.notOurs(Math.max(tip.txid, this.txid), `compaction found files that do not chain (${reason})`);
        this.hooks.request();
      } catch (err) {
        this.hooks.report("checking the replica's chain", err);
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
    if (this.hooks.closed) return;
    const due = from + this.options.snapshotInterval + this.snapshotJitter;
    this.snapshotTimer = this.context.clock.schedule(Math.max(0, due - this.context.clock.now()), () => {
      this.snapshotDue = true;
      this.hooks.request();
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
    let chain: Awaited<ReturnType<typeof verifyReplicaChain>>;
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
}

/** The LtxError of `code` in an error or its causes (a client wraps what a body throws). */
function findLtxError(err: unknown, code: string): Error | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (isLtxError(e) && e.code === code) return e;
  }
  return undefined;
}
