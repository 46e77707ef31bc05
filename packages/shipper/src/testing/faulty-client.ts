/**
 * A real replica client (a directory replica in tests) with faults on demand: the store
 * down, writes failing before they land, or landing with their answer lost; writes held
 * at a gate; and every request counted, so tests see what a shipper asked and when.
 */
import {
  ReplicaError,
  type LtxFileInfo,
  type LtxFileRef,
  type LtxFilesOptions,
  type ObjectStore,
  type ReplicaClient,
  type ReplicaLayout,
  type SignalOption,
  type WriteLtxOptions,
} from "@sqlrep/replica";
import type { Clock } from "../clock.js";

/** What the wrapped client does with a request. */
export type FaultMode =
  /** Passes everything through. */
  | "ok"
  /** Every request fails (connection refused). */
  | "down"
  /** Writes fail before anything lands; reads work. */
  | "fail-writes"
  /** Writes land, then report a failure (the answer got lost). */
  | "lose-answers";

/** One write that reached the client. */
export interface WriteRecord extends LtxFileRef {
  /** The test clock's time when it was asked for. */
  at: number;
  /** Whether it was refused by a fault (nothing written, or written with a lost answer). */
  faulted: boolean;
}

/** See the file comment. */
export class FaultyClient implements ReplicaClient {
  mode: FaultMode = "ok";
  /** While set, writes wait for it before doing anything. */
  gate: Promise<void> | undefined;
  readonly writes: WriteRecord[] = [];
  readonly requests = { list: 0, get: 0, stat: 0, put: 0, delete: 0 };
  /** The test clock's time of each stat (the shipper's probes are stats). */
  readonly stats: number[] = [];
  /** Each listing: its level and the test clock's time. */
  readonly lists: { level: number; at: number }[] = [];
  /** Requests started and not finished. */
  inFlight = 0;
  /** Called after each write that landed (a test may change the mode there). */
  onLanded: ((write: WriteRecord) => void) | undefined;

  constructor(
    private readonly inner: ReplicaClient,
    private readonly clock: Clock,
  ) {}

  get type(): string {
    return this.inner.type;
  }
  get location(): string {
    return this.inner.location;
  }
  get store(): ObjectStore {
    return this.inner.store;
  }
  get layout(): ReplicaLayout {
    return this.inner.layout;
  }

  /** Total requests of every kind. */
  get total(): number {
    const r = this.requests;
    return r.list + r.get + r.stat + r.put + r.delete;
  }

  /** Writes that were not refused, in order (of one level when given). */
  landed(level?: number): WriteRecord[] {
    return this.writes.filter((w) => !w.faulted && (level === undefined || w.level === level));
  }

  async *ltxFiles(level: number, options?: LtxFilesOptions): AsyncIterable<LtxFileInfo> {
    this.requests.list++;
    this.lists.push({ level, at: this.clock.now() });
    this.inFlight++;
    try {
      this.check(`list level ${level}`);
      yield* this.inner.ltxFiles(level, options);
    } finally {
      this.inFlight--;
    }
  }

  async openLtxFile(file: LtxFileRef, options?: { offset?: number; length?: number; signal?: AbortSignal }): Promise<AsyncIterable<Uint8Array>> {
    this.requests.get++;
    const body = await this.track(`read ${label(file)}`, () => this.inner.openLtxFile(file, options));
    return this.streamed(body);
  }

  readLtxRange(file: LtxFileRef, offset: number, length: number, options?: SignalOption): Promise<Uint8Array> {
    this.requests.get++;
    return this.track(`read ${label(file)}`, () => this.inner.readLtxRange(file, offset, length, options));
  }

  statLtxFile(file: LtxFileRef, options?: SignalOption): Promise<LtxFileInfo> {
    this.requests.stat++;
    this.stats.push(this.clock.now());
    return this.track(`stat ${label(file)}`, () => this.inner.statLtxFile(file, options));
  }

  writeLtxFile(file: LtxFileRef, body: Uint8Array | AsyncIterable<Uint8Array>, options?: WriteLtxOptions): Promise<LtxFileInfo> {
    this.requests.put++;
    const record: WriteRecord = { level: file.level, minTXID: file.minTXID, maxTXID: file.maxTXID, at: this.clock.now(), faulted: this.mode !== "ok" };
    this.writes.push(record);
    return this.track(`write ${label(file)}`, async () => {
      if (this.gate !== undefined) await this.gate;
      record.faulted = this.mode !== "ok";
      if (this.mode === "fail-writes") {
        // Read a little of the body, as an upload cut off by the network does.
        if (!(body instanceof Uint8Array)) for await (const _ of body) break;
        throw new ReplicaError("io", `injected failure writing ${label(file)}`, { retryable: true });
      }
      const info = await this.inner.writeLtxFile(file, body, options);
      this.onLanded?.(record);
      if (this.mode === "lose-answers") throw new ReplicaError("io", `injected lost answer after writing ${label(file)}`, { retryable: true });
      return info;
    });
  }

  deleteLtxFiles(files: readonly LtxFileRef[], options?: SignalOption): Promise<void> {
    if (files.length > 0) this.requests.delete++;
    return this.track("delete", () => this.inner.deleteLtxFiles(files, options));
  }

  deleteAll(options?: SignalOption): Promise<void> {
    this.requests.delete++;
    return this.track("delete all", () => this.inner.deleteAll(options));
  }

  /** A body being read counts as in flight until it ends (its reads go on after `openLtxFile` resolved). */
  private async *streamed(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    this.inFlight++;
    try {
      yield* body;
    } finally {
      this.inFlight--;
    }
  }

  private check(what: string): void {
    if (this.mode === "down") throw new ReplicaError("io", `injected outage: ${what} refused`, { retryable: true });
  }

  private async track<T>(what: string, fn: () => Promise<T>): Promise<T> {
    this.inFlight++;
    try {
      this.check(what);
      return await fn();
    } finally {
      this.inFlight--;
    }
  }
}

function label(f: LtxFileRef): string {
  return `level ${f.level} ${f.minTXID}-${f.maxTXID}`;
}
