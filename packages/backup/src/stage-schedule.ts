/**
 * When a database's WAL is staged into its local log: soon after a commit is noticed,
 * at once while a checkpoint runs or a replica would upload right away, at most every
 * `stageInterval` under sustained writes; failed or busy stages retried, staged
 * changes sealed into a TXID at least once per sync interval.
 */
import { statSync } from "node:fs";
import type { LtxLog, LtxShipper, Timer } from "@sqlrep/shipper";
import { CheckpointProbe } from "./checkpoint-probe.js";
import type { Checkpointer } from "./checkpoints.js";
import type { DatabaseStatus } from "./database-status.js";
import { BackupError, describeError, isBackupError } from "./errors.js";
import type { FileSource } from "./file-source.js";
import type { Logger } from "./logger.js";
import type { ResolvedDatabaseOptions } from "./options.js";
import type { RwLock } from "./rw-lock.js";
import type { EngineServices } from "./services.js";
import type { WalStager } from "./stager.js";
import { readWalIndex } from "./wal-index.js";

/** How long after a commit is noticed the WAL is read, so the frames of one burst go into one entry. */
export const COALESCE_MS = 5;
/** After a checkpoint touched the database file, staging is immediate for this long. */
const CHECKPOINT_ACTIVE_MS = 1000;
/** A stage that met a WAL being rewritten looks again this soon. */
export const BUSY_RETRY_MS = 20;
/** While a stage waits for its turn, how often the lock table is asked whether a checkpoint waits on us (less often where reading it is slow). */
export const PROBE_MS = 100;
/** The default cadence under sustained writes where a waiting checkpoint can be seen (else the fallback). */
const PROBED_STAGE_INTERVAL_MS = 1000;
const FALLBACK_STAGE_INTERVAL_MS = 250;

/** What the schedule needs from its database. */
export interface StageScheduleHost {
  readonly path: string;
  readonly dir: string;
  readonly metaDir: string;
  readonly wal: FileSource;
  readonly shm: FileSource;
  readonly lock: RwLock;
  readonly options: ResolvedDatabaseOptions;
  readonly services: EngineServices;
  readonly logger: Logger;
  readonly state: DatabaseStatus["state"];
  readonly stopped: boolean;
  /** Set once `stop` began: no new work is scheduled. */
  readonly stopping: boolean;
  readonly stagerValue: WalStager | undefined;
  readonly logValue: LtxLog | undefined;
  readonly shippers: readonly LtxShipper[];
  readonly checkpoints: Checkpointer;
  /** Moves the read transaction on once everything committed is staged. */
  handOff(): void;
}

/** One database's staging schedule (see the file's opening comment). */
export class StageSchedule {
  private coalesceTimer: Timer | undefined;
  private retryTimer: Timer | undefined;
  private sealTimer: Timer | undefined;
  private checkpointTimer: Timer | undefined;
  private lastStageAt = 0;
  /** When a WAL change was first noticed since the last complete stage (a replica's lag counts from it). */
  unstagedSince: number | undefined;
  /** The files' size and mtime when the last stage began (what a resumed watch compares with). */
  private stagedStat = "";
  /** The WAL's stat taken before the last stage that reached its end: a status compares it to notice commits no event reported yet. */
  private walStatStaged = "";
  private checkpointSeenAt = 0;
  /** When the pending stage runs at the latest (a probe that sees a checkpoint runs it sooner). */
  private stageDueAt = 0;
  private probeValue: CheckpointProbe | undefined;

  constructor(private readonly host: StageScheduleHost) {}

  private get probe(): CheckpointProbe {
    this.probeValue ??= new CheckpointProbe(this.host.shm.path);
    return this.probeValue;
  }

  /** Stops every timer (the database stops). */
  cancel(): void {
    for (const t of [this.coalesceTimer, this.retryTimer, this.sealTimer, this.checkpointTimer]) t?.cancel();
  }

  /** File-system event: `<db>` or `<db>-wal` changed. */
  onChange(which?: "db" | "wal"): void {
    if (this.host.stopped || this.host.stopping) return;
    const now = Date.now();
    // The database file changes when a checkpoint copies frames into it. Once it copied
    // everything, it may be waiting for our read transaction before it restarts the WAL:
    // stage (and hand the read transaction on) at once, and keep doing so for a while.
    if (which === "db" && this.fullyCopied()) this.checkpointSeenAt = now;
    // A commit not staged yet counts in the lag as much as one not uploaded yet.
    if (which !== "db") this.unstagedSince ??= now;
    if (this.coalesceTimer !== undefined) return;
    // At once when a replica would upload it right away (after a quiet spell) or while
    // checkpoints run; under sustained writes, whose uploads the replicas' sync interval
    // holds back anyway, at most every `stageInterval`, which bounds what staging costs
    // (each stage has a fixed cost: README, "CPU"). Meanwhile a probe of the lock table
    // notices a checkpoint that waits for our read mark, and stages at once for it.
    const urgent = now - this.checkpointSeenAt < CHECKPOINT_ACTIVE_MS || this.host.shippers.some((s) => s.wouldUploadNow);
    const interval = urgent ? 0 : this.stageInterval();
    this.stageDueAt = now + Math.max(COALESCE_MS, this.lastStageAt + interval - now);
    this.armStageTimer();
    this.host.services.interestChanged(this.host.dir);
  }

