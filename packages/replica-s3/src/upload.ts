// Uploads to S3: one PUT for a small body, else a multipart upload of a stream cut into
// parts (sizes doubling every 1,000 parts), a bounded number in flight, aborted on failure.
import { requestSignal } from "./request-signal.js";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from "@aws-sdk/client-s3";
import { ReplicaError } from "@sqlrep/replica";
import { customerParams, writeParams, type S3ObjectParams } from "./object-params.js";
import type { OperationCounter } from "./operation-stats.js";
import { TIMESTAMP_METADATA_KEY } from "./timestamp.js";

import { MAX_PART_SIZE, MAX_PARTS } from "./limits.js";

export { MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE } from "./limits.js";

/** One object being written. */
export interface UploadTarget {
  client: S3Client;
  bucket: string;
  key: string;
  metadata: Record<string, string> | undefined;
  /** Create only (`If-None-Match: *`): S3 answers 412 when the key exists. */
  ifNoneMatch?: boolean | undefined;
  /** Storage class and server-side encryption. */
  objects: S3ObjectParams;
  counter: OperationCounter;
  signal: AbortSignal | undefined;
}

export interface UploadLimits {
  /** Size of parts 1…1000; see {@link partSizeOf}. */
  partSize: number;
  /** Parts uploading at once. */
  concurrency: number;
}

/**
 * The size of part `partNumber` (1-based): `base` for the first 1,000 parts, doubling every
 * 1,000 parts after that (capped at 5 GiB). Streams have no known length, so this is how an
 * upload stays within S3's 10,000 parts up to ≈ 4.9 TiB (with 5 MiB parts; S3's object limit is 5 TiB), while
 * every object below `1000 × base` (5 GB by default) keeps small, equal parts.
 */
export function partSizeOf(base: number, partNumber: number): number {
  return Math.min(MAX_PART_SIZE, base * 2 ** Math.floor((partNumber - 1) / 1000));
}

/**
 * Buffers of finished parts, handed back for the next parts. A part's chunks are copied
 * into its buffer as they arrive, so a chunk dies young; a part buffer (filling, then
 * uploading) lives long enough to leave V8's young generation, and a promoted buffer is
 * freed only by a full GC, which V8 runs after ~64 MiB of such garbage. Without reuse
 * that garbage was most of a snapshot upload's peak RSS.
 */
export class PartBuffers {
  private readonly free: Uint8Array[] = [];
  private readonly ours = new WeakSet<ArrayBufferLike>();

  /** Keeps at most `keep` buffers. */
  constructor(private readonly keep: number) {}

  /** A buffer of at least `min` bytes: a kept one of at least `full`, else a new one of `min`. */
  take(min: number, full: number): Uint8Array {
    for (let b = this.free.pop(); b !== undefined; b = this.free.pop()) if (b.length >= full) return b;
    const b = new Uint8Array(min);
    this.ours.add(b.buffer);
    return b;
  }

  /** Hands back a part (a view from the start of a buffer `take` gave) once nothing reads it. */
  give(part: Uint8Array): void {
    if (part.byteOffset !== 0 || !this.ours.has(part.buffer) || this.free.length >= this.keep) return;
    this.free.push(new Uint8Array(part.buffer));
  }
}

/** The first size of a part's buffer when none is kept: parts grow to theirs by doubling (most objects are small). */
const FIRST_BUFFER = 64 * 1024;

/**
 * Cuts a stream into parts of exactly `sizeOf(n)` bytes (the last one shorter, an empty
 * body one empty part), copied into buffers from `buffers`. Holds at most one part's
 * bytes.
 */
export async function* partition(
  body: AsyncIterable<Uint8Array>,
  sizeOf: (partNumber: number) => number,
  buffers: PartBuffers = new PartBuffers(0),
): AsyncGenerator<Uint8Array, void, undefined> {
  let partNumber = 1;
  let target = sizeOf(1);
  let part: Uint8Array | undefined;
  let size = 0;
  for await (const chunk of body) {
    for (let at = 0; at < chunk.length; ) {
      const n = Math.min(target - size, chunk.length - at);
      if (part === undefined) part = buffers.take(Math.min(target, Math.max(FIRST_BUFFER, n)), target);
      else if (part.length < size + n) part = grown(part, size, Math.min(target, Math.max(2 * part.length, size + n)), buffers);
      part.set(n === chunk.length ? chunk : chunk.subarray(at, at + n), size);
      size += n;
      at += n;
      if (size === target) {
        yield part.subarray(0, size);
        part = undefined;
        size = 0;
        target = sizeOf(++partNumber);
      }
    }
  }
  if (size > 0 || partNumber === 1) yield part === undefined ? new Uint8Array(0) : part.subarray(0, size);
}

/** `part`'s first `size` bytes in a buffer of `length`. */
function grown(part: Uint8Array, size: number, length: number, buffers: PartBuffers): Uint8Array {
  const next = buffers.take(length, Number.POSITIVE_INFINITY);
  next.set(part.subarray(0, size));
  return next;
}

/** One PutObject with a known length (the SDK can replay it on a retry). */
export async function putObject(target: UploadTarget, body: Uint8Array): Promise<void> {
  await target.client.send(
    new PutObjectCommand({
      Bucket: target.bucket,
      Key: target.key,
      Body: body,
      ContentLength: body.length,
      ContentType: "application/octet-stream",
      Metadata: target.metadata,
      ...writeParams(target.objects),
      ...(target.ifNoneMatch ? { IfNoneMatch: "*" } : {}),
    }),
    { abortSignal: requestSignal(target.signal) },
  );
  target.counter.record("PUT", body.length);
}

