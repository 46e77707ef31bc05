// Uploads: the body cut into exact parts, part sizes that grow past 1,000 parts, single PUT
// or multipart against the real S3 server, a failed or aborted multipart upload aborted.
import { afterAll, describe, expect, it } from "vitest";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { isReplicaError, readObject } from "@sqlrep/replica";
import { startFaultProxy, startS3Server } from "@sqlrep/testkit";
import { MIN_PART_SIZE, PartBuffers, partSizeOf, partition } from "./upload.js";
import { expectSameBytes, oddChunks, readAll, rejection, seededBytes, testStore } from "./testing/helpers.js";

const MiB = 1024 * 1024;
const s3 = await startS3Server();
const raw = s3.client();
afterAll(async () => {
  raw.destroy();
  await s3.stop();
}, 30_000);

let run = 0;
const fresh = () => `upload/run-${++run}/obj`;

describe("partition", () => {
  it("cuts any chunking into exact parts, the last one shorter", async () => {
    const bytes = seededBytes(100_000, 3);
    const parts: Uint8Array[] = [];
    for await (const part of partition(oddChunks(bytes), () => 30_000)) parts.push(part);
    expect(parts.map((p) => p.length)).toEqual([30_000, 30_000, 30_000, 10_000]);
    expectSameBytes(Buffer.concat(parts), bytes);
    const exact: Uint8Array[] = [];
    for await (const part of partition(oddChunks(bytes.subarray(0, 60_000)), () => 30_000)) exact.push(part);
    expect(exact.map((p) => p.length)).toEqual([30_000, 30_000]);
  });

  it("reuses the buffers of parts handed back, never one still held, and starts a small body in a small buffer", async () => {
    const bytes = seededBytes(200_000, 4);
    const buffers = new PartBuffers(1);
    const held: Uint8Array[] = [];
    const copies: Buffer[] = [];
    const seen = new Set<ArrayBufferLike>();
    let n = 0;
    for await (const part of partition(oddChunks(bytes), () => 30_000, buffers)) {
      copies.push(Buffer.from(part));
      seen.add(part.buffer);
      // Every other part is handed back once read; the rest are held to the end.
      if (++n % 2 === 0) buffers.give(part);
      else held.push(part);
    }
    expectSameBytes(Buffer.concat(copies), bytes);
    // 7 parts: the 2nd, 4th and 6th were handed back, so 3rd, 5th and 7th each took one of theirs.
    expect(seen.size).toBe(4);
    // The held parts were not overwritten by the parts after them.
    held.forEach((part, i) => expectSameBytes(Buffer.from(part), copies[2 * i]!));

    const small: Uint8Array[] = [];
    for await (const part of partition(oddChunks(bytes.subarray(0, 100)), () => 5 * MiB, new PartBuffers(2))) small.push(part);
    expect(small.map((p) => p.length)).toEqual([100]);
    expect(small[0]!.buffer.byteLength).toBeLessThanOrEqual(64 * 1024);
  });

  it("gives an empty body one empty part", async () => {
    const parts: Uint8Array[] = [];
    for await (const part of partition((async function* () {})(), () => 10)) parts.push(part);
    expect(parts.map((p) => p.length)).toEqual([0]);
  });

  it("doubles the part size every 1,000 parts, so 10,000 parts of 5 MiB and up hold ≈ 4.9 TiB", () => {
    expect(partSizeOf(MIN_PART_SIZE, 1)).toBe(MIN_PART_SIZE);
    expect(partSizeOf(MIN_PART_SIZE, 1000)).toBe(MIN_PART_SIZE);
    expect(partSizeOf(MIN_PART_SIZE, 1001)).toBe(2 * MIN_PART_SIZE);
    let total = 0;
    for (let n = 1; n <= 10_000; n++) total += partSizeOf(MIN_PART_SIZE, n);
    expect(total).toBe(1000 * MIN_PART_SIZE * (2 ** 10 - 1));
  });
});