  /**
   * The cadence under sustained writes: the option when given, else one second where a
   * waiting checkpoint can be seen (no longer than the shortest sync interval, so uploads
   * are never held back by staging) and 250 ms where it cannot.
   */
  stageInterval(): number {
    const given = this.host.options.stageInterval;
    if (given !== undefined) return given;
    return this.probe.works() ? Math.min(PROBED_STAGE_INTERVAL_MS, this.sealInterval) : FALLBACK_STAGE_INTERVAL_MS;
  }

  /** Runs the pending stage when it is due, or earlier when a probe finds a checkpoint running. */
  private armStageTimer(): void {
    const wait = Math.max(0, this.stageDueAt - Date.now());
    // Where the table is slow to read, probes come less often, never rarer than the
    // cadence used where no probe works: a waiting checkpoint is seen as soon as without one.
    const every = this.probe.interval(PROBE_MS, FALLBACK_STAGE_INTERVAL_MS);
    const probing = wait > every * 1.5;
    this.coalesceTimer = this.host.services.scheduler.schedule(probing ? every : wait, () => {
      this.coalesceTimer = undefined;
      if (this.host.stopped || this.host.stopping) return;
      if (probing && Date.now() < this.stageDueAt) {
        this.probeThenStage();
        return;
      }
      this.stageNow();
      this.host.services.interestChanged(this.host.dir);
    });
  }

  /**
   * Asks the lock table (read off this thread) whether a checkpoint runs: stages at once
   * if one does, else waits for the next probe. The pending probe stands where the timer
   * stood, so events and `cancel` treat it as the scheduled stage.
   */
  private probeThenStage(): void {
    const pending = { cancelled: false, cancel: () => void (pending.cancelled = true) };
    this.coalesceTimer = pending;
    void this.probe.runningAsync().then((running) => {
      if (pending.cancelled || this.coalesceTimer !== pending) return;
      this.coalesceTimer = undefined;
      if (this.host.stopped || this.host.stopping) return;
      if (running !== true && Date.now() < this.stageDueAt) {
        this.armStageTimer();
        return;
      }
      // A checkpoint holds its lock: it may be waiting for our read mark, and its
      // caller may repeat it (a TRUNCATE after every commit): stay prompt for a while.
      if (running === true) this.checkpointSeenAt = Date.now();
      this.stageNow();
      this.host.services.interestChanged(this.host.dir);
    });
  }

  /**
   * While a stage is scheduled, events add nothing (it will read whatever is committed
   * when it runs): the directory is not watched meanwhile, since under sustained writes
   * the WAL changes hundreds of times a second and each event costs more than it brings.
   */
  wantsEvents(): boolean {
    return !this.host.stopped && !this.host.stopping && this.coalesceTimer === undefined;
  }

  /** Watching resumed: anything written while it was paused is staged now. */
  onResume(): void {
    const stat = `${statKey(this.host.wal.path)};${statKey(this.host.path)}`;
    if (stat !== this.stagedStat) this.onChange();
  }

  /** Checks the file is still ours, stages what is committed, then hands the read transaction on and checkpoints when due. */
  stageNow(): void {
    if (this.host.stopped || this.host.stopping || this.host.state !== "replicating" || this.host.stagerValue === undefined) return;
    this.lastStageAt = Date.now();
    this.stagedStat = `${statKey(this.host.wal.path)};${statKey(this.host.path)}`;
    const outcome = this.stageOnce();
    if (outcome === undefined) return;
    if (outcome.busy) {
      this.retryTimer ??= this.host.services.scheduler.schedule(BUSY_RETRY_MS, () => {
        this.retryTimer = undefined;
        this.stageNow();
      });
      return;
    }
    this.sealIfDue();
    // The WAL was restarted: someone runs RESTART/TRUNCATE checkpoints, which wait for our read mark.
    if (outcome.reset) this.checkpointSeenAt = this.lastStageAt;
    // Everything committed is in the log: the read transaction moves on at once (unless a
    // snapshot or checkpoint holds the database's lock: they hand off themselves).
    if (outcome.atEnd && !this.host.lock.busy) this.host.handOff();
    this.host.checkpoints.runIfDue();
    if (this.lastStageAt - this.checkpointSeenAt < CHECKPOINT_ACTIVE_MS) this.followCheckpoint();
  }