/**
 * Uploads a stream with bounded memory: one PutObject when it fits in a part, else a
 * multipart upload with up to `concurrency` parts in flight, aborted on any failure.
 * Returns the object's size.
 */
export async function uploadStream(target: UploadTarget, body: AsyncIterable<Uint8Array>, limits: UploadLimits): Promise<number> {
  // A buffer per part in flight, one filling and one waiting for a slot.
  const buffers = new PartBuffers(limits.concurrency + 2);
  const parts = partition(body, (n) => partSizeOf(limits.partSize, n), buffers);
  try {
    // Two parts decide: one means a single PutObject. Kept in an array that the upload
    // empties, so no reference outlives its part.
    const head: Uint8Array[] = [];
    for (let i = 0; i < 2; i++) {
      const next = await parts.next();
      if (next.done) break;
      head.push(next.value);
    }
    if (head.length < 2) {
      const only = head[0] ?? new Uint8Array(0);
      await putObject(target, only);
      return only.length;
    }
    return await multipartUpload(target, head, parts, limits, buffers);
  } finally {
    await parts.return();
  }
}

async function multipartUpload(target: UploadTarget, head: Uint8Array[], rest: AsyncIterator<Uint8Array>, limits: UploadLimits, buffers: PartBuffers): Promise<number> {
  const { client, bucket, key, signal } = target;
  // Parts carry CRC32 checksums when the client computes them; then the upload must say so.
  const checksummed = (await client.config.requestChecksumCalculation()) === "WHEN_SUPPORTED";
  const created = await client.send(
    new CreateMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      ContentType: "application/octet-stream",
      Metadata: target.metadata,
      ...writeParams(target.objects),
      ...(checksummed ? { ChecksumAlgorithm: "CRC32" } : {}),
    }),
    { abortSignal: requestSignal(signal) },
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new ReplicaError("io", `CreateMultipartUpload for s3://${bucket}/${key} returned no UploadId`, { key });

  // Aborts the parts in flight when one fails or the caller aborts.
  const parts = new AbortController();
  const onAbort = () => parts.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  const completed: CompletedPart[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let total = 0;

  const uploadPart = async (partNumber: number, bytes: Uint8Array) => {
    const out = await client.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber: partNumber,
        Body: bytes,
        ContentLength: bytes.length,
        ...customerParams(target.objects),
        ...(checksummed ? { ChecksumAlgorithm: "CRC32" } : {}),
      }),
      { abortSignal: requestSignal(parts.signal) },
    );
    if (!out.ETag) throw new ReplicaError("io", `UploadPart ${partNumber} of s3://${bucket}/${key} returned no ETag`, { key });
    target.counter.record("PUT", bytes.length);
    buffers.give(bytes);
    completed.push({ PartNumber: partNumber, ETag: out.ETag, ...(out.ChecksumCRC32 ? { ChecksumCRC32: out.ChecksumCRC32 } : {}) });
  };

  try {
    let partNumber = 0;
    for await (const bytes of prepend(head, rest)) {
      if (failure) break;
      partNumber += 1;
      if (partNumber > MAX_PARTS) throw new ReplicaError("io", `s3://${bucket}/${key}: more than ${MAX_PARTS} parts`, { key });
      total += bytes.length;
      const task: Promise<void> = uploadPart(partNumber, bytes).then(
        () => void inFlight.delete(task),
        (error: unknown) => {
          inFlight.delete(task);
          failure ??= { error };
          parts.abort();
        },
      );
      inFlight.add(task);
      // Backpressure: read the next part only when a slot is free.
      while (inFlight.size >= limits.concurrency) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (failure) throw failure.error;
    completed.sort((a, b) => a.PartNumber! - b.PartNumber!);
    await completeUpload(target, uploadId, completed, total);
    return total;
  } catch (error) {
    parts.abort();
    await Promise.all(inFlight);
    // Best effort: the upload's parts cost storage until aborted (or a lifecycle rule runs).
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => {});
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Completes an upload. When an earlier attempt went through but its answer was lost, the
 * retries meet an upload that is gone (S3: NoSuchUpload; some servers: a 5xx). Then the
 * object counts as written if it is there with the size and timestamp just uploaded.
 */
async function completeUpload(target: UploadTarget, uploadId: string, parts: CompletedPart[], total: number): Promise<void> {
  const { client, bucket, key, signal } = target;
  try {
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
        ...customerParams(target.objects),
        ...(target.ifNoneMatch ? { IfNoneMatch: "*" } : {}),
      }),
      { abortSignal: requestSignal(signal) },
    );
  } catch (error) {
    const e = error as { name?: string; $metadata?: { attempts?: number } };
    if (e.name !== "NoSuchUpload" && (e.$metadata?.attempts ?? 1) < 2) throw error;
    const head = await client
      .send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...customerParams(target.objects) }), { abortSignal: requestSignal(signal) })
      .catch(() => undefined);
    const stamp = (metadata: Record<string, string> | undefined) => metadata?.[TIMESTAMP_METADATA_KEY];
    if (head?.ContentLength !== total || stamp(head.Metadata) !== stamp(target.metadata)) throw error;
  }
}

/** Yields `head` (letting go of each item once yielded), then the rest of the iterator. */
async function* prepend(head: Uint8Array[], rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  while (head.length > 0) yield head.shift()!;
  for (;;) {
    const next = await rest.next();
    if (next.done) return;
    yield next.value;
  }
}
