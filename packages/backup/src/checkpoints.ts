/**
 * The checkpoints the engine owns: which one is due (judged on SQLite's WAL index, never
 * on a replica's position) and running it so that the application's writers wait as
 * little as possible — no upload ever happens under SQLite's write lock.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { WAL_FRAME_HEADER_SIZE, WAL_HEADER_SIZE } from "@sqlrep/wal";
import type { CheckpointResult, DatabaseConnections } from "./connections.js";
import type { CheckpointEvent } from "./events.js";
import type { FileSource } from "./file-source.js";
import type { ResolvedDatabaseOptions } from "./options.js";
import type { RwLock } from "./rw-lock.js";
import { BackupError, describeError, isBackupError } from "./errors.js";
import type { Logger } from "./logger.js";
import type { EngineServices } from "./services.js";
import { framesToCheckpoint, readWalIndex } from "./wal-index.js";

/** A checkpoint that could not run (busy) is not tried again sooner than this. */
const CHECKPOINT_RETRY_MS = 1000;

/** How often to try for the write lock while waiting for it. */
const LOCK_POLL_MS = 5;
/** At most this many uncopied WAL frames are staged and copied while SQLite's write lock is held (~4 MiB of 4 KiB pages). */
const LOCKED_FRAMES_MAX = 1000;

export type CheckpointMode = CheckpointEvent["mode"];

/** What a checkpoint did. */
export interface CheckpointOutcome extends CheckpointResult {
  /** How long SQLite's write lock was held (what the application's writers waited at most). */
  writeLockMs: number;
}

/** What a checkpoint needs from its database. */
export interface CheckpointHost {
  readonly path: string;
  readonly wal: FileSource;
  readonly shm: FileSource;
  readonly pageSize: number;
  readonly lock: RwLock;
  readonly options: ResolvedDatabaseOptions;
  readonly connections: DatabaseConnections | undefined;
  readonly stopped: boolean;
  /** Appends what is committed to the log; true when everything is (the read transaction may then move on). */
  stageAll(): boolean;
  /** A read transaction could not be reopened: WAL resets can no longer be trusted. */
  readerLost(error: unknown): void;
  readonly logger: Logger;
}

/**
 * One database's checkpoints: runs the one due (at most one at a time, a busy one not
 * retried within a second), counts it in the metrics, logs it and tells the engine.
 */
export class Checkpointer {
  /** When the last checkpoint completed. */
  lastAt: Date | undefined;
  private startedAt = Date.now();
  private lastTry = 0;
  private running = false;

  constructor(
    private readonly host: CheckpointHost,
    private readonly services: EngineServices,
  ) {}

  /** Replication (re)started at `now`: the interval checkpoint counts from here. */
  started(now: number): void {
    this.startedAt = now;
  }

  /** Starts the checkpoint that is due, if any (not awaited: it reports its own outcome). */
  runIfDue(): void {
    const now = Date.now();
    const host = this.host;
    if (host.stopped || this.running || host.connections === undefined || now - this.lastTry < CHECKPOINT_RETRY_MS) return;
    const mode = checkpointDue(host, now - (this.lastAt?.getTime() ?? this.startedAt));
    if (mode !== undefined) void this.run(mode);
  }

  private async run(mode: CheckpointMode): Promise<void> {
    const { metrics, emit } = this.services;
    const { path, logger } = this.host;
    const labels = { db: path, mode };
    const started = performance.now();
    this.running = true;
    this.lastTry = Date.now();
    try {
      const result = await runCheckpoint(this.host, mode);
      if (result === undefined) {
        logger.debug("checkpoint skipped: the database is busy", { db: path, mode });
        return;
      }
      const durationMs = performance.now() - started;
      if (result.busy === 0 && result.checkpointed === result.log) this.lastTry = 0;
      this.lastAt = new Date();
      metrics.checkpointCount.inc(labels);
      metrics.checkpointSeconds.inc(labels, durationMs / 1000);
      const { busy, log, checkpointed, writeLockMs } = result;
      logger.info("checkpoint", { db: path, mode, busy, log, checkpointed, ms: Math.round(durationMs), writeLockMs: Math.round(writeLockMs) });
      emit("checkpoint", { path, mode, busy, log, checkpointed, durationMs, writeLockMs });
    } catch (err) {
      metrics.checkpointErrorCount.inc(labels);
      const error = isBackupError(err) ? err : new BackupError("checkpoint", describeError(err), { path, cause: err });
      logger.warn("checkpoint failed", { db: path, mode, error: describeError(error) });
      emit("error", { path, error });
    } finally {
      this.running = false;
    }
  }
}

