/**
 * Tests of startFaultProxy in front of the real test S3 server, driven by the AWS SDK: pass-through, latency,
 * error statuses, resets mid-request and mid-response, seeded faults, a shaped link.
 */
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { createHash } from "node:crypto";
import { Agent, request } from "node:http";
import { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startFaultProxy, type FaultProxy } from "./fault-proxy.js";
import { freePort } from "./ports.js";
import { startS3Server, type S3Server } from "./s3.js";

const TIMEOUT = 30_000;

/** A GET through a keep-alive agent; resolves with status, body and whether the socket was reused. */
function get(url: string, agent: Agent): Promise<{ status: number; body: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), reused: req.reusedSocket }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex");

describe("startFaultProxy in front of the S3 server", () => {
  let s3: S3Server;
  let proxy: FaultProxy;
  let direct: S3Client;
  let proxied: S3Client;
  /** Through the proxy, without SDK retries: every fault reaches the test. */
  let once: S3Client;

  beforeAll(async () => {
    s3 = await startS3Server();
    proxy = await startFaultProxy({ target: s3.endpoint, seed: 42 });
    direct = s3.client();
    proxied = s3.client({ endpoint: proxy.url });
    once = s3.client({ endpoint: proxy.url, maxAttempts: 1 });
  }, TIMEOUT);

  afterEach(() => proxy.clear());

  afterAll(async () => {
    for (const client of [direct, proxied, once]) client?.destroy();
    await proxy?.stop();
    await s3?.stop();
  }, TIMEOUT);

  it(
    "passes requests through unchanged: streamed uploads, gets, ranges, heads, listings",
    async () => {
      const Bucket = s3.bucket;
      const big = Buffer.alloc(3 * 1024 * 1024 + 17);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 11)) & 0xff;
      const chunks = Array.from({ length: 4 }, (_, i) => big.subarray(i * (big.length / 4), (i + 1) * (big.length / 4)));
      const before = proxy.stats;
      await proxied.send(new PutObjectCommand({ Bucket, Key: "pass/big", Body: Readable.from(chunks), ContentLength: big.length, Metadata: { k: "v" } }));
      await proxied.send(new PutObjectCommand({ Bucket, Key: "pass/small", Body: "small" }));

      const viaProxy = await proxied.send(new GetObjectCommand({ Bucket, Key: "pass/big" }));
      const viaDirect = await direct.send(new GetObjectCommand({ Bucket, Key: "pass/big" }));
      const [proxyBytes, directBytes] = [await viaProxy.Body!.transformToByteArray(), await viaDirect.Body!.transformToByteArray()];
      expect(md5(proxyBytes)).toBe(md5(big));
      expect(md5(directBytes)).toBe(md5(big));
      expect(viaProxy.ETag).toBe(viaDirect.ETag);
      expect(viaProxy.ContentLength).toBe(big.length);
      expect(viaProxy.Metadata).toEqual({ k: "v" });

      const range = "bytes=1048570-1048600";
      const ranged = await proxied.send(new GetObjectCommand({ Bucket, Key: "pass/big", Range: range }));
      expect(Buffer.from(await ranged.Body!.transformToByteArray()).equals(big.subarray(1048570, 1048601))).toBe(true);
      expect(ranged.ContentRange).toBe(`bytes 1048570-1048600/${big.length}`);

      const heads = await Promise.all([proxied, direct].map((c) => c.send(new HeadObjectCommand({ Bucket, Key: "pass/small" }))));
      expect(heads[0]!.ETag).toBe(heads[1]!.ETag);
      const lists = await Promise.all([proxied, direct].map((c) => c.send(new ListObjectsV2Command({ Bucket, Prefix: "pass/" }))));
      expect(lists[0]!.Contents).toEqual(lists[1]!.Contents);
      expect(lists[0]!.Contents?.map((o) => o.Key)).toEqual(["pass/big", "pass/small"]);

      const after = proxy.stats;
      expect(after.requests - before.requests).toBe(6);
      expect(after.forwarded - before.forwarded).toBe(6);
      expect(after.failed + after.reset).toBe(0);
    },
    TIMEOUT,
  );

  it(
    "keeps client connections alive",
    async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const first = await get(`${proxy.url}/${s3.bucket}/pass/small`, agent);
        const second = await get(`${proxy.url}/${s3.bucket}/pass/small`, agent);
        expect([first.status, first.body, second.body]).toEqual([200, "small", "small"]);
        expect(second.reused).toBe(true);
      } finally {
        agent.destroy();
      }
    },
    TIMEOUT,
  );

  it(
    "adds latency to the requests it matches",
    async () => {
      proxy.setFaults({ latencyMs: 300, jitterMs: 50, match: (req) => req.method === "HEAD" });
      const started = performance.now();
      await proxied.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: "pass/small" }));
      expect(performance.now() - started).toBeGreaterThanOrEqual(295);
    },
    TIMEOUT,
  );

  it(
    "answers with an error status, which the client sees",
    async () => {
      proxy.setFaults({ failRate: 1 });
      const error = await once.send(new GetObjectCommand({ Bucket: s3.bucket, Key: "pass/small" })).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: "SlowDown", $metadata: { httpStatusCode: 503 } });
      proxy.setFaults({ failRate: 1, errorStatus: 500 });
      await expect(once.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: "pass/small" }))).rejects.toMatchObject({
        $metadata: { httpStatusCode: 500 },
      });
    },
    TIMEOUT,
  );

  it(
    "resets a connection mid-request: a network error, and nothing stored",
    async () => {
      proxy.setFaults({ resetRate: 1, resetAt: "request" });
      const before = proxy.stats;
      const error = await once
        .send(new PutObjectCommand({ Bucket: s3.bucket, Key: "reset/put", Body: Buffer.alloc(200_000, 1) }))
        .catch((e: unknown) => e as Error & { $metadata?: { httpStatusCode?: number } });
      expect(error).toBeInstanceOf(Error);
      expect(error.$metadata?.httpStatusCode).toBeUndefined();
      expect(proxy.stats.reset - before.reset).toBe(1);
      proxy.clear();
      await expect(direct.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: "reset/put" }))).rejects.toMatchObject({
        $metadata: { httpStatusCode: 404 },
      });
    },
    TIMEOUT,
  );

  it(
    "resets a connection mid-response: the body is cut short",
    async () => {
      await direct.send(new PutObjectCommand({ Bucket: s3.bucket, Key: "reset/get", Body: Buffer.alloc(100_000, 2) }));
      proxy.setFaults({ resetRate: 1, resetAt: "response" });
      const read = async () => {
        const out = await once.send(new GetObjectCommand({ Bucket: s3.bucket, Key: "reset/get" }));
        return out.Body!.transformToByteArray();
      };
      await expect(read()).rejects.toThrow();
      // A write whose answer is lost still happened: the ambiguity clients must handle.
      await expect(once.send(new PutObjectCommand({ Bucket: s3.bucket, Key: "reset/ambiguous", Body: "written" }))).rejects.toThrow();
      proxy.clear();
      const head = await direct.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: "reset/ambiguous" }));
      expect(head.ContentLength).toBe(7);
    },
    TIMEOUT,
  );

  it(
    "fails exactly the next n requests",
    async () => {
      proxy.setFaults({ failNext: 2 });
      const before = proxy.stats;
      // The SDK retries (3 attempts): two injected 503s, then success.
      const out = await proxied.send(new GetObjectCommand({ Bucket: s3.bucket, Key: "pass/small" }));
      expect(await out.Body!.transformToString()).toBe("small");
      const after = proxy.stats;
      expect(after.failed - before.failed).toBe(2);
      expect(after.forwarded - before.forwarded).toBe(1);
      expect(out.$metadata.attempts).toBe(3);
      await once.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: "pass/small" }));
      expect(proxy.stats.failed).toBe(after.failed);
    },
    TIMEOUT,
  );

  it(
    "filters faults by method",
    async () => {
      proxy.setFaults({ failRate: 1, match: (req) => req.method === "PUT" });
      const got = await once.send(new GetObjectCommand({ Bucket: s3.bucket, Key: "pass/small" }));
      expect(await got.Body!.transformToString()).toBe("small");
      await expect(once.send(new PutObjectCommand({ Bucket: s3.bucket, Key: "m/put", Body: "x" }))).rejects.toMatchObject({
        $metadata: { httpStatusCode: 503 },
      });
    },
    TIMEOUT,
  );
});

