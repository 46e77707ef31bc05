/** restoreLegacy: restores a database from a Litestream v0.3 replica, decompressing its snapshot and replaying its WAL segments with SQLite's checks. */
import { rm } from "node:fs/promises";
import { resolve } from "node:path";
import { concatBytes, isLtxError, lz4DecodeFrame, Lz4FrameDecoder } from "@sqlrep/ltx";
import { PageFile } from "@sqlrep/page-file";
import { decodeDatabaseHeader, decodeWalHeader, isWalError, replayWal, WAL_HEADER_SIZE, walFrameSize, type WalPosition, type WalReplayEnd } from "@sqlrep/wal";
import { isReplicaError, ReplicaError, throwIfAborted } from "../errors.js";
import { checkOutput, installRestored } from "../restored-file.js";
import { ioError } from "../restore-write.js";
import type { ReplicaClient } from "../replica-client.js";
import type { LegacyLogger, LegacySegmentInfo } from "./listing.js";
import { hex8 } from "./names.js";
import { CommitWatch } from "./commit-watch.js";
import { PageSink } from "./page-sink.js";
import { planLegacyRestore, type LegacyIndexPlan, type LegacyRestorePlan, type LegacyRestoreTarget } from "./plan.js";
import { ObjectPrefetcher } from "./prefetch.js";
import { WalWindow } from "./wal-window.js";

/** Where a v0.3 restore is; bytes count compressed bytes downloaded. */
export interface LegacyRestoreProgress {
  phase: "plan" | "snapshot" | "wal" | "verify" | "done";
  bytesDone: number;
  bytesTotal: number;
  /** The WAL index being applied (phase "wal"). */
  index?: number | undefined;
}

export interface LegacyRestoreOptions {
  /** The database path; written as `<output>.tmp`, fsynced, renamed. */
  output: string;
  target?: LegacyRestoreTarget | undefined;
  /** A plan made already (by `planLegacyRestore` or `planLegacyFromListing`): restored as is, `target` ignored. */
  plan?: LegacyRestorePlan | undefined;
  /** Downloads in flight at once (default 8). */
  parallelism?: number | undefined;
  /**
   * Memory for the restore (default 96 MiB), a third each for objects read ahead,
   * the WAL tail not yet applied (a longer one spills to `<output>.tmp-wal`) and
   * database pages not yet written.
   */
  memory?: number | undefined;
  /** Replace an existing output (default false: it, or a `-wal`/`-journal` beside it, is ReplicaError "exists"). */
  overwrite?: boolean | undefined;
  onProgress?: ((p: LegacyRestoreProgress) => void) | undefined;
  /** Checks the finished temp database before the rename (e.g. PRAGMA integrity_check); throw to fail. */
  verify?: ((tempPath: string) => Promise<void>) | undefined;
  logger?: LegacyLogger | undefined;
  signal?: AbortSignal | undefined;
}

export interface LegacyRestoreResult {
  generation: string;
  /** The index of the snapshot restored from. */
  snapshotIndex: number;
  /** The last WAL index applied (the snapshot's when no WAL was). */
  index: number;
  /** Where the replay of that index stopped: the end of its last valid commit (0 without WAL). */
  offset: number;
  /** Upload time of the newest object used. */
  timestamp: Date;
  pageSize: number;
  pageCount: number;
  /** Size of the restored database file. */
  bytes: number;
  /** WAL segments applied. */
  segments: number;
  /** Committed SQLite transactions replayed. */
  transactions: number;
  /** Compressed bytes downloaded. */
  bytesDownloaded: number;
  /**
   * Bytes after the last valid commit of the last index, which a replay (like SQLite's
   * recovery) leaves out: an interrupted transaction. Anywhere else such bytes are an error.
   */
  discarded: { key: string; offset: number; bytes: number; reason: string } | undefined;
  plan: LegacyRestorePlan;
}

const DEFAULT_MEMORY = 96 * 1024 * 1024;

/**
 * Restores a database from a Litestream v0.3 replica (see `planLegacyRestore` for the
 * choice of snapshot and segments): the snapshot is stream-decompressed into
 * `<output>.tmp`, then each WAL index is replayed natively, segment by segment as
 * they arrive, with SQLite's checksum chain verified frame by frame: pages of each
 * committed transaction are written, the file is truncated to the commit size at the
 * end of each index. Every index must be contiguous (a segment must start where the
 * previous one's decompressed bytes end) and end on a verified commit, except the
 * last, whose replay stops at its last valid commit. Then `verify`, fsync, rename,
 * fsync of the directory; on failure the temp files are removed.
 */
