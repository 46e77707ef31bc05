/**
 * The `ObjectStore` of one GCS bucket, over `@google-cloud/storage`: objects carrying
 * Litestream's `litestream-timestamp` metadata, listings that bring it along, ranged
 * reads, and create-only writes with `ifGenerationMatch: 0`.
 */
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Bucket, File } from "@google-cloud/storage";
import {
  compareKeys,
  formatRFC3339Nano,
  parseRFC3339,
  throwIfAborted,
  type ListOptions,
  type ObjectEntry,
  type ObjectHead,
  type ObjectInfo,
  type ObjectStore,
  type ReadOptions,
  type SignalOption,
  type WriteOptions,
} from "@sqlrep/replica";
import { toReplicaError } from "./gs-errors.js";

/** The metadata key Litestream keeps the LTX timestamp under. */
export const TIMESTAMP_METADATA_KEY = "litestream-timestamp";
/** Bodies up to this go up in one request; larger ones and streams as resumable uploads. */
const SINGLE_UPLOAD_LIMIT = 8 * 1024 * 1024;
const DELETE_CONCURRENCY = 16;

interface GcsObjectMetadata {
  name?: string;
  size?: string | number;
  updated?: string;
  metadata?: Record<string, string | number | boolean | null>;
}

/**
 * A GCS bucket as an `ObjectStore`. Keys are full object names. Writes are atomic (an
 * object appears when its upload finalizes); with `ifNoneMatch` they carry
 * `ifGenerationMatch: 0`, which GCS enforces: an existing object fails the write with
 * 412 → ReplicaError("exists").
 */
export class GsObjectStore implements ObjectStore {
  readonly kind = "gs";
  readonly location: string;

  constructor(
    readonly bucket: Bucket,
    location?: string,
  ) {
    this.location = location ?? `gs://${bucket.name}`;
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectEntry> {
    const { signal, startAfter, delimiter } = options;
    let pageToken: string | undefined;
    do {
      throwIfAborted(signal);
      let files: File[];
      let next: { pageToken?: string } | null | undefined;
      let response: { prefixes?: string[] } | undefined;
      try {
        [files, next, response] = (await this.bucket.getFiles({
          prefix: prefix === "" ? undefined : prefix,
          delimiter: delimiter || undefined,
          startOffset: startAfter,
          autoPaginate: false,
          maxResults: 1000,
          pageToken,
        })) as unknown as [File[], { pageToken?: string } | null, { prefixes?: string[] }];
      } catch (err) {
        throw toReplicaError(err, "list", `${this.target(prefix)}*`, prefix, signal);
      }
      const entries: ObjectEntry[] = files.map((f) => info(f.name, f.metadata as GcsObjectMetadata));
      for (const p of response?.prefixes ?? []) entries.push({ prefix: p });
      entries.sort((a, b) => compareKeys(entryKey(a), entryKey(b)));
      for (const entry of entries) {
        // startOffset is inclusive: StartAfter is not.
        if (startAfter !== undefined && compareKeys(entryKey(entry), startAfter) <= 0) continue;
        yield entry;
      }
      pageToken = next?.pageToken;
    } while (pageToken !== undefined);
  }

  async read(key: string, options: ReadOptions = {}): Promise<AsyncIterable<Uint8Array>> {
    const { signal } = options;
    throwIfAborted(signal);
    const start = options.offset ?? 0;
    if (options.length === 0) {
      await this.head(key, { signal });
      return empty();
    }
    const end = options.length === undefined ? undefined : start + options.length - 1;
    const stream = this.bucket.file(key).createReadStream({ start, end, validation: false });
    const abort = () => stream.destroy(Object.assign(new Error("aborted"), { name: "AbortError" }));
    signal?.addEventListener("abort", abort, { once: true });
    return this.chunks(stream, key, signal, () => signal?.removeEventListener("abort", abort));
  }

  async head(key: string, options: SignalOption = {}): Promise<ObjectHead> {
    throwIfAborted(options.signal);
    try {
      const [metadata] = await this.bucket.file(key).getMetadata();
      const entry = info(key, metadata as GcsObjectMetadata);
      return { ...entry, timestamp: entry.timestamp };
    } catch (err) {
      throw toReplicaError(err, "head", this.target(key), key, options.signal);
    }
  }

  async write(key: string, body: Uint8Array | AsyncIterable<Uint8Array>, options: WriteOptions = {}): Promise<ObjectInfo> {
    const { signal } = options;
    throwIfAborted(signal);
    const file = this.bucket.file(key);
    const common = {
      metadata: { contentType: "application/octet-stream", ...(options.timestamp ? { metadata: { [TIMESTAMP_METADATA_KEY]: formatRFC3339Nano(options.timestamp) } } : {}) },
      ...(options.ifNoneMatch ? { preconditionOpts: { ifGenerationMatch: 0 } } : {}),
      validation: "crc32c" as const,
    };
    let size = 0;
    try {
      if (body instanceof Uint8Array && body.length <= SINGLE_UPLOAD_LIMIT) {
        size = body.length;
        await file.save(Buffer.from(body.buffer, body.byteOffset, body.length), { ...common, resumable: false });
      } else {
        const source = Readable.from(countBytes(body instanceof Uint8Array ? [body] : body, (n) => (size += n)));
        await pipeline(source, file.createWriteStream({ ...common, resumable: true }) as Writable, { signal });
      }
    } catch (err) {
      throw toReplicaError(err, "write", this.target(key), key, signal);
    }
    return { key, size, lastModified: new Date() };
  }

  async delete(keys: readonly string[], options: SignalOption = {}): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < keys.length) {
        throwIfAborted(options.signal);
        const key = keys[next++]!;
        try {
          await this.bucket.file(key).delete({ ignoreNotFound: true });
        } catch (err) {
          throw toReplicaError(err, "delete", this.target(key), key, options.signal);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, keys.length) }, worker));
  }

  /** `gs://bucket/key`, for messages. */
  target(key: string): string {
    return `gs://${this.bucket.name}/${key}`;
  }

  private async *chunks(stream: Readable, key: string, signal: AbortSignal | undefined, done: () => void): AsyncIterable<Uint8Array> {
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
    } catch (err) {
      throw toReplicaError(err, "read", this.target(key), key, signal);
    } finally {
      done();
      stream.destroy();
    }
  }
}

function info(key: string, metadata: GcsObjectMetadata): ObjectInfo {
  const stamp = metadata.metadata?.[TIMESTAMP_METADATA_KEY];
  return {
    key,
    size: Number(metadata.size ?? 0),
    lastModified: new Date(metadata.updated ?? 0),
    timestamp: typeof stamp === "string" ? parseRFC3339(stamp) : undefined,
  };
}

function entryKey(entry: ObjectEntry): string {
  return "key" in entry ? entry.key : entry.prefix;
}

async function* countBytes(chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, add: (n: number) => void): AsyncIterable<Uint8Array> {
  for await (const chunk of chunks) {
    add(chunk.length);
    yield chunk;
  }
}

async function* empty(): AsyncIterable<Uint8Array> {}
