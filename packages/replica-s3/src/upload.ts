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
import { concatBytes } from "@sqlrep/ltx";
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
 * Cuts a stream into parts of exactly `sizeOf(n)` bytes (the last one shorter, an empty
 * body one empty part). Holds at most one part's bytes (plus the chunk being split).
 */
export async function* partition(body: AsyncIterable<Uint8Array>, sizeOf: (partNumber: number) => number): AsyncGenerator<Uint8Array, void, undefined> {
  let partNumber = 1;
  let target = sizeOf(1);
  let pending: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    let rest = chunk;
    while (size + rest.length >= target) {
      const take = target - size;
      pending.push(rest.subarray(0, take));
      rest = rest.subarray(take);
      yield joined(pending);
      pending = [];
      size = 0;
      target = sizeOf(++partNumber);
    }
    if (rest.length > 0) {
      pending.push(rest);
      size += rest.length;
    }
  }
  if (size > 0 || partNumber === 1) yield joined(pending);
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
  const parts = partition(body, (n) => partSizeOf(limits.partSize, n));
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
    return await multipartUpload(target, head, parts, limits);
  } finally {
    await parts.return();
  }
}

async function multipartUpload(target: UploadTarget, head: Uint8Array[], rest: AsyncIterator<Uint8Array>, limits: UploadLimits): Promise<number> {
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

/** One part's bytes: the chunk itself when it is the only one. */
function joined(chunks: readonly Uint8Array[]): Uint8Array {
  return chunks.length === 1 ? chunks[0]! : concatBytes(chunks);
}