export async function restoreLegacy(client: ReplicaClient, options: LegacyRestoreOptions): Promise<LegacyRestoreResult> {
  if (!options.output) throw new ReplicaError("invalid-config", "a restore needs an output path");
  const output = resolve(options.output);
  const temp = `${output}.tmp`;
  const { signal } = options;
  throwIfAborted(signal);
  await checkOutput(output, options.overwrite ?? false);
  const progress = new Progress(options.onProgress);
  progress.set({ phase: "plan" });
  const plan = options.plan ?? (await planLegacyRestore(client, options.target, { logger: options.logger, signal }));
  const run = new LegacyRestoreRun(client, plan, options, progress, output);
  try {
    const result = await run.execute();
    if (options.verify) progress.set({ phase: "verify" });
    await installRestored(temp, output, options);
    progress.set({ phase: "done" });
    return result;
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** One restore: the snapshot, then each index. */
class LegacyRestoreRun {
  private readonly prefetch: ObjectPrefetcher;
  private readonly memory: number;
  private file: PageFile | undefined;
  private sink: PageSink | undefined;
  private pageSize = 0;
  private pageCount = 0;
  private transactions = 0;
  private segments = 0;
  private offset = 0;
  private discarded: LegacyRestoreResult["discarded"];

  constructor(
    private readonly client: ReplicaClient,
    private readonly plan: LegacyRestorePlan,
    private readonly options: LegacyRestoreOptions,
    private readonly progress: Progress,
    /** The database path; written as `<output>.tmp` (the page file's temp file). */
    private readonly output: string,
  ) {
    this.memory = Math.max(3 * 1024 * 1024, options.memory ?? DEFAULT_MEMORY);
    const items = [plan.snapshot, ...plan.indexes.flatMap((i) => i.segments)];
    progress.total = plan.bytes;
    this.prefetch = new ObjectPrefetcher(client.store, items, {
      parallelism: options.parallelism,
      budget: Math.floor(this.memory / 3),
      signal: options.signal,
      onBytes: (n) => progress.add(n),
    });
  }

  async execute(): Promise<LegacyRestoreResult> {
    const { plan } = this;
    try {
      await this.writeSnapshot();
      for (let i = 0; i < plan.indexes.length; i++) {
        throwIfAborted(this.options.signal);
        await this.replayIndex(plan.indexes[i]!, i === plan.indexes.length - 1);
      }
      if (this.pageSize === 0)
        throw new ReplicaError("corrupt", `snapshot ${plan.snapshot.key} is empty and no WAL follows it: there is no database to restore`, { key: plan.snapshot.key });
      const file = await this.openFile();
      await file.sync().catch((err: unknown) => {
        throw ioError(err, `cannot write ${this.output}.tmp`);
      });
      const size = await file.size();
      if (this.pageCount === 0) this.pageCount = Math.floor(size / this.pageSize);
      return {
        generation: plan.generation,
        snapshotIndex: plan.snapshot.index,
        index: plan.index,
        offset: this.offset,
        timestamp: plan.timestamp,
        pageSize: this.pageSize,
        pageCount: this.pageCount,
        bytes: size,
        segments: this.segments,
        transactions: this.transactions,
        bytesDownloaded: this.progress.done,
        discarded: this.discarded,
        plan,
      };
    } finally {
      this.prefetch.close();
      await this.file?.close();
    }
  }

  /** Decompresses the snapshot into the temp file; learns the page size from its header. */
  private async writeSnapshot(): Promise<void> {
    const { key } = this.plan.snapshot;
    this.progress.set({ phase: "snapshot" });
    let written = 0;
    // Blocks before the database header is complete (normally none: the first block holds it).
    let held: Uint8Array[] = [];
    let heldBytes = 0;
    await this.decodeObject(key, async (block) => {
      if (this.file === undefined) {
        held.push(block.slice());
        heldBytes += block.length;
        if (heldBytes < 100) return;
        block = held.length === 1 ? held[0]! : concatBytes(held);
        held = [];
        this.pageSize = this.snapshotPageSize(block, key);
        await this.openFile();
      }
      await this.file!.writeAt(written, block).catch((err: unknown) => {
        throw ioError(err, `cannot write ${this.output}.tmp`);
      });
      written += block.length;
    });
    // A database that only existed in its WAL: the WAL header gives the page size.
    if (written === 0 && heldBytes > 0) this.snapshotPageSize(concatBytes(held), key);
  }

  private snapshotPageSize(head: Uint8Array, key: string): number {
    try {
      return decodeDatabaseHeader(head.subarray(0, 100), key).pageSize;
    } catch (err) {
      throw new ReplicaError("corrupt", `snapshot ${key} in ${this.client.location} is not a SQLite database: ${(err as Error).message}`, { cause: err, key });
    }
  }

  /** The temp database, created once the page size is known (through the one page writer). */
  private async openFile(): Promise<PageFile> {
    this.file ??= await PageFile.create(this.output, { pageSize: this.pageSize }).catch((err: unknown) => {
      throw ioError(err, `cannot write ${this.output}.tmp`);
    });
    return this.file;
  }

  /**
   * Replays one index: segments are decompressed into a window as they arrive, and
   * each time a commit frame may have arrived the committed transactions are replayed
   * from the last position, so only the unapplied tail is held.
   */
  private async replayIndex(plan: LegacyIndexPlan, last: boolean): Promise<void> {
    const { generation } = this.plan;
    this.progress.set({ phase: "wal", index: plan.index });
    const window = new WalWindow(`${this.output}.tmp-wal`, Math.floor(this.memory / 3));
    const state: IndexState = { plan, window, position: undefined, commit: 0, end: undefined, watch: new CommitWatch(), frameSize: 0 };
    try {
      for (let s = 0; s < plan.segments.length; s++) {
        const segment = plan.segments[s]!;
        if (segment.offset !== window.size) throw this.gap(plan, s, window.size);
        await this.decodeObject(segment.key, async (block) => {
          await window.append(block);
          if (state.watch.push(block, this.prepare(state) ? state.frameSize : undefined)) await this.apply(state);
        });
        await this.apply(state);
        this.segments++;
        const end = state.end;
        // A break in the checksum chain with more WAL after it means lost or damaged data.
        if (end !== undefined && isBreak(end) && !(last && s === plan.segments.length - 1)) throw this.broken(state, end);
      }
      if (window.size < WAL_HEADER_SIZE) {
        throw new ReplicaError(
          "corrupt",
          `WAL index ${hex8(plan.index)} of generation ${generation} in ${this.client.location} holds ${window.size} bytes, less than a WAL header (${plan.segments[0]!.key})`,
          {
            key: plan.segments[0]!.key,
          },
        );
      }
      const end = state.end;
      if (end !== undefined && (isBreak(end) || end.pendingFrames > 0 || end.stop.reason === "partial-frame")) {
        if (!last) throw this.broken(state, end);
        const at = end.position.offset;
        const { segment } = locate(plan, at);
        this.discarded = { key: segment.key, offset: at, bytes: window.size - at, reason: end.pendingFrames > 0 ? "uncommitted frames" : end.stop.reason };
        this.options.logger?.warn("the last WAL index ends after its last valid commit; those bytes are left out", {
          generation,
          index: hex8(plan.index),
          key: segment.key,
          offset: at,
          bytes: window.size - at,
          reason: this.discarded.reason,
        });
      }
      if (state.commit > 0) {
        await (await this.pageSink()).truncate(state.commit);
        this.pageCount = state.commit;
      }
      this.offset = state.position?.offset ?? 0;
    } finally {
      await window.close();
    }
  }

  /** Replays the committed transactions after the last position and forgets what it no longer needs. */
  private async apply(state: IndexState): Promise<void> {
    const { window, plan } = state;
    if (!this.prepare(state)) return;
    const sink = await this.pageSink();
    const it = replayWal(window, { from: state.position, trailing: "ignore", file: walLabel(this.plan.generation, plan.index), signal: this.options.signal });
    let end: WalReplayEnd;
    try {
      for (let step = await it.next(); ; step = await it.next()) {
        if (step.done === true) {
          end = step.value;
          break;
        }
        await sink.put(step.value.pgno, step.value.data);
      }
    } catch (err) {
      throw this.walFault(plan, err);
    }
    state.end = end;
    if (end.transactions > 0) {
      this.transactions += end.transactions;
      state.commit = end.commit;
    }
    state.position = end.position;
    // The next replay re-verifies its position with the two frames before it.
    await window.discard(end.position.offset - 2 * state.frameSize);
  }

  private async pageSink(): Promise<PageSink> {
    return (this.sink ??= new PageSink(await this.openFile(), Math.floor(this.memory / 3)));
  }

  /**
   * Once the index has its 32 header bytes: decodes and checks the header (the page size
   * must be the database's) and learns the frame size. False while the header is incomplete.
   */
  private prepare(state: IndexState): boolean {
    if (state.frameSize > 0) return true;
    if (state.window.size < WAL_HEADER_SIZE) return false;
    const first = state.plan.segments[0]!;
    let header: ReturnType<typeof decodeWalHeader>;
    try {
      header = decodeWalHeader(state.window.readAt(0, WAL_HEADER_SIZE) as Uint8Array, first.key);
    } catch (err) {
      throw new ReplicaError(
        "corrupt",
        `WAL index ${hex8(state.plan.index)} of generation ${this.plan.generation} does not start with a valid WAL header (${first.key} in ${this.client.location}): ${(err as Error).message}`,
        { cause: err, key: first.key, offset: 0 },
      );
    }
    if (this.pageSize === 0) this.pageSize = header.pageSize;
    if (header.pageSize !== this.pageSize) {
      throw new ReplicaError(
        "corrupt",
        `WAL index ${hex8(state.plan.index)} of generation ${this.plan.generation} has ${header.pageSize}-byte pages but the database has ${this.pageSize}-byte pages (${first.key})`,
        { key: first.key, offset: 8 },
      );
    }
    state.frameSize = walFrameSize(header.pageSize);
    return true;
  }

  /**
   * Decompresses the next object into `onBlock`; the LZ4 frame must end exactly where the
   * object ends. An object read whole is decoded in one call (into the decoder's reused
   * buffer, up to a third of the memory); a streamed one, or one that would decode to
   * more, block by block.
   */
  private async decodeObject(key: string, onBlock: (block: Uint8Array) => Promise<void>): Promise<void> {
    let rest: number;
    try {
      const next = await this.prefetch.next();
      if ("whole" in next) {
        const one = oneShot(next.whole, key, Math.floor(this.memory / 3));
        if (one !== undefined) {
          await onBlock(one.data);
          rest = next.whole.length - one.end;
        } else {
          rest = await this.decodeStream(key, [next.whole], onBlock);
        }
      } else {
        rest = await this.decodeStream(key, next.stream, onBlock);
      }
    } catch (err) {
      throw this.objectFault(key, err);
    }
    if (rest > 0) throw new ReplicaError("corrupt", `${key} in ${this.client.location}: ${rest} bytes follow the end of its LZ4 frame`, { key });
  }

  /** Streams chunks through an LZ4 frame decoder; returns how many bytes followed the frame. */
  private async decodeStream(key: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, onBlock: (block: Uint8Array) => Promise<void>): Promise<number> {
    const decoder = new Lz4FrameDecoder({ file: key });
    for await (const chunk of chunks) {
      for (const block of decoder.push(chunk)) await onBlock(block);
    }
    decoder.finish();
    return decoder.takeRemainder().length;
  }

  private objectFault(key: string, err: unknown): unknown {
    if (isReplicaError(err)) {
      if (err.code === "not-found") {
        return new ReplicaError("not-found", `${key} vanished from ${this.client.location} during the restore (retention?): restore again`, { cause: err, key });
      }
      return err;
    }
    if (isLtxError(err)) {
      const code = err.code === "aborted" ? "aborted" : "corrupt";
      return new ReplicaError(code, `${key} in ${this.client.location}: ${err.message}`, { cause: err, key, offset: err.offset });
    }
    return err;
  }

  /** A WalError from a replay, placed in the segment (key and offset in it) where it happened. */
  private walFault(plan: LegacyIndexPlan, err: unknown): unknown {
    if (isReplicaError(err) || !isWalError(err)) return err;
    const at = err.offset ?? 0;
    const { segment, within } = locate(plan, at);
    const code = err.code === "aborted" ? "aborted" : "corrupt";
    return new ReplicaError(code, `generation ${this.plan.generation} WAL index ${hex8(plan.index)}: ${err.message}; segment ${segment.key} at byte ${within}`, {
      cause: err,
      key: segment.key,
      offset: within,
    });
  }

  private gap(plan: LegacyIndexPlan, s: number, expected: number): ReplicaError {
    const segment = plan.segments[s]!;
    const prev = plan.segments[s - 1]!;
    const { generation } = this.plan;
    if (segment.offset > expected) {
      return new ReplicaError(
        "non-contiguous",
        `generation ${generation} WAL index ${hex8(plan.index)} in ${this.client.location}: bytes ${expected}…${segment.offset - 1} are missing (${prev.key} ends at ${expected}, the next segment ${segment.key} starts at ${segment.offset})`,
        { key: segment.key, offset: expected },
      );
    }
    return new ReplicaError(
      "corrupt",
      `generation ${generation} WAL index ${hex8(plan.index)} in ${this.client.location}: ${segment.key} starts at ${segment.offset}, inside ${prev.key} (which ends at ${expected})`,
      { key: segment.key, offset: segment.offset },
    );
  }

  private broken(state: IndexState, end: WalReplayEnd): ReplicaError {
    const at = end.position.offset;
    const stop = end.stop.offset;
    const { segment, within } = locate(state.plan, Math.min(stop, state.window.size - 1));
    const why = isBreak(end)
      ? `the WAL checksum chain breaks (${end.stop.reason}) at offset ${stop}`
      : end.pendingFrames > 0
        ? `${end.pendingFrames} frames after offset ${at} are never committed`
        : `it ends inside a frame at offset ${stop}`;
    return new ReplicaError(
      "corrupt",
      `generation ${this.plan.generation} WAL index ${hex8(state.plan.index)} in ${this.client.location}: ${why}, in segment ${segment.key} at byte ${within}; ${state.window.size - at} bytes after the last valid commit cannot be applied`,
      { key: segment.key, offset: within },
    );
  }
}

interface IndexState {
  plan: LegacyIndexPlan;
  window: WalWindow;
  position: WalPosition | undefined;
  /** Database size after the last transaction replayed. */
  commit: number;
  end: WalReplayEnd | undefined;
  /** When a commit frame has arrived whole. */
  watch: CommitWatch;
  frameSize: number;
}

/**
 * One frame decoded in one call, or undefined when it does not decode within `limit`
 * bytes (or fails: the streaming decoder then says where, exactly).
 */
function oneShot(bytes: Uint8Array, key: string, limit: number): { data: Uint8Array; end: number } | undefined {
  try {
    return lz4DecodeFrame(bytes, 0, { file: key, maxContentSize: limit });
  } catch {
    return undefined;
  }
}

/** A stop that is not the end of the bytes (or a torn last frame): a broken chain. */
function isBreak(end: WalReplayEnd): boolean {
  return end.stop.reason !== "end-of-file" && end.stop.reason !== "partial-frame";
}

/** The segment holding WAL byte `at` of an index, and the byte within it. */
function locate(plan: LegacyIndexPlan, at: number): { segment: LegacySegmentInfo; within: number } {
  let segment = plan.segments[0]!;
  for (const s of plan.segments) if (s.offset <= at) segment = s;
  return { segment, within: at - segment.offset };
}

function walLabel(generation: string, index: number): string {
  return `generation ${generation} WAL index ${hex8(index)}`;
}

/** Progress callbacks: every phase change, and downloads at most every 100 ms. */
class Progress {
  total = 0;
  done = 0;
  private state: LegacyRestoreProgress = { phase: "plan", bytesDone: 0, bytesTotal: 0 };
  private last = 0;

  constructor(private readonly callback: ((p: LegacyRestoreProgress) => void) | undefined) {}

  set(p: { phase: LegacyRestoreProgress["phase"]; index?: number }): void {
    this.state = { ...p, bytesDone: this.done, bytesTotal: this.total };
    this.emit();
  }

  add(n: number): void {
    this.done += n;
    this.state.bytesDone = this.done;
    if (Date.now() - this.last >= 100) this.emit();
  }

  private emit(): void {
    this.last = Date.now();
    this.callback?.({ ...this.state });
  }
}
