/** One v0.3 restore as it runs: the snapshot into the temp database, then each WAL index replayed onto it. */
import { concatBytes } from "@sqlrep/ltx";
import { PageFile } from "@sqlrep/page-file";
import { decodeDatabaseHeader, decodeWalHeader, replayWal, WAL_HEADER_SIZE, walFrameSize, type WalPosition, type WalReplayEnd } from "@sqlrep/wal";
import { ReplicaError, throwIfAborted } from "../errors.js";
import { ioError } from "../restore-write.js";
import type { ReplicaClient } from "../replica-client.js";
import { hex8 } from "./names.js";
import { CommitWatch } from "./commit-watch.js";
import { decodeObject } from "./object-decode.js";
import { PageSink } from "./page-sink.js";
import type { LegacyIndexPlan, LegacyRestorePlan } from "./plan.js";
import { ObjectPrefetcher } from "./prefetch.js";
import { brokenError, gapError, isBreak, locate, walFault, walLabel } from "./replay-faults.js";
import type { LegacyRestoreOptions, LegacyRestoreResult } from "./restore-options.js";
import type { Progress } from "./restore-progress.js";
import { WalWindow } from "./wal-window.js";

const DEFAULT_MEMORY = 96 * 1024 * 1024;

/** One restore: the snapshot, then each index. */
export class LegacyRestoreRun {
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
        if (segment.offset !== window.size) throw gapError(this.client.location, generation, plan, s, window.size);
        await this.decodeObject(segment.key, async (block) => {
          await window.append(block);
          if (state.watch.push(block, this.prepare(state) ? state.frameSize : undefined)) await this.apply(state);
        });
        await this.apply(state);
        this.segments++;
        const end = state.end;
        // A break in the checksum chain with more WAL after it means lost or damaged data.
        if (end !== undefined && isBreak(end) && !(last && s === plan.segments.length - 1)) throw brokenError(this.client.location, generation, plan, window.size, end);
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
        if (!last) throw brokenError(this.client.location, generation, plan, window.size, end);
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
      throw walFault(this.plan.generation, plan, err);
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

  /** The next object decompressed into `onBlock` (see `decodeObject`), a third of the memory for one-call decodes. */
  private decodeObject(key: string, onBlock: (block: Uint8Array) => Promise<void>): Promise<void> {
    return decodeObject(this.prefetch, this.client.location, key, Math.floor(this.memory / 3), onBlock);
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
