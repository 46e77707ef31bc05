/** Reads v0.3 snapshot and WAL objects ahead of the restore that consumes them, a few at a time within a byte budget, retrying transient faults. */
import { isReplicaError, ReplicaError, throwIfAborted } from "../errors.js";
import { readObject, type ObjectStore } from "../object-store.js";

/** An object to read, in the order it will be consumed. */
export interface PrefetchItem {
  key: string;
  /** Listed size: what the budget counts. */
  size: number;
}

export interface PrefetcherOptions {
  /** Reads in flight at once (default 8). */
  parallelism?: number | undefined;
  /** Bytes of whole objects held ahead of the consumer (default 32 MiB). */
  budget?: number | undefined;
  /** Objects larger than this are streamed when consumed, never held (default budget / 4). */
  maxWhole?: number | undefined;
  /** Reads of whole objects are retried this many times on transient faults (default 3 attempts). */
  attempts?: number | undefined;
  /** Called with every compressed byte count received. */
  onBytes?: ((n: number) => void) | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Reads a run of objects in order for one consumer, ahead of it: small objects are
 * fetched whole, up to `parallelism` at a time and `budget` bytes ahead; a large one is
 * streamed when its turn comes (later small ones are still fetched meanwhile). Memory
 * is bounded by `budget` plus the stream's chunk. Whole reads are retried; a stream
 * that fails midway is not (the error names the key).
 */
export class ObjectPrefetcher {
  private readonly parallelism: number;
  private readonly budget: number;
  private readonly maxWhole: number;
  private readonly attempts: number;
  private readonly slots: (Promise<Uint8Array> | undefined)[];
  private started = 0;
  private consumed = 0;
  private inFlight = 0;
  private held = 0;
  private closed = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly items: readonly PrefetchItem[],
    private readonly options: PrefetcherOptions = {},
  ) {
    this.parallelism = Math.max(1, options.parallelism ?? 8);
    this.budget = Math.max(1, options.budget ?? 32 * 1024 * 1024);
    this.maxWhole = options.maxWhole ?? Math.floor(this.budget / 4);
    this.attempts = Math.max(1, options.attempts ?? 3);
    this.slots = new Array<Promise<Uint8Array> | undefined>(items.length);
    this.pump();
  }

  /** The next object: its bytes whole (when prefetched) or as a stream of chunks. Call once per item, in order. */
  async next(): Promise<{ whole: Uint8Array } | { stream: AsyncIterable<Uint8Array> }> {
    throwIfAborted(this.options.signal);
    const i = this.consumed++;
    const item = this.items[i];
    if (item === undefined) throw new ReplicaError("invalid-config", "read past the last prefetched object");
    const slot = this.slots[i];
    this.slots[i] = undefined;
    if (slot === undefined) {
      // Large (or not reached within the budget): stream it now.
      if (i >= this.started) this.started = i + 1;
      this.pump();
      return { stream: this.stream(item) };
    }
    try {
      return { whole: await slot };
    } finally {
      this.held -= item.size;
      this.pump();
    }
  }

  /** Stops starting reads; reads in flight finish and are dropped. */
  close(): void {
    this.closed = true;
  }

  private pump(): void {
    while (!this.closed && this.started < this.items.length && this.inFlight < this.parallelism) {
      if (this.started < this.consumed) {
        this.started = this.consumed;
        continue;
      }
      const i = this.started;
      const item = this.items[i]!;
      if (item.size > this.maxWhole) {
        this.started++; // streamed on demand
        continue;
      }
      if (this.held > 0 && this.held + item.size > this.budget) return;
      this.started++;
      this.held += item.size;
      this.inFlight++;
      const slot = this.whole(item).finally(() => {
        this.inFlight--;
        this.pump();
      });
      slot.catch(() => undefined); // surfaced when consumed
      this.slots[i] = slot;
    }
  }

  private async whole(item: PrefetchItem): Promise<Uint8Array> {
    for (let attempt = 1; ; attempt++) {
      try {
        const bytes = await readObject(this.store, item.key, { signal: this.options.signal });
        this.options.onBytes?.(bytes.length);
        return bytes;
      } catch (err) {
        if (attempt >= this.attempts || !transient(err) || this.options.signal?.aborted) throw err;
      }
    }
  }

  private async *stream(item: PrefetchItem): AsyncIterable<Uint8Array> {
    for await (const chunk of await this.store.read(item.key, { signal: this.options.signal })) {
      this.options.onBytes?.(chunk.length);
      yield chunk;
    }
  }
}

function transient(err: unknown): boolean {
  if (isReplicaError(err)) return err.retryable || err.code === "io";
  return true;
}
