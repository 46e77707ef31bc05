// S3ObjectStore against the testkit's real S3 server: listings in UTF-8 order across pages,
// ranged reads at every edge, plain Uint8Array chunks, kept timestamps, batch deletes, errors.
import { afterAll, describe, expect, it } from "vitest";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { isObjectInfo, isReplicaError, readObject, type ObjectEntry, type ObjectStore } from "@sqlrep/replica";
import { startS3Server } from "@sqlrep/testkit";
import type { S3Operation } from "./operation-stats.js";
import { S3ObjectStore } from "./s3-store.js";
import { disposable, rejection, testStore } from "./testing/helpers.js";

const s3 = await startS3Server();
const raw = s3.client();
afterAll(async () => {
  raw.destroy();
  await s3.stop();
}, 30_000);

let run = 0;
const fresh = () => `store/run-${++run}/`;

async function collect(entries: AsyncIterable<ObjectEntry>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of entries) out.push(isObjectInfo(e) ? e.key : `[${e.prefix}]`);
  return out;
}

async function putAll(store: ObjectStore, keys: string[]): Promise<void> {
  for (const key of keys) await store.write(key, new TextEncoder().encode(key));
}

describe("S3ObjectStore", () => {
  it("lists in UTF-8 key order across pages, seeks with startAfter, merges common prefixes with objects", async () => {
    using store = testStore(s3, { listPageSize: 2 });
    const p = fresh();
    const names = ["a.txt", "a/x", "a/y/z", "b/1", "b0", "c", "é", "z"];
    await putAll(
      store,
      names.map((n) => p + n),
    );
    expect(await collect(store.list(p))).toEqual(["a.txt", "a/x", "a/y/z", "b/1", "b0", "c", "z", "é"].map((n) => p + n));
    expect(await collect(store.list(p, { delimiter: "/" }))).toEqual([`${p}a.txt`, `[${p}a/]`, `[${p}b/]`, `${p}b0`, `${p}c`, `${p}z`, `${p}é`]);
    expect(await collect(store.list(p, { startAfter: `${p}b/1` }))).toEqual([`${p}b0`, `${p}c`, `${p}z`, `${p}é`]);
    expect(await collect(store.list(`${p}a/`, { delimiter: "/" }))).toEqual([`${p}a/x`, `[${p}a/y/]`]);
    expect(await collect(store.list(`${p}nothing/`))).toEqual([]);
    expect(store.stats.LIST.count).toBeGreaterThan(5); // pages of two
  }, 20_000);

  it("reads ranges: inside, to the end, past the end, empty; a missing key is not-found naming s3://bucket/key", async () => {
    using store = testStore(s3);
    const key = `${fresh()}obj`;
    const bytes = new TextEncoder().encode("0123456789");
    await store.write(key, bytes);
    const text = async (offset?: number, length?: number) => new TextDecoder().decode(await readObject(store, key, { offset, length }));
    expect(await text()).toBe("0123456789");
    expect(await text(3, 4)).toBe("3456");
    expect(await text(7)).toBe("789");
    expect(await text(8, 100)).toBe("89");
    expect(await text(10)).toBe("");
    expect(await text(4, 0)).toBe("");
    const past = await rejection(readObject(store, key, { offset: 11 }));
    expect(isReplicaError(past, "io") && past.message).toContain("the object has 10 bytes");
    const missing = await rejection(store.read(`${key}-missing`));
    expect(isReplicaError(missing, "not-found")).toBe(true);
    expect((missing as Error).message).toContain(`s3://${s3.bucket}/${key}-missing`);
    expect(isReplicaError(await rejection(store.head(`${key}-missing`)), "not-found")).toBe(true);
    expect(isReplicaError(await rejection(store.read(`${key}-missing`, { length: 0 })), "not-found")).toBe(true);
    expect(isReplicaError(await rejection(store.read(key, { offset: -1 })), "invalid-config")).toBe(true);
  });

  it("yields plain Uint8Array chunks, not Buffers", async () => {
    using store = testStore(s3);
    const key = `${fresh()}obj`;
    await store.write(key, new Uint8Array(100_000).fill(7));
    for await (const chunk of await store.read(key)) {
      expect(Object.getPrototypeOf(chunk)).toBe(Uint8Array.prototype);
    }
  });

  it("keeps the timestamp as litestream-timestamp metadata; without one, head has none", async () => {
    using store = testStore(s3);
    const p = fresh();
    const stamp = new Date(Date.UTC(2030, 11, 31, 23, 59, 59, 999));
    const info = await store.write(`${p}a`, new Uint8Array(3), { timestamp: stamp });
    expect(info.size).toBe(3);
    await store.write(`${p}b`, new Uint8Array(4));
    const a = await store.head(`${p}a`);
    expect([a.key, a.size, a.timestamp?.getTime()]).toEqual([`${p}a`, 3, stamp.getTime()]);
    expect(Math.abs(a.lastModified.getTime() - Date.now())).toBeLessThan(60_000);
    expect((await store.head(`${p}b`)).timestamp).toBeUndefined();
  });

  it("deletes in batches of 1,000 and ignores missing keys", async () => {
    using store = testStore(s3);
    const p = fresh();
    await putAll(store, [`${p}k0`, `${p}k1`, `${p}k1500`, `${p}keep`]);
    const keys = Array.from({ length: 2001 }, (_, i) => `${p}k${i}`);
    await store.delete(keys);
    expect(store.stats.DELETE.count).toBe(3);
    expect(await collect(store.list(p))).toEqual([`${p}keep`]);
    await store.delete([]);
    expect(store.stats.DELETE.count).toBe(3);
  });

  it("counts requests and bytes per operation, and reports each to onOperation", async () => {
    const seen: [S3Operation, number][] = [];
    using store = testStore(s3, { onOperation: (op, bytes) => seen.push([op, bytes]) });
    const p = fresh();
    await store.write(`${p}x`, new Uint8Array(1000));
    await readObject(store, `${p}x`, { offset: 100, length: 300 });
    await store.head(`${p}x`);
    await collect(store.list(p));
    await store.delete([`${p}x`]);
    expect(seen).toEqual([
      ["PUT", 1000],
      ["GET", 300],
      ["HEAD", 0],
      ["LIST", 0],
      ["DELETE", 0],
    ]);
    expect(store.stats).toEqual({
      GET: { count: 1, bytes: 300 },
      PUT: { count: 1, bytes: 1000 },
      DELETE: { count: 1, bytes: 0 },
      LIST: { count: 1, bytes: 0 },
      HEAD: { count: 1, bytes: 0 },
    });
  });

  it("maps other SDK errors to io, not retryable, naming the bucket and key", async () => {
    const wrong = new S3ObjectStore({ client: s3.client({ credentials: { accessKeyId: "nobody", secretAccessKey: "nothing" } }), bucket: s3.bucket, ownsClient: true });
    using _ = disposable(wrong);
    const error = await rejection(wrong.write("k", new Uint8Array(1)));
    expect(isReplicaError(error, "io")).toBe(true);
    expect((error as Error & { retryable: boolean }).retryable).toBe(false);
    expect((error as Error).message).toMatch(new RegExp(`^cannot write s3://${s3.bucket}/k: InvalidAccessKeyId \\(HTTP 403\\)`));
    const nobucket = new S3ObjectStore({ client: s3.client(), bucket: "no-such-bucket", ownsClient: true });
    using __ = disposable(nobucket);
    const missing = await rejection(nobucket.head("k"));
    expect(isReplicaError(missing, "not-found")).toBe(true);
  });

  it("refuses unusable options", () => {
    const client = s3.client();
    try {
      for (const options of [
        { bucket: "" },
        { bucket: "b", partSize: 1024 },
        { bucket: "b", concurrency: 0 },
        { bucket: "b", listPageSize: 1001 },
        { bucket: "b", retry: { maxAttempts: 0 } },
      ]) {
        expect(() => new S3ObjectStore({ client, ...options }), JSON.stringify(options)).toThrow(expect.objectContaining({ code: "invalid-config" }));
      }
    } finally {
      client.destroy();
    }
  });

  it("reads objects other tools wrote (no metadata, any content type)", async () => {
    using store = testStore(s3);
    const key = `${fresh()}foreign`;
    await raw.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: "hello", ContentType: "text/plain" }));
    expect(new TextDecoder().decode(await readObject(store, key))).toBe("hello");
    expect((await store.head(key)).timestamp).toBeUndefined();
  });
});
