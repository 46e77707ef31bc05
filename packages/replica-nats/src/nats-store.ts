/**
 * The `ObjectStore` of a JetStream object store bucket: keys are object names (under an
 * optional prefix), as in Litestream's NATS client (`ltx/<level>/<min>-<max>.ltx`, the
 * LTX timestamp in the object's `Litestream-Timestamp` header).
 */
import { headers } from "@nats-io/transport-node";
import type { ObjectInfo } from "@nats-io/obj";
import {
  checkReadRange,
  sortedListing,
  formatRFC3339Nano,
  parseRFC3339,
  ReplicaError,
  type ListOptions,
  type ObjectEntry,
  type ObjectHead,
  type ObjectStore,
  type ReadOptions,
  type SignalOption,
  type WriteOptions,
} from "@sqlrep/replica";
import { ChunkReader } from "./chunks.js";
import type { NatsBucket, NatsLink } from "./connection.js";
import { isWrongLastSequence, toReplicaError } from "./nats-errors.js";

/** The object header Litestream keeps the LTX timestamp in (Go's RFC3339Nano). */
export const TIMESTAMP_HEADER = "Litestream-Timestamp";

/** Options of {@link NatsObjectStore}. */
export interface NatsObjectStoreOptions {
  link: NatsLink;
  /** Milliseconds a read may wait for its next chunk, and a put for each acknowledgement (default 10 s). */
  timeoutMs?: number | undefined;
}

/**
 * A JetStream object store bucket as an object store.
 *
 * - **Writes** are object store puts (chunks, then the object's metadata as the commit
 *   point: readers see the old version or the new one; the old chunks are purged after).
 *   Create-only (`ifNoneMatch`) is enforced by JetStream: the metadata is published with
 *   `Nats-Expected-Last-Subject-Sequence` set to the revision seen before (0, or a
 *   deletion marker's), so of two racing writers one fails with "exists".
 * - **Reads** of a range: see {@link ChunkReader} (no native range; whole reads are
 *   checked against the object's SHA-256 digest).
 * - **Listing** reads every object's metadata in the bucket (the object store cannot
 *   filter names server-side: they are encoded in subjects), then filters and sorts.
 */
export class NatsObjectStore implements ObjectStore {
  readonly kind = "nats";
  readonly location: string;
  private readonly link: NatsLink;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private reader: { bucket: NatsBucket; reader: ChunkReader } | undefined;