describe("S3ObjectStore writes", () => {
  it("streams ~20 MiB of odd-sized chunks as a multipart upload with bounded buffering, and reads it back identical", async () => {
    const concurrency = 2;
    using store = testStore(s3, { concurrency });
    const key = fresh();
    const size = 20 * MiB + 12_345;
    const bytes = seededBytes(size, 42);
    // Bytes taken from the source but not yet acknowledged by S3, at every pull.
    let maxBuffered = 0;
    const body = oddChunks(bytes, (produced) => {
      maxBuffered = Math.max(maxBuffered, produced - store.stats.PUT.bytes);
    });
    const stamp = new Date(Date.UTC(2025, 0, 1, 12, 0, 0, 1));
    const info = await store.write(key, body, { timestamp: stamp });
    expect(info.size).toBe(size);
    expect(store.stats.PUT).toEqual({ count: 5, bytes: size }); // 4 full parts of 5 MiB, then the rest
    expect(maxBuffered).toBeLessThanOrEqual((concurrency + 1) * MIN_PART_SIZE + MiB);
    expectSameBytes(await readObject(store, key), bytes);
    const from = MIN_PART_SIZE - 1000; // a range across a part boundary
    expectSameBytes(await readObject(store, key, { offset: from, length: 3 * MiB }), bytes.subarray(from, from + 3 * MiB));
    const head = await raw.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
    expect(head.Metadata).toEqual({ "litestream-timestamp": "2025-01-01T12:00:00.001Z" });
    expect(head.ContentLength).toBe(size);
  }, 60_000);

  it("uploads a Uint8Array larger than a part in parts, and a small stream with one PutObject", async () => {
    using store = testStore(s3);
    const big = seededBytes(11 * MiB, 5);
    await store.write(`${fresh()}-big`, big);
    expect(store.stats.PUT.count).toBe(3);
    expectSameBytes(await readObject(store, `upload/run-${run}/obj-big`), big);
    const small = seededBytes(300_000, 6);
    const key = fresh();
    await store.write(key, oddChunks(small));
    expect(store.stats.PUT.count).toBe(4);
    expectSameBytes(await readAll(await store.read(key)), small);
  }, 30_000);

  it("writes an empty stream as an empty object", async () => {
    using store = testStore(s3);
    const key = fresh();
    expect((await store.write(key, (async function* () {})())).size).toBe(0);
    expect((await store.head(key)).size).toBe(0);
    expect((await readAll(await store.read(key))).length).toBe(0);
  });

  it("aborts the multipart upload when the body fails midway, and leaves no object", async () => {
    const proxy = await startFaultProxy({ target: s3.endpoint });
    const requests: string[] = [];
    proxy.setFaults({ match: (req) => (requests.push(`${req.method} ${req.url}`), false) });
    try {
      using store = testStore(s3, { endpoint: proxy.url });
      const key = fresh();
      async function* failing(): AsyncIterable<Uint8Array> {
        yield* oddChunks(seededBytes(12 * MiB, 7));
        throw new Error("the source broke");
      }
      const error = await rejection(store.write(key, failing()));
      expect(isReplicaError(error, "io")).toBe(true);
      expect((error as Error).message).toContain(`cannot write s3://${s3.bucket}/${key}`);
      expect((error as Error).message).toContain("the source broke");
      expect(requests.filter((r) => r.startsWith("POST ") && r.includes("uploads"))).toHaveLength(1);
      expect(requests.filter((r) => r.startsWith("DELETE ") && r.includes("uploadId="))).toHaveLength(1);
      expect(isReplicaError(await rejection(store.head(key)), "not-found")).toBe(true);
    } finally {
      await proxy.stop();
    }
  }, 30_000);

  it("aborts the multipart upload when a part is refused, and reports that error", async () => {
    const proxy = await startFaultProxy({ target: s3.endpoint });
    const aborts: string[] = [];
    proxy.setFaults({
      errorStatus: 400,
      match: (req) => {
        if (req.method === "DELETE") aborts.push(req.url);
        return req.method === "PUT" && req.url.includes("partNumber=2");
      },
      failRate: 1,
    });
    try {
      using store = testStore(s3, { endpoint: proxy.url });
      const key = fresh();
      const error = await rejection(store.write(key, oddChunks(seededBytes(11 * MiB, 8))));
      expect(isReplicaError(error, "io")).toBe(true);
      expect((error as Error).message).toMatch(/InjectedFault \(HTTP 400\)/);
      expect(aborts.filter((u) => u.includes("uploadId="))).toHaveLength(1);
      expect(isReplicaError(await rejection(store.head(key)), "not-found")).toBe(true);
    } finally {
      await proxy.stop();
    }
  }, 30_000);

  it("stops a multipart upload when the caller aborts", async () => {
    const proxy = await startFaultProxy({ target: s3.endpoint });
    const aborts: string[] = [];
    proxy.setFaults({ match: (req) => (req.method === "DELETE" && aborts.push(req.url), false) });
    try {
      const controller = new AbortController();
      using store = testStore(s3, { endpoint: proxy.url, onOperation: (op) => op === "PUT" && controller.abort(new Error("shutting down")) });
      const key = fresh();
      const error = await rejection(store.write(key, oddChunks(seededBytes(16 * MiB, 9)), { signal: controller.signal }));
      expect(isReplicaError(error, "aborted")).toBe(true);
      expect(aborts.filter((u) => u.includes("uploadId="))).toHaveLength(1);
      expect(isReplicaError(await rejection(store.head(key)), "not-found")).toBe(true);
    } finally {
      await proxy.stop();
    }
  }, 30_000);
});
