// The S3 client through the testkit's fault proxy: 503s and resets retried with identical
// bytes, a cut GET resumed from the byte it broke at, never spliced across two versions.
import { createServer, type Socket } from "node:net";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, describe, expect, it } from "vitest";
import { ObjectReplicaClient, isObjectInfo, isReplicaError, readObject, s3Layout, type ReplicaError } from "@sqlrep/replica";
import { ltxFile } from "@sqlrep/replica/conformance";
import { startFaultProxy, startS3Server } from "@sqlrep/testkit";
import { expectSameBytes, oddChunks, readAll, rejection, seededBytes, testStore } from "./testing/helpers.js";

const MiB = 1024 * 1024;
const s3 = await startS3Server();
const proxy = await startFaultProxy({ target: s3.endpoint, seed: 7 });
afterAll(async () => {
  await proxy.stop();
  await s3.stop();
}, 30_000);

let run = 0;
const fresh = () => `faults/run-${++run}/`;

/** Retries as by default, but more of them and shorter waits: the faults below are dense. */
const flakyRetry = { maxAttempts: 10, baseDelayMs: 10, throttleDelayMs: 20, maxDelayMs: 200 };

describe("through a flaky network (fault proxy)", () => {
  it("writes, lists and reads identical bytes despite 503s and connection resets on a share of requests", async () => {
    using store = testStore(s3, { endpoint: proxy.url, client: { retry: flakyRetry }, retry: flakyRetry, listPageSize: 3 });
    const client = new ObjectReplicaClient(store, s3Layout(`${fresh()}db`));
    proxy.setFaults({ failRate: 0.2, resetRate: 0.15 });
    const before = proxy.stats;
    const files = new Map<number, Uint8Array>();
    for (let txid = 1; txid <= 16; txid++) {
      const bytes = ltxFile(txid, txid, 1 + (txid % 5));
      files.set(txid, bytes);
      await client.writeLtxFile({ level: 0, minTXID: txid, maxTXID: txid }, bytes);
    }
    const big = seededBytes(11 * MiB, 11);
    await store.write(`${client.layout.levelPrefix(9)}big`, oddChunks(big));

    const listed = [];
    for await (const f of client.ltxFiles(0)) listed.push(f.minTXID);
    expect(listed).toEqual([...files.keys()]);
    for (const [txid, bytes] of files) {
      const ref = { level: 0, minTXID: txid, maxTXID: txid };
      expectSameBytes(await readAll(await client.openLtxFile(ref)), bytes);
      expectSameBytes(await client.readLtxRange(ref, 100, 500), bytes.subarray(100, 600));
    }
    expectSameBytes(await readObject(store, `${client.layout.levelPrefix(9)}big`), big);
    expectSameBytes(await readObject(store, `${client.layout.levelPrefix(9)}big`, { offset: 3 * MiB + 1, length: 4 * MiB }), big.subarray(3 * MiB + 1, 7 * MiB + 1));

    await client.deleteAll();
    const left = [];
    for await (const e of store.list(client.layout.levelPrefix(0))) if (isObjectInfo(e)) left.push(e.key);
    expect(left).toEqual([]);
    const after = proxy.stats;
    // The faults did happen, many times over.
    expect(after.failed - before.failed).toBeGreaterThanOrEqual(5);
    expect(after.reset - before.reset).toBeGreaterThanOrEqual(5);
    proxy.clear();
  }, 60_000);

  it("resumes a GET whose connection is cut mid-body from the byte where it broke, not from the start", async () => {
    using store = testStore(s3, { endpoint: proxy.url });
    const key = `${fresh()}large`;
    const bytes = seededBytes(8 * MiB, 12);
    await store.write(key, bytes);
    // The next three GETs are cut after part of their body went through.
    let cuts = 3;
    proxy.setFaults({ resetRate: 1, resetAt: "response", match: (req) => req.method === "GET" && cuts-- > 0 });
    const offset = 1000;
    const got = await readObject(store, key, { offset });
    proxy.clear();
    expectSameBytes(got, bytes.subarray(offset));
    expect(cuts).toBeLessThan(0);
    const { GET } = store.stats;
    expect(GET.count).toBe(4);
    // Every byte came over the wire once: a restart from the start would have fetched the cut prefixes again.
    expect(GET.bytes).toBe(bytes.length - offset);
  }, 30_000);

  it("refuses to splice: a read resumed after the object was replaced fails instead of mixing two versions", async () => {
    using store = testStore(s3, { endpoint: proxy.url });
    const raw = s3.client();
    try {
      const key = `${fresh()}replaced`;
      await store.write(key, seededBytes(4 * MiB, 16));
      let cuts = 1;
      proxy.setFaults({ resetRate: 1, resetAt: "response", match: (req) => req.method === "GET" && cuts-- > 0 });
      const body = await store.read(key); // the first GET answered, its body about to break
      await raw.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: seededBytes(4 * MiB, 17) }));
      const error = await rejection(readAll(body));
      proxy.clear();
      expect(isReplicaError(error, "io")).toBe(true);
      expect((error as Error).message).toContain("was replaced while being read");
    } finally {
      raw.destroy();
    }
  }, 30_000);

  it("completes a multipart upload whose Complete answer was lost (the retry finds the upload gone, the object there)", async () => {
    using store = testStore(s3, { endpoint: proxy.url });
    const key = `${fresh()}completed`;
    const bytes = seededBytes(11 * MiB, 15);
    let cuts = 1;
    proxy.setFaults({ resetRate: 1, resetAt: "response", match: (req) => req.method === "POST" && req.url.includes("uploadId=") && cuts-- > 0 });
    await store.write(key, oddChunks(bytes), { timestamp: new Date(1_700_000_000_123) });
    proxy.clear();
    expect(cuts).toBeLessThan(-1); // the cut Complete, then at least one retry of it
    expectSameBytes(await readObject(store, key), bytes);
  }, 30_000);

  it("gives up on a read that breaks every time, with a retryable error", async () => {
    using store = testStore(s3, { endpoint: proxy.url, retry: { maxAttempts: 3, baseDelayMs: 1 }, client: { retry: { maxAttempts: 3, baseDelayMs: 1 } } });
    const key = `${fresh()}large`;
    await store.write(key, seededBytes(2 * MiB, 13));
    proxy.setFaults({ resetRate: 1, resetAt: "request", match: (req) => req.method === "GET" });
    const error = await rejection(readObject(store, key));
    proxy.clear();
    expect(isReplicaError(error, "io")).toBe(true);
    expect((error as ReplicaError).retryable).toBe(true);
    expect((error as Error).message).toContain(`s3://${s3.bucket}/${key}`);
  }, 30_000);

  it("fails fast with a retryable error when the endpoint is dead (nothing listens)", async () => {
    const dead = await startFaultProxy({ target: s3.endpoint });
    await dead.stop(); // its port now refuses connections
    using store = testStore(s3, { endpoint: dead.url }); // default retries
    for (const attempt of [() => store.head("k"), () => store.write("k", new Uint8Array(10)), () => readObject(store, "k"), () => store.list("")[Symbol.asyncIterator]().next()]) {
      const started = Date.now();
      const error = await rejection(attempt());
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(isReplicaError(error, "io")).toBe(true);
      expect((error as ReplicaError).retryable).toBe(true);
      expect((error as Error).message).toMatch(new RegExp(`s3://${s3.bucket}/(k|\\*).*ECONNREFUSED`));
    }
  }, 60_000);

  it("fails a request to an endpoint that accepts connections but never answers, after the socket timeout", async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as { port: number };
    try {
      using store = testStore(s3, { endpoint: `http://127.0.0.1:${port}`, client: { socketTimeoutMs: 300, retry: { maxAttempts: 2, baseDelayMs: 1 } } });
      const started = Date.now();
      const error = await rejection(store.head("k"));
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(isReplicaError(error, "io")).toBe(true);
      expect((error as ReplicaError).retryable).toBe(true);
      expect((error as Error).message).toMatch(/timed out/);
      expect(sockets.length).toBe(2); // two attempts
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  }, 30_000);

  it("an abort stops a long read mid-body, and a read still waiting for its answer", async () => {
    using store = testStore(s3, { endpoint: proxy.url });
    const key = `${fresh()}large`;
    await store.write(key, seededBytes(8 * MiB, 14));

    const controller = new AbortController();
    let received = 0;
    const error = await rejection(
      (async () => {
        for await (const chunk of await store.read(key, { signal: controller.signal })) {
          received += chunk.length;
          controller.abort(new Error("enough"));
        }
      })(),
    );
    expect(isReplicaError(error, "aborted")).toBe(true);
    expect(received).toBeLessThan(8 * MiB);

    proxy.setFaults({ latencyMs: 20_000, match: (req) => req.method === "GET" });
    const waiting = new AbortController();
    const started = Date.now();
    setTimeout(() => waiting.abort(), 100);
    const pending = await rejection(readObject(store, key, { signal: waiting.signal }));
    proxy.clear();
    expect(isReplicaError(pending, "aborted")).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  }, 30_000);
});
