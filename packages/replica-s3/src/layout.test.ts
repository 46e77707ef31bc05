// Litestream v0.5's object layout on S3, byte for byte: key names, levels, timestamp
// metadata as Go writes it, the LastModified fallback.
import { afterAll, describe, expect, it } from "vitest";
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { ltxFile } from "@sqlrep/replica/conformance";
import { startFaultProxy, startS3Server } from "@sqlrep/testkit";
import { parseS3Url } from "./backend.js";
import { createS3ReplicaClient } from "./replica.js";
import type { S3ObjectStore } from "./s3-store.js";

const s3 = await startS3Server();
const raw = s3.client();
afterAll(async () => {
  raw.destroy();
  await s3.stop();
}, 30_000);

const env = { LITESTREAM_ACCESS_KEY_ID: s3.accessKeyId, LITESTREAM_SECRET_ACCESS_KEY: s3.secretAccessKey };

function clientFor(url: string) {
  const client = createS3ReplicaClient(parseS3Url(url), { env });
  return { client, [Symbol.dispose]: () => (client.store as S3ObjectStore).destroy() };
}

async function keysUnder(prefix: string): Promise<string[]> {
  const out = await raw.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!);
}

describe("Litestream v0.5 object layout on S3", () => {
  it("writes <prefix>/<%04x level>/<min>-<max>.ltx keys with litestream-timestamp metadata", async () => {
    using replica = clientFor(s3.url("db"));
    const { client } = replica;
    const stamp = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678));
    await client.writeLtxFile({ level: 0, minTXID: 1, maxTXID: 1 }, ltxFile(1, 1), { timestamp: stamp });
    await client.writeLtxFile({ level: 0, minTXID: 2, maxTXID: 0x2a }, ltxFile(2, 0x2a)); // timestamp from the LTX header
    await client.writeLtxFile({ level: 9, minTXID: 1, maxTXID: 0x2a }, ltxFile(1, 0x2a), { timestamp: new Date(Date.UTC(2024, 5, 1)) });
    expect(client.location).toBe(`s3://${s3.bucket}/db`);
    expect(await keysUnder("db/")).toEqual([
      "db/0000/0000000000000001-0000000000000001.ltx",
      "db/0000/0000000000000002-000000000000002a.ltx",
      "db/0009/0000000000000001-000000000000002a.ltx",
    ]);
    const head = (key: string) => raw.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
    expect((await head("db/0000/0000000000000001-0000000000000001.ltx")).Metadata).toEqual({ "litestream-timestamp": "2024-01-02T03:04:05.678Z" });
    // ltxFile(2, …) stamps its header with 1_700_000_000_000 + 2 ms.
    expect((await head("db/0000/0000000000000002-000000000000002a.ltx")).Metadata).toEqual({ "litestream-timestamp": "2023-11-14T22:13:20.002Z" });
    expect((await head("db/0009/0000000000000001-000000000000002a.ltx")).Metadata).toEqual({ "litestream-timestamp": "2024-06-01T00:00:00Z" });
  });

  it("nests a deep prefix and names level 8 as 0008", async () => {
    using replica = clientFor(s3.url("tenants/acme/data.db"));
    await replica.client.writeLtxFile({ level: 8, minTXID: 0x10, maxTXID: 0x1f }, ltxFile(0x10, 0x1f));
    expect(await keysUnder("tenants/")).toEqual(["tenants/acme/data.db/0008/0000000000000010-000000000000001f.ltx"]);
  });

  it("reads timestamps that Litestream (Go) wrote: nanoseconds, offsets; a missing or bad one falls back to LastModified", async () => {
    using replica = clientFor(s3.url("from-go"));
    const { client } = replica;
    const put = (name: string, stamp: string | undefined) =>
      raw.send(
        new PutObjectCommand({
          Bucket: s3.bucket,
          Key: `from-go/0000/${name}`,
          Body: ltxFile(1, 1),
          ...(stamp === undefined ? {} : { Metadata: { "litestream-timestamp": stamp } }),
        }),
      );
    await put("0000000000000001-0000000000000001.ltx", "2025-03-04T05:06:07.123456789Z");
    await put("0000000000000002-0000000000000002.ltx", "2025-03-04T07:06:07+02:00");
    await put("0000000000000003-0000000000000003.ltx", undefined);
    await put("0000000000000004-0000000000000004.ltx", "yesterday");
    const files = [];
    for await (const f of client.ltxFiles(0, { useMetadata: true })) files.push(f);
    expect(files.map((f) => f.minTXID)).toEqual([1, 2, 3, 4]);
    expect(files[0]!.createdAt.getTime()).toBe(Date.UTC(2025, 2, 4, 5, 6, 7, 123));
    expect(files[1]!.createdAt.getTime()).toBe(Date.UTC(2025, 2, 4, 5, 6, 7));
    for (const f of files.slice(2)) expect(Math.abs(f.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
    const head = await client.store.head("from-go/0000/0000000000000003-0000000000000003.ltx");
    expect(head.timestamp).toBeUndefined();
  });

  it("sends an empty prefix's keys with their leading slash, as Litestream does (/bucket//0000/…)", async () => {
    const paths: string[] = [];
    const proxy = await startFaultProxy({ target: s3.endpoint });
    try {
      proxy.setFaults({
        match: (req) => {
          paths.push(`${req.method} ${req.url.split("?")[0]}`);
          return false;
        },
      });
      const url = `s3://${s3.bucket}?endpoint=${proxy.url}&region=us-east-1`;
      using replica = clientFor(url);
      expect(replica.client.location).toBe(`s3://${s3.bucket}`);
      // The testkit's s3rver cannot route such keys (it answers 404); what matters here is the key we send.
      await replica.client.writeLtxFile({ level: 0, minTXID: 1, maxTXID: 1 }, ltxFile(1, 1)).catch(() => undefined);
      await replica.client.writeLtxFile({ level: 9, minTXID: 1, maxTXID: 1 }, ltxFile(1, 1)).catch(() => undefined);
      expect(paths).toContain(`PUT /${s3.bucket}//0000/0000000000000001-0000000000000001.ltx`);
      expect(paths).toContain(`PUT /${s3.bucket}//0009/0000000000000001-0000000000000001.ltx`);
    } finally {
      await proxy.stop();
    }
  });
});
