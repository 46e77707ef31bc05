// S3ObjectStore: the ObjectStore seam on S3 — sorted paged listings, resumable ranged GETs,
// single or multipart uploads with the kept timestamp, create-only writes, batch deletes.
import { requestSignal } from "./request-signal.js";
import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type GetObjectCommandOutput, type S3Client, type _Error } from "@aws-sdk/client-s3";
import {
  checkReadRange,
  ReplicaError,
  compareKeys,
  type ListOptions,
  type ObjectEntry,
  type ObjectHead,
  type ObjectInfo,
  type ObjectStore,
  type ReadOptions,
  type SignalOption,
  type WriteOptions,
} from "@sqlrep/replica";
import { OperationCounter, type OperationListener, type S3OperationStats } from "./operation-stats.js";
import { backoffDelay, resolveRetry, sleep, type ResolvedRetry, type RetryOptions } from "./retry.js";
import { describeError, isTransient, toReplicaError } from "./s3-errors.js";
import { TIMESTAMP_METADATA_KEY, formatRFC3339Nano, parseRFC3339 } from "./timestamp.js";
import { DEFAULT_CONCURRENCY, DEFAULT_PART_SIZE, MAX_PART_SIZE, MIN_PART_SIZE } from "./limits.js";
import { putObject, uploadStream, type UploadLimits, type UploadTarget } from "./upload.js";
import { customerParams, type S3ObjectParams } from "./object-params.js";

export { DEFAULT_CONCURRENCY, DEFAULT_PART_SIZE } from "./limits.js";
/** S3 deletes at most 1,000 keys per DeleteObjects request. */
const DELETE_BATCH = 1000;

/** Options of {@link S3ObjectStore}. */
export interface S3ObjectStoreOptions {
  /** The SDK client; its retry strategy and timeouts apply to every request. */
  client: S3Client;
  bucket: string;
  /** The replica's key prefix, shown in `location` only: keys given to the store are full keys. */
  prefix?: string | undefined;
  /** Part size of multipart uploads, ≥ 5 MiB (default 5 MiB). Memory per upload ≈ (concurrency + 1) × partSize. */
  partSize?: number | undefined;
  /** Parts of one upload in flight at once (default 5). */
  concurrency?: number | undefined;
  /** Keys per ListObjectsV2 page, 1…1000 (default 1000). */
  listPageSize?: number | undefined;
  /** How a read that breaks mid-body is resumed (attempts without progress, backoff). */
  retry?: RetryOptions | undefined;
  /** Called after each counted request (see {@link OperationListener}); `stats` keeps totals either way. */
  onOperation?: OperationListener | undefined;
  /** `destroy()` also destroys the client (set when the store built it). */
  ownsClient?: boolean | undefined;
  /** Storage class of the objects written, and server-side encryption (SSE-C keys go with reads and HEADs too). */
  objects?: S3ObjectParams | undefined;
}

/**
 * The `ObjectStore` of an S3 bucket (AWS or any S3-compatible endpoint). Keys are full
 * object keys, used verbatim (a leading `/` included). Writes are single PutObjects or
 * multipart uploads with bounded memory, both carrying the `litestream-timestamp`
 * metadata; reads are ranged GETs that resume where a broken body stopped; errors are
 * ReplicaErrors naming `s3://bucket/key`.
 */
export class S3ObjectStore implements ObjectStore {
  readonly kind = "s3";
  readonly location: string;
  /** The SDK client every request goes through. */
  readonly client: S3Client;
  readonly bucket: string;
  private readonly counter: OperationCounter;
  private readonly limits: UploadLimits;
  private readonly retry: ResolvedRetry;
  private readonly pageSize: number;
  private readonly ownsClient: boolean;
  private readonly objects: S3ObjectParams;

  constructor(options: S3ObjectStoreOptions) {
    if (!options.bucket) throw new ReplicaError("invalid-config", "an S3 object store needs a bucket");
    this.client = options.client;
    this.bucket = options.bucket;
    this.location = options.prefix ? `s3://${options.bucket}/${options.prefix}` : `s3://${options.bucket}`;
    this.limits = {
      partSize: integerOption("partSize", options.partSize ?? DEFAULT_PART_SIZE, MIN_PART_SIZE, MAX_PART_SIZE),
      concurrency: integerOption("concurrency", options.concurrency ?? DEFAULT_CONCURRENCY, 1, 1000),
    };
    this.pageSize = integerOption("listPageSize", options.listPageSize ?? 1000, 1, 1000);
    this.retry = resolveRetry(options.retry);
    this.counter = new OperationCounter(options.onOperation);
    this.ownsClient = options.ownsClient ?? false;
    this.objects = options.objects ?? {};
  }

