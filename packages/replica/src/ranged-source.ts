/** RangeScheduler: reads many LTX files as streams of ranged reads under one parallelism and memory budget, retrying transient failures in place. */
import { setMaxListeners } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { isReplicaError, ReplicaError } from "./errors.js";
import { fileLabel } from "./listing.js";
import { ltxKey, type LtxFileInfo, type ReplicaClient } from "./replica-client.js";

/** How ranged reads are spread over a replica. */
export interface RangeSchedulerOptions {
  /** Ranged reads in flight at once, across every file of the scheduler (default 8). */
  parallelism?: number | undefined;
  /** Bytes per ranged read (default 4 MiB). */
  rangeSize?: number | undefined;
  /**
   * Bytes fetched ahead of the readers, across every file (default parallelism ×
   * rangeSize). A read a reader is waiting for is started even past this budget, so
   * memory stays under it plus one range per file.
   */
  maxBufferedBytes?: number | undefined;
  /** Retries of a range after a transient failure (default 5), resumed at the failed byte. */
  retries?: number | undefined;
  /** First retry delay in ms, doubled at each retry (default 100). */
  retryDelay?: number | undefined;
  /** Called with the size of every chunk received (progress). */
  onBytes?: ((bytes: number) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export const DEFAULT_PARALLELISM = 8;
export const DEFAULT_RANGE_SIZE = 4 * 1024 * 1024;

/**
 * One byte range of a file and what became of its read. No promise is kept: a settled
 * promise (or its resolving functions) would keep the bytes alive after the reader
 * took them.
 */
interface Range {
  start: number;
  end: number;
  started: boolean;
  /** Its bytes are counted in the scheduler's buffered total. */
  reserved: boolean;
  /** The whole range, once arrived (dropped when the reader has taken it). */
  chunks: Uint8Array[] | undefined;
  failure: unknown;
  /** The reader waiting for this range. */
  waiter: (() => void) | undefined;
}

/**
 * Reads many LTX files as byte streams by ranged reads, `parallelism` at a time under
 * one shared budget: a file is cut into ranges that are fetched ahead (several at once
 * for a big file) and yielded in order. A read that a reader waits for goes first;
 * otherwise the file with the fewest bytes ready gets the next slot, so every reader
 * of a k-way merge is fed. A transient failure (`ReplicaError.retryable`) is retried
 * from the byte where it stopped.
 */
export class RangeScheduler {
  readonly parallelism: number;
  readonly rangeSize: number;
  private readonly maxBuffered: number;
  private readonly retries: number;
  private readonly retryDelay: number;
  private readonly onBytes: ((bytes: number) => void) | undefined;
  private readonly controller = new AbortController();
  /** Every open source (closed by `close`). */
  private readonly sources = new Set<RangedSource>();
  /** Open sources with ranges not started yet, in the order they were opened. */
  private readonly candidates = new Set<RangedSource>();
  /** Sources whose reader waits for a range that has not started, first come first served. */
  private readonly waiting: RangedSource[] = [];
  private inFlight = 0;
  private buffered = 0;
  private maxInFlightSeen = 0;

  constructor(
    private readonly client: ReplicaClient,
    options: RangeSchedulerOptions = {},
  ) {
    this.parallelism = positive(options.parallelism ?? DEFAULT_PARALLELISM, "parallelism");
    this.rangeSize = positive(options.rangeSize ?? DEFAULT_RANGE_SIZE, "rangeSize");
    this.maxBuffered = positive(options.maxBufferedBytes ?? this.parallelism * this.rangeSize, "maxBufferedBytes");
    this.retries = options.retries ?? 5;
    this.retryDelay = options.retryDelay ?? 100;
    this.onBytes = options.onBytes;
    const signal = options.signal;
    if (signal !== undefined) {
      if (signal.aborted) this.controller.abort(signal.reason);
      else signal.addEventListener("abort", () => this.controller.abort(signal.reason), { once: true, signal: this.controller.signal });
    }
  }

  /** The most ranged reads that were in flight at once (for tests and tuning). */
  get peakInFlight(): number {
    return this.maxInFlightSeen;
  }

  /** A stream of the file's bytes; its first ranges start downloading now. */
  open(file: LtxFileInfo): AsyncIterable<Uint8Array> & AsyncIterator<Uint8Array> {
    const source = new RangedSource(this, file);
    this.sources.add(source);
    if (source.hasUnstarted()) this.candidates.add(source);
    this.pump();
    return source;
  }

  /** Stops every read (pending reads reject with "aborted"). Idempotent. */
  close(): void {
    for (const source of [...this.sources]) source.close();
    if (!this.controller.signal.aborted) this.controller.abort(new ReplicaError("aborted", "range reads closed"));
  }

  /** @internal Starts whatever the slots and the byte budget allow. */
  pump(): void {
    while (this.inFlight < this.parallelism) {
      const source = this.pick();
      if (source === undefined) return;
      this.start(source);
    }
  }

  /** @internal Returns a range's bytes to the budget. */
  release(range: Range): void {
    if (!range.reserved) return;
    range.reserved = false;
    this.buffered -= range.end - range.start;
    this.pump();
  }

  /** @internal A reader waits for a range of `source` that has not started. */
  wait(source: RangedSource): void {
    this.waiting.push(source);
    this.pump();
  }

  /** @internal */
  forget(source: RangedSource): void {
    this.sources.delete(source);
    this.candidates.delete(source);
  }

  /** The source to start a read for: one a reader waits on, else the least fed within budget. */
  private pick(): RangedSource | undefined {
    for (let s = this.waiting[0]; s !== undefined; s = this.waiting[0]) {
      if (s.waiting && s.hasUnstarted()) return s;
      this.waiting.shift();
    }
    let best: RangedSource | undefined;
    let bestAhead = Infinity;
    for (const s of this.candidates) {
      const ahead = s.readyAhead();
      if (ahead < bestAhead) {
        best = s;
        bestAhead = ahead;
        if (ahead === 0) break; // nobody is less fed
      }
    }
    if (best === undefined) return undefined;
    const size = best.nextRangeSize();
    return this.buffered === 0 || this.buffered + size <= this.maxBuffered ? best : undefined;
  }

  private start(source: RangedSource): void {
    const range = source.takeUnstarted();
    if (!source.hasUnstarted()) this.candidates.delete(source);
    this.inFlight++;
    this.maxInFlightSeen = Math.max(this.maxInFlightSeen, this.inFlight);
    this.buffered += range.end - range.start;
    range.reserved = true;
    this.fetch(source, range)
      .then(
        (chunks) => (range.chunks = chunks),
        (err: unknown) => (range.failure = err),
      )
      .finally(() => {
        this.inFlight--;
        source.fetching--;
        wake(range);
        this.pump();
      });
  }

  /** Reads one range, resuming after transient failures. */
  private async fetch(source: RangedSource, range: Range): Promise<Uint8Array[]> {
    const { file, signal } = source;
    const length = range.end - range.start;
    const chunks: Uint8Array[] = [];
    let received = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        const body = await this.client.openLtxFile(file, { offset: range.start + received, length: length - received, signal });
        for await (const chunk of body) {
          const take = Math.min(chunk.length, length - received);
          if (take > 0) chunks.push(take === chunk.length ? chunk : chunk.subarray(0, take));
          received += take;
          this.onBytes?.(take);
        }
        if (received === length) return chunks;
        throw new ReplicaError("io", `the read ended after ${received} of ${length} bytes`, { retryable: true });
      } catch (err) {
        if (signal.aborted) throw this.aborted(source, signal.reason);
        const failure = this.describe(err, source, range.start + received);
        if (!failure.retryable || attempt >= this.retries) throw failure;
        try {
          await sleep(this.retryDelay * 2 ** attempt, undefined, { signal });
        } catch {
          throw this.aborted(source, signal.reason);
        }
      }
    }
  }

