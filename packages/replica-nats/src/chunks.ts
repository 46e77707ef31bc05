/**
 * Byte ranges of objects in a JetStream object store, which has no ranged read: an
 * object is its chunks, one stream message each on `$O.<bucket>.C.<nuid>`, in order.
 * A read from offset 0 streams the chunks from the first. A read from further on first
 * learns where each chunk starts — a headers-only pass over the chunk subject, the
 * server sending each chunk's size (`Nats-Msg-Size`) without its bytes, cached per
 * object version (nuid) — then streams from the chunk holding the offset. So a ranged
 * read transfers the needed chunks (≤ 128 KiB of waste at each end, with the default
 * chunk size) plus ~100 bytes of headers per chunk of the object, once per version.
 */
import { createHash } from "node:crypto";
import { DeliverPolicy, type JetStreamClient, type JsMsg } from "@nats-io/jetstream";
import type { ObjectInfo } from "@nats-io/obj";
import { ReplicaError } from "@sqlrep/replica";

/** Where the chunks of one object version start. */
interface ChunkIndex {
  /** Stream sequence of each chunk. */
  seqs: number[];
  /** Byte offset of each chunk in the object. */
  offsets: number[];
}

/** Chunk indexes kept (one per object version, ~16 bytes per chunk). */
const INDEX_CACHE = 256;
/** Chunks a read asks the server for at a time (bounds what is buffered: 8 × 128 KiB). */
const BATCH = 8;

/** Reads object bytes chunk by chunk; see the module comment. */
export class ChunkReader {
  private readonly indexes = new Map<string, ChunkIndex>();

  constructor(
    private readonly js: JetStreamClient,
    private readonly stream: string,
    private readonly bucket: string,
    /** A read that receives nothing for this long fails (retryable). */
    private readonly stallMs: number,
  ) {}

  /**
   * Streams `[start, end)` of an object version. A whole-object read is checked against
   * the object's SHA-256 digest. `target`/`key` name the object in errors.
   */
  async *read(info: ObjectInfo, start: number, end: number, target: string, key: string, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
    if (end <= start) return;
    let position = 0;
    let seq: number | undefined;
    if (start > 0) {
      const index = await this.index(info, target, key, signal);
      const first = chunkAt(index.offsets, start);
      position = index.offsets[first]!;
      seq = index.seqs[first]!;
    }
    const hash = start === 0 && end === info.size ? createHash("sha256") : undefined;
    for await (const message of this.chunks(info, seq, false, BATCH, target, key, signal)) {
      // The Node transport hands out Buffers; the contract promises plain Uint8Array views.
      const data = new Uint8Array(message.data.buffer, message.data.byteOffset, message.data.byteLength);
      const at = position;
      position += data.length;
      hash?.update(data);
      const from = Math.max(start, at) - at;
      const to = Math.min(end, position) - at;
      if (to > from) yield from === 0 && to === data.length ? data : data.subarray(from, to);
      if (position >= end) break;
    }
    if (position < end) {
      throw new ReplicaError("io", `cannot read ${target} at offset ${position}: its chunks ended early (the object was replaced or deleted while being read)`, {
        key,
        offset: position,
      });
    }
    if (hash !== undefined) {
      const digest = `SHA-256=${hash.digest("base64url")}`;
      if (digestValue(info.digest) !== digestValue(digest)) {
        throw new ReplicaError("corrupt", `${target}: the chunks do not match the object's digest (${info.digest}, read ${digest})`, { key });
      }
    }
  }

  /** Where each chunk of an object version starts (cached by nuid). */
  private async index(info: ObjectInfo, target: string, key: string, signal: AbortSignal | undefined): Promise<ChunkIndex> {
    const cached = this.indexes.get(info.nuid);
    if (cached !== undefined) {
      this.indexes.delete(info.nuid);
      this.indexes.set(info.nuid, cached);
      return cached;
    }
    const index: ChunkIndex = { seqs: [], offsets: [] };
    let offset = 0;
    for await (const message of this.chunks(info, undefined, true, 1024, target, key, signal)) {
      const size = Number(message.headers?.get("Nats-Msg-Size"));
      if (!Number.isSafeInteger(size) || size < 0) throw new ReplicaError("io", `cannot index ${target}: chunk ${message.seq} came without its size`, { key });
      index.seqs.push(message.seq);
      index.offsets.push(offset);
      offset += size;
      if (index.seqs.length === info.chunks) break;
    }
    if (index.seqs.length !== info.chunks || offset !== info.size) {
      throw new ReplicaError(
        "io",
        `cannot index ${target}: found ${index.seqs.length} chunks of ${offset} bytes, the object has ${info.chunks} of ${info.size} (replaced or deleted meanwhile)`,
        { key },
      );
    }
    this.indexes.set(info.nuid, index);
    if (this.indexes.size > INDEX_CACHE) this.indexes.delete(this.indexes.keys().next().value!);
    return index;
  }

  /**
   * The chunk messages of an object version from stream sequence `fromSeq` (or the
   * first), through an ordered consumer; stops at the last chunk. Nothing arriving for
   * `stallMs` fails the read, retryable (the server is gone or busy), unless the
   * consumer says no chunk is left (the object was purged: replaced or deleted).
   */
  private async *chunks(
    info: ObjectInfo,
    fromSeq: number | undefined,
    headersOnly: boolean,
    batch: number,
    target: string,
    key: string,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<JsMsg> {
    const consumer = await this.js.consumers.get(this.stream, {
      filter_subjects: `$O.${this.bucket}.C.${info.nuid}`,
      ...(fromSeq === undefined ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: fromSeq }),
      headers_only: headersOnly,
    });
    const messages = await consumer.consume({ max_messages: batch });
    const iterator = messages[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await withDeadline(
          iterator.next(),
          this.stallMs,
          signal,
          () => new ReplicaError("io", `cannot read ${target}: no chunk arrived within ${this.stallMs} ms`, { key, retryable: true }),
        );
        if (next.done) return;
        yield next.value;
        if (next.value.info.pending === 0) return;
      }
    } finally {
      messages.stop();
      void consumer.delete().catch(() => undefined);
    }
  }
}

/** The chunk holding `offset` (the last chunk starting at or before it). */
function chunkAt(offsets: readonly number[], offset: number): number {
  let lo = 0;
  let hi = offsets.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (offsets[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The base64url value of an object store digest (`SHA-256=…`, padded by some clients and not by others). */
function digestValue(digest: string): string {
  return digest.replace(/^SHA-256=/i, "").replace(/=+$/, "");
}

/** `work`, or a rejection with `onTimeout()` after `ms`, or with an AbortError when the signal fires. */
function withDeadline<T>(work: Promise<T>, ms: number, signal: AbortSignal | undefined, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = () => finish(() => reject(Object.assign(new Error("aborted"), { name: "AbortError" })));
    const timer = setTimeout(() => finish(() => reject(onTimeout())), ms);
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", abort);
      settle();
    };
    if (signal?.aborted) return abort();
    signal?.addEventListener("abort", abort, { once: true });
    work.then(
      (value) => finish(() => resolve(value)),
      (err: unknown) => finish(() => reject(err)),
    );
  });
}