  constructor(options: NatsObjectStoreOptions) {
    this.link = options.link;
    this.location = options.link.settings.location;
    this.prefix = options.link.settings.prefix === "" ? "" : `${options.link.settings.prefix}/`;
    this.timeoutMs = options.timeoutMs ?? options.link.settings.timeoutMs;
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectEntry> {
    const { signal } = options;
    const infos = await this.run("list", `${prefix}*`, signal, ({ os }) => os.list());
    const wanted = this.prefix + prefix;
    const found = infos
      .filter((info) => !info.deleted && !info.options?.link && info.name.startsWith(wanted))
      .map((info) => ({ key: info.name.slice(this.prefix.length), size: info.size, lastModified: new Date(info.mtime) }));
    yield* sortedListing(found, prefix, options);
  }

  async read(key: string, options: ReadOptions = {}): Promise<AsyncIterable<Uint8Array>> {
    const { signal } = options;
    const start = options.offset ?? 0;
    checkReadRange(start, options.length, key);
    const { info, reader } = await this.run("read", key, signal, async (bucket) => ({ info: await this.existing(bucket, key), reader: this.readerOf(bucket) }));
    if (start > info.size) throw new ReplicaError("io", `cannot read ${this.target(key)} from offset ${start}: the object has ${info.size} bytes`, { key });
    const end = options.length === undefined ? info.size : Math.min(info.size, start + options.length);
    const target = this.target(key);
    return (async function* () {
      try {
        yield* reader.read(info, start, end, target, key, signal);
      } catch (err) {
        throw toReplicaError(err, "read", target, key, signal);
      }
    })();
  }

  async head(key: string, options: SignalOption = {}): Promise<ObjectHead> {
    const info = await this.run("stat", key, options.signal, (bucket) => this.existing(bucket, key));
    const stamp = info.headers?.get(TIMESTAMP_HEADER);
    return { key, size: info.size, lastModified: new Date(info.mtime), timestamp: stamp ? parseRFC3339(stamp) : undefined };
  }

  async write(key: string, body: Uint8Array | AsyncIterable<Uint8Array>, options: WriteOptions = {}): Promise<{ key: string; size: number; lastModified: Date }> {
    const { signal, timestamp } = options;
    const name = this.prefix + key;
    return this.run("write", key, signal, async ({ os }) => {
      let previousRevision: number | undefined;
      if (options.ifNoneMatch === true) {
        const current = await os.info(name);
        if (current !== null && !current.deleted) throw this.exists(key);
        previousRevision = current?.revision ?? 0;
      }
      const meta = { name, ...(timestamp === undefined ? {} : { headers: timestampHeaders(timestamp) }) };
      try {
        const info = await os.put(meta, readable(body, signal), { timeout: this.timeoutMs, ...(previousRevision === undefined ? {} : { previousRevision }) });
        return { key, size: info.size, lastModified: timestamp ?? new Date(info.mtime) };
      } catch (err) {
        if (previousRevision !== undefined && isWrongLastSequence(err)) throw this.exists(key, err);
        throw err;
      }
    });
  }

  async delete(keys: readonly string[], options: SignalOption = {}): Promise<void> {
    for (const key of keys) {
      await this.run("delete", key, options.signal, async ({ os }) => {
        const info = await os.info(this.prefix + key);
        if (info !== null && !info.deleted) await os.delete(this.prefix + key);
      });
    }
  }

  /** Closes the connection. */
  destroy(): Promise<void> {
    return this.link.close();
  }

  private target(key: string): string {
    return `${this.location}/${key}`;
  }

  private exists(key: string, cause?: unknown): ReplicaError {
    return new ReplicaError("exists", `${this.target(key)} exists: not overwritten (create-only write)`, { key, cause });
  }

  /** The object's current version; ReplicaError("not-found") when there is none (or only a deletion marker). */
  private async existing({ os }: NatsBucket, key: string): Promise<ObjectInfo> {
    const info = await os.info(this.prefix + key);
    if (info === null || info.deleted) throw new ReplicaError("not-found", `${this.target(key)} does not exist`, { key });
    if (info.options?.link) throw new ReplicaError("io", `${this.target(key)} is an object store link, not an object`, { key });
    return info;
  }

  private readerOf(bucket: NatsBucket): ChunkReader {
    if (this.reader?.bucket !== bucket) this.reader = { bucket, reader: new ChunkReader(bucket.js, bucket.stream, this.link.settings.bucket, this.timeoutMs) };
    return this.reader.reader;
  }

  /** Runs one operation on the bucket; every failure is a ReplicaError naming the object. */
  private async run<T>(op: string, key: string, signal: AbortSignal | undefined, work: (bucket: NatsBucket) => Promise<T>): Promise<T> {
    if (signal?.aborted) throw new ReplicaError("aborted", `${op} ${this.target(key)} aborted`, { key, cause: signal.reason });
    try {
      return await work(await this.link.open());
    } catch (err) {
      if (err instanceof ReplicaError && err.key === undefined && err.code !== "aborted") {
        throw new ReplicaError(err.code, `cannot ${op} ${this.target(key)}: ${err.message}`, { key, cause: err, retryable: err.retryable });
      }
      throw toReplicaError(err, op, this.target(key), key, signal);
    }
  }
}

function timestampHeaders(timestamp: Date) {
  const h = headers();
  h.set(TIMESTAMP_HEADER, formatRFC3339Nano(timestamp));
  return h;
}

/** A body as the ReadableStream the object store client reads; an abort errors it (the put then purges its chunks). */
function readable(body: Uint8Array | AsyncIterable<Uint8Array>, signal: AbortSignal | undefined): ReadableStream<Uint8Array> {
  const source: AsyncIterator<Uint8Array> | undefined = body instanceof Uint8Array ? undefined : body[Symbol.asyncIterator]();
  let sent = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (signal?.aborted) return controller.error(new ReplicaError("aborted", "write aborted", { cause: signal.reason }));
        if (source === undefined) {
          if (!sent && (body as Uint8Array).length > 0) controller.enqueue(body as Uint8Array);
          sent = true;
          return controller.close();
        }
        const next = await source.next();
        if (next.done) controller.close();
        else if (next.value.length > 0) controller.enqueue(next.value);
      },
      async cancel() {
        await source?.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}