  /**
   * One hand-off may not free a waiting checkpoint: while it still copies frames (or syncs
   * the database file), our new read transaction can only start at a frame not copied yet,
   * and a RESTART/TRUNCATE then waits for that one too, while nothing wakes us (the writer
   * is the one checkpointing, and the database file's events may have come while a stage
   * was pending). So while a checkpoint holds its lock, look again every probe and hand on
   * again: once everything is copied, the read transaction reads the database file alone
   * and holds no checkpoint back. Where the lock table cannot tell, a fully copied WAL
   * within the active window stands for "a checkpoint may be waiting".
   */
  private followCheckpoint(): void {
    if (this.checkpointTimer !== undefined || this.coalesceTimer !== undefined) return;
    const every = this.probe.interval(PROBE_MS, FALLBACK_STAGE_INTERVAL_MS);
    this.checkpointTimer = this.host.services.scheduler.schedule(every, () => {
      void this.probe.runningAsync().then((running) => {
        this.checkpointTimer = undefined;
        if (this.host.stopped || this.host.stopping || this.coalesceTimer !== undefined) return;
        const waiting = running ?? (Date.now() - this.checkpointSeenAt < CHECKPOINT_ACTIVE_MS && this.fullyCopied());
        if (!waiting) return;
        if (running === true) this.checkpointSeenAt = Date.now();
        this.stageNow();
      });
    });
  }

  /**
   * What is staged becomes a TXID at least once per sync interval even when no replica
   * takes it (an outage): each entry keeps its own time, so a point-in-time restore into
   * the outage, once it is over, lands as precisely as anywhere else (Litestream v0.5
   * likewise writes a local level-0 file every second whatever the uploads do).
   */
  private sealIfDue(): void {
    const since = this.host.logValue?.stagedSince;
    if (since === undefined || this.host.stopped) return;
    // A healthy replica seals at each upload (one file per upload): the timer is for when
    // none uploads, so while one is healthy it waits twice as long, or it would seal just
    // before that upload and leave what the upload stages to a second file.
    const healthy = this.host.shippers.some((s) => !s.failing);
    const due = since + this.sealInterval * (healthy ? 2 : 1);
    if (Date.now() >= due) {
      this.host.logValue!.seal(this.host.options.maxBatchBytes);
      return;
    }
    if (this.sealTimer === undefined) {
      this.sealTimer = this.host.services.scheduler.schedule(due - Date.now(), () => {
        this.sealTimer = undefined;
        this.sealIfDue();
      });
    }
  }

  /** The shortest sync interval of the replicas (at least 100 ms): how long a change stays staged at most. */
  private get sealInterval(): number {
    return Math.max(100, Math.min(...this.host.options.replicas.map((r) => r.syncInterval)));
  }

  /** Whether every committed frame of the WAL is in the database file (from SQLite's WAL index). */
  private fullyCopied(): boolean {
    const index = readWalIndex(this.host.shm);
    return index !== undefined && index.nBackfill >= index.mxFrame;
  }

  /** One `stage()` with its failures reported (a full disk under the meta directory, say). */
  private stageOnce(): ReturnType<WalStager["stage"]> | undefined {
    try {
      const walStat = statKey(this.host.wal.path);
      const outcome = this.host.stagerValue!.stage();
      if (outcome.atEnd) {
        this.unstagedSince = undefined;
        this.walStatStaged = walStat;
      }
      return outcome;
    } catch (err) {
      const error = isBackupError(err)
        ? err
        : new BackupError("sync", `cannot stage ${this.host.path}'s WAL into ${this.host.metaDir}: ${describeError(err)}`, { path: this.host.path, retryable: true, cause: err });
      this.host.logger.error("staging failed, will retry", { db: this.host.path, error: error.message });
      this.host.services.emit("error", { path: this.host.path, error });
      this.retryTimer ??= this.host.services.scheduler.schedule(1000, () => {
        this.retryTimer = undefined;
        this.stageNow();
      });
      return undefined;
    }
  }

  /** Stages until everything committed is in the log (for `sync` and checkpoints); false when the WAL is being rewritten. */
  stageAll(): boolean {
    if (this.host.state !== "replicating" || this.host.stagerValue === undefined) return false;
    for (let i = 0; i < 100; i++) {
      const outcome = this.stageOnce();
      if (outcome === undefined) return false;
      if (outcome.atEnd) return true;
      if (outcome.busy) return false;
    }
    return false;
  }

  /**
   * A status must not say "lag 0" over a commit the watcher has not reported yet (events
   * are paused while a stage is pending, and the poll runs every monitor interval): a
   * WAL that changed since the last stage counts as unstaged from now.
   */
  noticeUnseenCommits(): void {
    if (this.host.state !== "replicating" || this.host.stopped || this.host.stopping || this.unstagedSince !== undefined) return;
    const now = statKey(this.host.wal.path);
    // A WAL our TRUNCATE checkpoint emptied (size 0) holds no commit, whatever its mtime says.
    if (now !== this.walStatStaged && !now.startsWith("0:")) this.onChange("wal");
  }
}

/** Size, mtime and inode of a file ("missing" when it is not there): what tells that it changed. */
export function statKey(path: string): string {
  try {
    const st = statSync(path);
    return `${st.size}:${st.mtimeMs}:${st.ino}`;
  } catch {
    return "missing";
  }
}
