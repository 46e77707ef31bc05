/** An object store wrapper for tests: counts concurrent reads, logs them, injects faults. */
import type { ListOptions, ObjectEntry, ObjectHead, ObjectInfo, ObjectStore, ReadOptions, SignalOption, WriteOptions } from "../object-store.js";

export interface Fault {
  error: Error;
  /** Fail after sending this many bytes (default: fail before sending any). */
  after?: number;
}

/** Wraps a store: counts concurrent reads, logs them and can fail them. */
export class InstrumentedStore implements ObjectStore {
  readonly kind = "instrumented";
  active = 0;
  peak = 0;
  reads = 0;
  /** Runs before each read (by 1-based number); a returned error fails the read, after `after` bytes if given. */
  fault: ((read: number, key: string, offset: number) => Fault | undefined | Promise<Fault | undefined>) | undefined;
  /** Every read: key, offset, length. */
  readonly log: { key: string; offset: number; length: number | undefined }[] = [];

  /**
   * `pieceSize`: bytes per yielded chunk, each after a macrotask (a network's pace);
   * 0 passes the inner store's chunks straight through.
   */
  constructor(
    private readonly inner: ObjectStore,
    private readonly pieceSize = 512,
  ) {}

  get location(): string {
    return this.inner.location;
  }

  list(prefix: string, options?: ListOptions): AsyncIterable<ObjectEntry> {
    return this.inner.list(prefix, options);
  }

  async read(key: string, options?: ReadOptions): Promise<AsyncIterable<Uint8Array>> {
    const n = ++this.reads;
    this.log.push({ key, offset: options?.offset ?? 0, length: options?.length });
    const fault = await this.fault?.(n, key, options?.offset ?? 0);
    if (fault !== undefined && fault.after === undefined) throw fault.error;
    const body = await this.inner.read(key, options);
    const self = this;
    return (async function* () {
      self.active++;
      self.peak = Math.max(self.peak, self.active);
      let sent = 0;
      try {
        for await (const chunk of body) {
          // Network-sized pieces, each taking a while; a fault cuts the stream at exactly `after` bytes.
          for (let at = 0; at < chunk.length; ) {
            const size = self.pieceSize || chunk.length;
            const limit = fault?.after === undefined ? size : Math.min(size, fault.after - sent);
            if (limit <= 0) throw fault!.error;
            const piece = chunk.subarray(at, at + limit);
            at += piece.length;
            sent += piece.length;
            yield piece;
            if (self.pieceSize > 0) await new Promise((r) => setTimeout(r, 0));
          }
        }
      } finally {
        self.active--;
      }
    })();
  }

  /** HEADs in flight now and at most; each takes a millisecond or so, as over a network. */
  headsActive = 0;
  headsPeak = 0;

  async head(key: string, options?: SignalOption): Promise<ObjectHead> {
    this.headsActive++;
    this.headsPeak = Math.max(this.headsPeak, this.headsActive);
    try {
      await new Promise((r) => setTimeout(r, 1));
      return await this.inner.head(key, options);
    } finally {
      this.headsActive--;
    }
  }

  write(key: string, body: Uint8Array | AsyncIterable<Uint8Array>, options?: WriteOptions): Promise<ObjectInfo> {
    return this.inner.write(key, body, options);
  }

  delete(keys: readonly string[], options?: SignalOption): Promise<void> {
    return this.inner.delete(keys, options);
  }
}
