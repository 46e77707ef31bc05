/**
 * The `ObjectStore` of one Azure Blob Storage container, over `@azure/storage-blob`:
 * block blobs carrying Litestream's `litestreamtimestamp` metadata, listings that bring
 * that metadata along, ranged reads that resume a broken body, create-only writes.
 */
import { Readable } from "node:stream";
import type { ContainerClient } from "@azure/storage-blob";
import {
  compareKeys,
  formatRFC3339Nano,
  parseRFC3339,
  ReplicaError,
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
import { isRangeNotSatisfiable, toReplicaError } from "./abs-errors.js";

/** The metadata name Litestream keeps the LTX timestamp under (Azure names allow no hyphen). */
export const TIMESTAMP_METADATA_KEY = "litestreamtimestamp";

/** Bodies up to this size go up in one Put Blob; larger ones and streams as staged blocks. */
const SINGLE_PUT_LIMIT = 4 * 1024 * 1024;
/** Block size of a streamed upload, and blocks in flight (memory ≈ (BLOCKS_IN_FLIGHT + 1) × BLOCK_SIZE). */
const BLOCK_SIZE = 4 * 1024 * 1024;
const BLOCKS_IN_FLIGHT = 4;
/** Deletes in flight (Azure has no multi-object delete outside batch requests). */
const DELETE_CONCURRENCY = 16;
/** A body that breaks mid-download is resumed from where it stopped, this many times. */
const READ_RESUMES = 5;

/** Options of {@link AbsObjectStore}. */
export interface AbsObjectStoreOptions {
  /** The container's client (its pipeline's retry policy applies to every request). */
  container: ContainerClient;
  /** For messages: `abs://account@container/prefix`. */
  location: string;
}

/**
 * An Azure container as an `ObjectStore`. Keys are full blob names. Writes are atomic
 * (a blob appears when its Put Blob or Put Block List commits), keep the timestamp as
 * `litestreamtimestamp` metadata, and with `ifNoneMatch` send `If-None-Match: *`, so
 * the service refuses to replace an existing blob (409/412 → ReplicaError("exists")).
 */
export class AbsObjectStore implements ObjectStore {
  readonly kind = "abs";
  readonly location: string;
  readonly container: ContainerClient;

  constructor(options: AbsObjectStoreOptions) {
    this.container = options.container;
    this.location = options.location;
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectEntry> {
    const { signal, startAfter, delimiter } = options;
    const listOptions = { prefix: prefix === "" ? undefined : prefix, includeMetadata: true, abortSignal: signal };
    const pages = delimiter
      ? this.container.listBlobsByHierarchy(delimiter, listOptions).byPage({ maxPageSize: 5000 })
      : this.container.listBlobsFlat(listOptions).byPage({ maxPageSize: 5000 });
    const target = `${this.target(prefix)}*`;
    const iterator = pages[Symbol.asyncIterator]();
    for (;;) {
      throwIfAborted(signal);
      let page: Awaited<ReturnType<typeof iterator.next>>;
      try {
        page = await iterator.next();
      } catch (err) {
        throw toReplicaError(err, "list", target, prefix, signal);
      }
      if (page.done) return;
      const segment = page.value.segment as { blobItems?: BlobItemLike[]; blobPrefixes?: { name: string }[] };
      const entries: ObjectEntry[] = (segment.blobItems ?? []).map((item) => ({
        key: item.name,
        size: item.properties.contentLength ?? 0,
        lastModified: item.properties.lastModified,
        timestamp: storedTimestamp(item.metadata),
      }));
      for (const p of segment.blobPrefixes ?? []) entries.push({ prefix: p.name });
      // A page holds blobs and rolled-up prefixes apart; merged, the page is in key order.
      entries.sort((a, b) => compareKeys(entryKey(a), entryKey(b)));
      for (const entry of entries) {
        if (startAfter !== undefined && compareKeys(entryKey(entry), startAfter) <= 0) continue;
        yield entry;
      }
    }
  }

  async read(key: string, options: ReadOptions = {}): Promise<AsyncIterable<Uint8Array>> {
    const { signal } = options;
    throwIfAborted(signal);
    const offset = options.offset ?? 0;
    if (options.length === 0) {
      await this.head(key, { signal }); // a missing blob is still reported
      return empty();
    }
    const blob = this.container.getBlobClient(key);
    try {
      const response = await blob.download(offset, options.length, { abortSignal: signal, maxRetryRequests: READ_RESUMES });
      const body = response.readableStreamBody;
      if (body === undefined) throw new ReplicaError("io", `cannot read ${this.target(key)}: the response has no body`, { key });
      return this.stream(body, key, signal);
    } catch (err) {
      // Reading from the very end of a blob is an empty read, not an error.
      if (isRangeNotSatisfiable(err) && offset === (await this.head(key, { signal })).size) return empty();
      throw toReplicaError(err, "read", this.target(key), key, signal);
    }
  }

  async head(key: string, options: SignalOption = {}): Promise<ObjectHead> {
    throwIfAborted(options.signal);
    try {
      const props = await this.container.getBlobClient(key).getProperties({ abortSignal: options.signal });
      return {
        key,
        size: props.contentLength ?? 0,
        lastModified: props.lastModified ?? new Date(0),
        timestamp: storedTimestamp(props.metadata),
      };
    } catch (err) {
      throw toReplicaError(err, "head", this.target(key), key, options.signal);
    }
  }

  async write(key: string, body: Uint8Array | AsyncIterable<Uint8Array>, options: WriteOptions = {}): Promise<ObjectInfo> {
    const { signal } = options;
    throwIfAborted(signal);
    const blob = this.container.getBlockBlobClient(key);
    const common = {
      abortSignal: signal,
      metadata: options.timestamp ? { [TIMESTAMP_METADATA_KEY]: formatRFC3339Nano(options.timestamp) } : undefined,
      conditions: options.ifNoneMatch ? { ifNoneMatch: "*" } : undefined,
      blobHTTPHeaders: { blobContentType: "application/octet-stream" },
    };
    let size = 0;
    try {
      if (body instanceof Uint8Array && body.length <= SINGLE_PUT_LIMIT) {
        size = body.length;
        await blob.upload(body, body.length, common);
      } else {
        const counted = Readable.from(
          countBytes(body instanceof Uint8Array ? [body] : body, (n) => (size += n)),
          { objectMode: false },
        );
        await blob.uploadStream(counted, BLOCK_SIZE, BLOCKS_IN_FLIGHT, common);
      }
    } catch (err) {
      throw toReplicaError(err, "write", this.target(key), key, signal);
    }
    return { key, size, lastModified: new Date() };
  }

  async delete(keys: readonly string[], options: SignalOption = {}): Promise<void> {
    const { signal } = options;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < keys.length) {
        throwIfAborted(signal);
        const key = keys[next++]!;
        try {
          await this.container.getBlobClient(key).deleteIfExists({ abortSignal: signal });
        } catch (err) {
          throw toReplicaError(err, "delete", this.target(key), key, signal);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, keys.length) }, worker));
  }

  /** `abs://container/key`, for messages. */
  target(key: string): string {
    return `abs://${this.container.containerName}/${key}`;
  }

  private async *stream(body: NodeJS.ReadableStream, key: string, signal: AbortSignal | undefined): AsyncIterable<Uint8Array> {
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
    } catch (err) {
      throw toReplicaError(err, "read", this.target(key), key, signal);
    }
  }
}

interface BlobItemLike {
  name: string;
  properties: { contentLength?: number; lastModified: Date };
  metadata?: Record<string, string>;
}

function storedTimestamp(metadata: Record<string, string> | undefined): Date | undefined {
  const text = metadata?.[TIMESTAMP_METADATA_KEY];
  return text === undefined ? undefined : parseRFC3339(text);
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