  private describe(err: unknown, source: RangedSource, offset: number): ReplicaError {
    const key = ltxKey(this.client.layout, source.file);
    const where = `${fileLabel(source.file)} (${key}) at offset ${offset}`;
    if (isReplicaError(err)) {
      if (err.code === "aborted") return err;
      return new ReplicaError(err.code, `cannot read ${where}: ${err.message}`, { key, offset, cause: err, retryable: err.retryable });
    }
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    const retryable = code !== undefined && TRANSIENT_CODES.has(code);
    return new ReplicaError("io", `cannot read ${where}: ${(err as Error).message}`, { key, offset, cause: err, retryable });
  }

  private aborted(source: RangedSource, reason: unknown): ReplicaError {
    return new ReplicaError("aborted", `reading ${fileLabel(source.file)} aborted`, { cause: reason });
  }

  /** @internal */
  get abortSignal(): AbortSignal {
    return this.controller.signal;
  }
}

/** Why a source's reads were stopped (its reader went away). */
const STOPPED = new Error("the reader stopped");

/** Errors from sockets and the OS that a retry may cure. */
const TRANSIENT_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "EAGAIN", "EBUSY", "UND_ERR_SOCKET"]);

/** One file's byte stream (see `RangeScheduler.open`). */
class RangedSource implements AsyncIterable<Uint8Array>, AsyncIterator<Uint8Array> {
  readonly signal: AbortSignal;
  /** A reader is waiting for a range that has not started. */
  waiting = false;
  /** Reads of this file in flight. */
  fetching = 0;
  private readonly controller = new AbortController();
  private readonly ranges: Range[] = [];
  private started = 0;
  private current = 0;
  private chunks: Uint8Array[] | undefined;
  private chunk = 0;
  private closed = false;