/**
 * Which checkpoint is due, if any, judged on the WAL as it is now: the `-wal` file's size
 * (TRUNCATE) and, from SQLite's WAL index, the frames no checkpoint has copied yet
 * (PASSIVE; or any, once `checkpointInterval` has passed). Cheap: a stat and a 100-byte read.
 */
export function checkpointDue(host: CheckpointHost, sinceLastMs: number): CheckpointMode | undefined {
  const { truncatePageCount, minCheckpointPageCount, checkpointInterval } = host.options;
  if (host.pageSize === 0) return undefined;
  if (truncatePageCount > 0 && host.wal.size >= WAL_HEADER_SIZE + truncatePageCount * (host.pageSize + WAL_FRAME_HEADER_SIZE)) return "TRUNCATE";
  const index = readWalIndex(host.shm);
  if (index === undefined) return undefined;
  const frames = framesToCheckpoint(index);
  if (frames >= minCheckpointPageCount) return "PASSIVE";
  if (frames > 0 && sinceLastMs >= checkpointInterval) return "PASSIVE";
  return undefined;
}

/**
 * Our checkpoint. First, without SQLite's write lock: everything committed goes to the
 * log, the read transaction moves to the WAL's end, and a PASSIVE copies what it can
 * while the application keeps writing. Then, only if frames are left (or for TRUNCATE),
 * the write lock is taken (polled for up to `busyTimeout`, never blocking the event
 * loop): the few frames committed since go to the log (a local write), the read
 * transaction ends, a PASSIVE copies the rest, the read transaction reopens (on read
 * mark 0: the next writer restarts the WAL), the write lock is released. When the lock
 * is won with more than `LOCKED_FRAMES_MAX` frames still uncopied (a large transaction
 * committed while we waited for it), it is let go at once and the unlocked step runs
 * again: the application's writers never wait while we stage or copy much. The log
 * already holds every frame, so nothing a reset discards is lost, and no upload ever
 * runs while writers wait. TRUNCATE runs right after, while the reopened read
 * transaction stops it from copying any frame written in between. Undefined when it
 * could not run (the write lock stayed busy, the database is stopping).
 */
export async function runCheckpoint(host: CheckpointHost, mode: CheckpointMode): Promise<CheckpointOutcome | undefined> {
  const first = await unlockedStep(host);
  if (first === undefined) return undefined;
  if (mode === "PASSIVE" && first.busy === 0 && first.checkpointed === first.log) {
    // All copied without the write lock: one more hand-off lets the next writer restart the WAL.
    await host.lock.withExclusive(async () => {
      if (!host.stopped && host.stageAll()) host.connections?.handOff();
    });
    return { ...first, writeLockMs: 0 };
  }
  const deadline = Date.now() + host.options.busyTimeout;
  for (;;) {
    const attempt = await host.lock.withExclusive(async () => {
      const c = host.connections;
      if (host.stopped || c === undefined) return { done: true, result: undefined };
      if (!c.tryWriteLock()) return { done: false, result: undefined };
      const locked = performance.now();
      try {
        const index = readWalIndex(host.shm);
        // Too much to do under the lock (a large commit landed while we waited): let go.
        if (index !== undefined && framesToCheckpoint(index) > LOCKED_FRAMES_MAX) return { done: false, again: true, result: undefined };
        if (!host.stageAll()) return { done: true, result: undefined };
        c.endRead();
        let passive: CheckpointResult;
        try {
          passive = c.checkpoint("PASSIVE");
        } finally {
          try {
            c.reopen();
          } catch (err) {
            host.readerLost(err);
          }
        }
        return { done: true, result: { ...passive, lockedMs: performance.now() - locked } };
      } finally {
        c.releaseWriteLock();
      }
    });
    if (attempt.done) {
      if (attempt.result === undefined) return undefined;
      const { lockedMs, ...passive } = attempt.result;
      const truncated = mode === "TRUNCATE" ? host.connections?.checkpoint("TRUNCATE") : undefined;
      return { ...passive, busy: truncated?.busy ?? passive.busy, writeLockMs: lockedMs };
    }
    if (Date.now() >= deadline) return undefined;
    if ("again" in attempt) {
      if ((await unlockedStep(host)) === undefined) return undefined;
      continue;
    }
    await sleep(LOCK_POLL_MS);
  }
}

/** Stage what is committed, move the read transaction to the WAL's end, copy what can be copied: all without SQLite's write lock. */
function unlockedStep(host: CheckpointHost): Promise<CheckpointResult | undefined> {
  return host.lock.withExclusive(async () => {
    const c = host.connections;
    if (host.stopped || c === undefined || !host.stageAll()) return undefined;
    c.handOff();
    return c.checkpoint("PASSIVE");
  });
}