describe("startFaultProxy", () => {
  it(
    "draws the same faults for the same seed",
    async () => {
      const target = await startFaultProxy({ target: "http://127.0.0.1:1" });
      // The target itself: a proxy of an unreachable port answers 502, which is all we need.
      const pattern = async (seed: number) => {
        const proxy = await startFaultProxy({ target: target.url, seed });
        proxy.setFaults({ failRate: 0.5 });
        const agent = new Agent({ keepAlive: true });
        const statuses: number[] = [];
        for (let i = 0; i < 24; i++) statuses.push((await get(`${proxy.url}/x`, agent)).status);
        agent.destroy();
        await proxy.stop();
        return statuses.join("");
      };
      try {
        const first = await pattern(7);
        expect(first).toMatch(/503/);
        expect(first).toMatch(/502/);
        expect(await pattern(7)).toBe(first);
        expect(await pattern(8)).not.toBe(first);
      } finally {
        await target.stop();
      }
    },
    TIMEOUT,
  );

  it(
    "answers 502 when the target is down, and stop() frees its port",
    async () => {
      const proxy = await startFaultProxy({ target: `http://127.0.0.1:${await freePort()}` });
      const agent = new Agent();
      const answer = await get(`${proxy.url}/anything`, agent);
      expect(answer.status).toBe(502);
      expect(answer.body).toContain("unreachable");
      await proxy.stop();
      await proxy.stop();
      await expect(get(`${proxy.url}/anything`, agent)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    },
    TIMEOUT,
  );

  it("accepts only http targets", async () => {
    await expect(startFaultProxy({ target: "https://127.0.0.1:1" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});

describe("startFaultProxy with a shaped link", () => {
  /** A plain HTTP server that answers `/<n>` with n bytes, and `/echo` with the length of the body it received. */
  async function startOrigin(): Promise<{ url: string; close(): Promise<void> }> {
    const { createServer } = await import("node:http");
    const server = createServer((req, res) => {
      if (req.url === "/echo") {
        let n = 0;
        req.on("data", (c: Buffer) => (n += c.length));
        req.on("end", () => res.end(String(n)));
        return;
      }
      const n = Number(req.url!.slice(1));
      res.writeHead(200, { "content-length": n }).end(Buffer.alloc(n, 7));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as import("node:net").AddressInfo;
    return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
  }

  /** GET on its own connection (no keep-alive): the body length and the seconds it took. */
  async function timedGet(url: string, agent?: Agent): Promise<{ bytes: number; seconds: number }> {
    const t = performance.now();
    const res = await get(url, agent ?? new Agent({ keepAlive: false }));
    return { bytes: res.body.length, seconds: (performance.now() - t) / 1000 };
  }

  it(
    "caps each connection's bandwidth: one download takes its size over the rate, two in parallel take no longer than one",
    async () => {
      const origin = await startOrigin();
      // 2 MB at 1 MB/s: at least 2 s a download. Every bound below holds however busy the
      // machine is: a busy machine only adds time, and a cap shared by the connections
      // could never serve two downloads in less than twice the time of one.
      const proxy = await startFaultProxy({ target: origin.url, link: { bytesPerSecond: 1_000_000 } });
      try {
        const one = await timedGet(`${proxy.url}/2000000`);
        expect(one.bytes).toBe(2_000_000);
        expect(one.seconds).toBeGreaterThanOrEqual(1.9);
        const t = performance.now();
        const both = await Promise.all([timedGet(`${proxy.url}/2000000`), timedGet(`${proxy.url}/2000000`)]);
        const together = (performance.now() - t) / 1000;
        expect(both.map((b) => b.bytes)).toEqual([2_000_000, 2_000_000]);
        for (const b of both) expect(b.seconds).toBeGreaterThanOrEqual(1.9);
        // Per connection, not shared: one after the other (or a shared cap) takes ≥ 4 s.
        expect(together).toBeLessThan(3.9);
        proxy.setLink(undefined);
        expect((await timedGet(`${proxy.url}/2000000`)).seconds).toBeLessThan(1.9);
      } finally {
        await proxy.stop();
        await origin.close();
      }
    },
    TIMEOUT,
  );

  it(
    "caps uploads too",
    async () => {
      const origin = await startOrigin();
      const proxy = await startFaultProxy({ target: origin.url, link: { bytesPerSecond: 4_000_000 } });
      try {
        const t = performance.now();
        const answer = await new Promise<string>((resolve, reject) => {
          const req = request(`${proxy.url}/echo`, { method: "PUT", agent: new Agent({ keepAlive: false }) }, (res) => {
            let body = "";
            res.on("data", (c: Buffer) => (body += c.toString()));
            res.on("end", () => resolve(body));
          });
          req.on("error", reject);
          req.end(Buffer.alloc(1_000_000, 1));
        });
        expect(answer).toBe("1000000");
        expect((performance.now() - t) / 1000).toBeGreaterThanOrEqual(0.22);
      } finally {
        await proxy.stop();
        await origin.close();
      }
    },
    TIMEOUT,
  );

  it(
    "delays each way: a request on a kept-alive connection costs a round trip, the first one on a new connection one more (its handshake)",
    async () => {
      const origin = await startOrigin();
      const proxy = await startFaultProxy({ target: origin.url, link: { latencyMs: 60 } });
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const first = await timedGet(`${proxy.url}/10`, agent);
        const second = await timedGet(`${proxy.url}/10`, agent);
        expect([first.bytes, second.bytes]).toEqual([10, 10]);
        expect(first.seconds).toBeGreaterThanOrEqual(0.235); // 2 round trips of 120 ms
        expect(second.seconds).toBeGreaterThanOrEqual(0.118); // 1 round trip
        expect(second.seconds).toBeLessThan(first.seconds);
      } finally {
        agent.destroy();
        await proxy.stop();
        await origin.close();
      }
    },
    TIMEOUT,
  );
});