  /** Request counts and bytes so far, per operation (a copy). */
  get stats(): S3OperationStats {
    return this.counter.snapshot();
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectEntry> {
    const { signal } = options;
    let token: string | undefined;
    do {
      const page = await this.call("list", `${this.target(prefix)}*`, prefix, signal, () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix === "" ? undefined : prefix,
            Delimiter: options.delimiter || undefined,
            MaxKeys: this.pageSize,
            ...(token === undefined ? { StartAfter: options.startAfter } : { ContinuationToken: token }),
          }),
          { abortSignal: requestSignal(signal) },
        ),
      );
      this.counter.record("LIST");
      const objects: ObjectInfo[] = [];
      for (const o of page.Contents ?? []) {
        if (o.Key !== undefined) objects.push({ key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) });
      }
      const prefixes = (page.CommonPrefixes ?? []).flatMap((p) => (p.Prefix === undefined ? [] : [{ prefix: p.Prefix }]));
      yield* mergeByKey(objects, prefixes);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (page.IsTruncated && !token) {
        throw new ReplicaError("io", `cannot list ${this.target(prefix)}*: a truncated page came without a continuation token`, { key: prefix });
      }
    } while (token !== undefined);
  }

  async read(key: string, options: ReadOptions = {}): Promise<AsyncIterable<Uint8Array>> {
    const { signal } = options;
    const start = options.offset ?? 0;
    checkReadRange(start, options.length, key);
    checkAborted(signal, "read", this.target(key), key);
    if (options.length === 0) {
      await this.head(key, { signal }); // still reports a missing object
      return empty();
    }
    const end = options.length === undefined ? undefined : start + options.length;
    const first = await this.get(key, start, end, undefined, signal);
    if (first === undefined) return this.readPastEnd(key, start, signal);
    return this.stream(key, first, start, end, signal);
  }

  async head(key: string, options: SignalOption = {}): Promise<ObjectHead> {
    const { signal } = options;
    const out = await this.call("head", this.target(key), key, signal, () =>
      this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key, ...customerParams(this.objects) }), { abortSignal: requestSignal(signal) }),
    );
    this.counter.record("HEAD");
    const stamp = out.Metadata?.[TIMESTAMP_METADATA_KEY];
    return {
      key,
      size: out.ContentLength ?? 0,
      lastModified: out.LastModified ?? new Date(0),
      timestamp: stamp === undefined ? undefined : parseRFC3339(stamp),
    };
  }

  /**
   * One PutObject for a body up to `partSize`, else a multipart upload (a large
   * Uint8Array is uploaded part by part from views, not copied). `lastModified` of the
   * result is the local time the upload finished.
   */
  async write(key: string, body: Uint8Array | AsyncIterable<Uint8Array>, options: WriteOptions = {}): Promise<ObjectInfo> {
    const { signal, timestamp } = options;
    checkAborted(signal, "write", this.target(key), key);
    const upload: UploadTarget = {
      client: this.client,
      bucket: this.bucket,
      key,
      metadata: timestamp === undefined ? undefined : { [TIMESTAMP_METADATA_KEY]: formatRFC3339Nano(timestamp) },
      ifNoneMatch: options.ifNoneMatch,
      objects: this.objects,
      counter: this.counter,
      signal,
    };
    return this.call("write", this.target(key), key, signal, async () => {
      let size: number;
      if (body instanceof Uint8Array && body.length <= this.limits.partSize) {
        await putObject(upload, body);
        size = body.length;
      } else {
        size = await uploadStream(upload, body instanceof Uint8Array ? once(body) : body, this.limits);
      }
      return { key, size, lastModified: new Date() };
    });
  }

  /** DeleteObjects in batches of 1,000; keys S3 could not delete fail the call, named. */
  async delete(keys: readonly string[], options: SignalOption = {}): Promise<void> {
    const { signal } = options;
    for (let at = 0; at < keys.length; at += DELETE_BATCH) {
      const batch = keys.slice(at, at + DELETE_BATCH);
      const target = `${this.target(batch[0]!)}${batch.length > 1 ? ` (and ${batch.length - 1} more)` : ""}`;
      const out = await this.call("delete", target, batch[0], signal, () =>
        this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }), {
          abortSignal: requestSignal(signal),
        }),
      );
      this.counter.record("DELETE");
      const failed = (out.Errors ?? []).filter((e) => e.Code !== "NoSuchKey");
      if (failed.length > 0) throw this.deleteError(failed, batch.length);
    }
  }

  /** Releases the client's sockets if this store built the client. */
  destroy(): void {
    if (this.ownsClient) this.client.destroy();
  }

  private target(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  /** Runs one SDK call, mapping whatever it throws to a ReplicaError naming the target. */
  private async call<T>(op: string, target: string, key: string | undefined, signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> {
    checkAborted(signal, op, target, key);
    try {
      return await run();
    } catch (err) {
      throw toReplicaError(err, op, target, key, signal);
    }
  }

  /** A GET of `[start, end)` (`end` open: to the end); undefined when S3 says the range starts past the end. */
  private async get(key: string, start: number, end: number | undefined, etag: string | undefined, signal: AbortSignal | undefined): Promise<GetObjectCommandOutput | undefined> {
    const range = start === 0 && end === undefined ? undefined : `bytes=${start}-${end === undefined ? "" : end - 1}`;
    return this.call("read", this.target(key), key, signal, () =>
      this.client
        .send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range, IfMatch: etag, ...customerParams(this.objects) }), { abortSignal: requestSignal(signal) })
        .catch((err: unknown) => {
          if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 416) return undefined;
          throw err;
        }),
    );
  }

  /** S3 refuses a range that starts at the end: empty if the object ends exactly there. */
  private async readPastEnd(key: string, start: number, signal: AbortSignal | undefined): Promise<AsyncIterable<Uint8Array>> {
    const { size } = await this.head(key, { signal });
    if (start === size) return empty();
    throw new ReplicaError("io", `cannot read ${this.target(key)} from offset ${start}: the object has ${size} bytes`, { key });
  }

  /**
   * Streams a GET's body; when it breaks (reset, timeout, cut short) the rest is fetched
   * with a new ranged GET from the first byte not yet delivered, pinned to the first
   * response's ETag (If-Match, and compared: a replaced object is an error, never spliced).
   * Gives up after `maxAttempts` breaks in a row that delivered nothing.
   */
  private async *stream(key: string, first: GetObjectCommandOutput, start: number, end: number | undefined, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
    const target = this.target(key);
    let response: GetObjectCommandOutput | undefined = first;
    let position = start;
    let fruitless = 0;
    while (response !== undefined) {
      const from = position;
      const expected = response.ContentLength;
      let error: unknown;
      try {
        for await (const chunk of this.body(response, signal)) {
          position += chunk.length;
          yield chunk;
        }
      } catch (err) {
        error = err;
      }
      const received = position - from;
      if (error === undefined && (expected === undefined || received >= expected)) return;
      if (signal?.aborted || (error !== undefined && !isTransient(error))) throw toReplicaError(error, "read", target, key, signal);
      const reason = error === undefined ? `the body ended after ${received} of ${expected} bytes` : describeError(error);
      fruitless = received > 0 ? 1 : fruitless + 1;
      if (fruitless >= this.retry.maxAttempts) {
        throw new ReplicaError("io", `cannot read ${target} at offset ${position}: ${reason} (${fruitless} attempts in a row without progress)`, {
          key,
          cause: error,
          retryable: true,
        });
      }
      await sleep(backoffDelay(fruitless - 1, this.retry.baseDelayMs, this.retry.maxDelayMs), signal);
      response = await this.get(key, position, end, first.ETag, signal);
      // If-Match should have refused a replaced object; not every server honours it.
      if (response === undefined || (response.ETag !== undefined && first.ETag !== undefined && response.ETag !== first.ETag)) {
        throw new ReplicaError("io", `cannot read ${target} at offset ${position}: the object was replaced while being read`, { key });
      }
    }
  }

  /** One response body as Uint8Array chunks; an abort destroys it at once. Counts a GET. */
  private async *body(response: GetObjectCommandOutput, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
    const body = response.Body as (AsyncIterable<Uint8Array> & { destroy?(error?: Error): void }) | undefined;
    if (body === undefined) return;
    const onAbort = () => body.destroy?.(Object.assign(new Error("read aborted"), { name: "AbortError" }));
    let bytes = 0;
    try {
      if (signal?.aborted) onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      for await (const chunk of body) {
        bytes += chunk.length;
        // Node streams yield Buffers; the contract promises plain Uint8Array views (no copy).
        yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      this.counter.record("GET", bytes);
    }
  }

  private deleteError(failed: _Error[], total: number): ReplicaError {
    const shown = failed.slice(0, 10).map((e) => `${e.Key} (${e.Code ?? "error"}${e.Message ? `: ${e.Message}` : ""})`);
    const more = failed.length > shown.length ? `, and ${failed.length - shown.length} more` : "";
    return new ReplicaError("io", `cannot delete ${failed.length} of ${total} objects in s3://${this.bucket}: ${shown.join(", ")}${more}`, {
      key: failed[0]?.Key,
      retryable: failed.every((e) => isTransient({ name: e.Code })),
    });
  }
}

/** Merges two key-ordered runs (objects and common prefixes of one page) into one. */
function* mergeByKey(objects: ObjectInfo[], prefixes: { prefix: string }[]): Iterable<ObjectEntry> {
  let i = 0;
  let j = 0;
  while (i < objects.length || j < prefixes.length) {
    const object = objects[i];
    const prefix = prefixes[j];
    if (prefix === undefined || (object !== undefined && compareKeys(object.key, prefix.prefix) < 0)) {
      yield object!;
      i += 1;
    } else {
      yield prefix;
      j += 1;
    }
  }
}

function checkAborted(signal: AbortSignal | undefined, op: string, target: string, key: string | undefined): void {
  if (signal?.aborted) throw new ReplicaError("aborted", `${op} ${target} aborted`, { key, cause: signal.reason });
}

function integerOption(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ReplicaError("invalid-config", `S3 option ${name}=${value} must be an integer in ${min}…${max}`);
  }
  return value;
}

async function* empty(): AsyncIterable<Uint8Array> {}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