  constructor(
    private readonly scheduler: RangeScheduler,
    readonly file: LtxFileInfo,
  ) {
    this.signal = AbortSignal.any([scheduler.abortSignal, this.controller.signal]);
    // Every read of this file (up to `parallelism` at once) and every retry delay listens to it.
    setMaxListeners(scheduler.parallelism + 16, this.signal);
    for (let start = 0; start < file.size; start += scheduler.rangeSize) {
      this.ranges.push({ start, end: Math.min(file.size, start + scheduler.rangeSize), started: false, reserved: false, chunks: undefined, failure: undefined, waiter: undefined });
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    for (;;) {
      if (this.closed) return { done: true, value: undefined };
      if (this.chunks !== undefined && this.chunk < this.chunks.length) return { done: false, value: this.chunks[this.chunk++]! };
      if (this.chunks !== undefined) {
        // The reader has taken every chunk of this range: its bytes leave the budget.
        this.scheduler.release(this.ranges[this.current]!);
        this.chunks = undefined;
        this.current++;
      }
      const range = this.ranges[this.current];
      if (range === undefined) {
        this.close();
        return { done: true, value: undefined };
      }
      if (!range.started) {
        this.waiting = true;
        this.scheduler.wait(this);
      }
      while (range.chunks === undefined && range.failure === undefined && !this.closed) {
        await new Promise<void>((resolve) => (range.waiter = resolve));
      }
      if (range.failure !== undefined || this.closed) {
        const failure = range.failure ?? new ReplicaError("aborted", `reading ${fileLabel(this.file)} stopped`);
        this.close();
        throw failure;
      }
      this.chunks = range.chunks;
      range.chunks = undefined;
      this.chunk = 0;
    }
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    this.close();
    return { done: true, value: undefined };
  }

  /** Stops this file's reads and gives its buffered bytes back. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.fetching > 0) this.controller.abort(STOPPED);
    this.scheduler.forget(this);
    for (const range of this.ranges) {
      range.chunks = undefined;
      this.scheduler.release(range);
      wake(range);
    }
  }

  hasUnstarted(): boolean {
    return !this.closed && this.started < this.ranges.length;
  }

  nextRangeSize(): number {
    const r = this.ranges[this.started]!;
    return r.end - r.start;
  }

  /** Bytes started but not yet handed to the reader: how well fed this file is. */
  readyAhead(): number {
    let bytes = 0;
    for (let i = this.current; i < this.started; i++) bytes += this.ranges[i]!.end - this.ranges[i]!.start;
    return bytes;
  }

  takeUnstarted(): Range {
    this.waiting = false;
    this.fetching++;
    const range = this.ranges[this.started++]!;
    range.started = true;
    return range;
  }
}

function wake(range: Range): void {
  const waiter = range.waiter;
  range.waiter = undefined;
  waiter?.();
}

function positive(n: number, name: string): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new ReplicaError("invalid-config", `${name} must be a positive integer, got ${n}`);
  return n;
}
