/** Tests of startS3Server through the real AWS SDK: objects, multipart, listing and pagination as S3 answers them, several servers at once. */
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  paginateListObjectsV2,
  type S3Client,
} from "@aws-sdk/client-s3";
import { existsSync, readdirSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startS3Server, type S3Server } from "./s3.js";
import { sortS3Keys } from "./s3-listing.js";
import { waitFor } from "./wait.js";

const TIMEOUT = 30_000;

async function putAll(client: S3Client, bucket: string, keys: readonly string[], concurrency = 16): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const key = keys[next++]!;
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function text(client: S3Client, bucket: string, key: string, range?: string) {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }));
  return { body: await out.Body!.transformToString(), contentRange: out.ContentRange, length: out.ContentLength };
}

/** Every key and common prefix of a listing, page by page with MaxKeys = pageSize. */
async function listAll(client: S3Client, bucket: string, input: { Prefix?: string; Delimiter?: string; pageSize: number }) {
  const keys: string[] = [];
  const prefixes: string[] = [];
  const pageSizes: number[] = [];
  const pages = paginateListObjectsV2({ client, pageSize: input.pageSize }, { Bucket: bucket, Prefix: input.Prefix, Delimiter: input.Delimiter });
  for await (const page of pages) {
    const contents = (page.Contents ?? []).map((object) => object.Key!);
    const common = (page.CommonPrefixes ?? []).map((prefix) => prefix.Prefix!);
    expect(page.KeyCount).toBe(contents.length + common.length);
    pageSizes.push(contents.length + common.length);
    keys.push(...contents);
    prefixes.push(...common);
  }
  return { keys, prefixes, pageSizes };
}

describe("startS3Server", () => {
  let s3: S3Server;
  let client: S3Client;

  beforeAll(async () => {
    s3 = await startS3Server();
    client = s3.client();
  }, TIMEOUT);

  afterAll(async () => {
    client?.destroy();
    await s3?.stop();
  }, TIMEOUT);

  it("describes itself", () => {
    expect(s3.endpoint).toBe(`http://127.0.0.1:${s3.port}`);
    expect(s3.bucket).toBe("sqlrep-test");
    expect(s3.region).toBe("us-east-1");
    expect(s3.url("db/one")).toBe(`s3://sqlrep-test/db/one?endpoint=http://127.0.0.1:${s3.port}&region=us-east-1&force-path-style=true`);
    expect(s3.url("/a b")).toBe(`s3://sqlrep-test/a%20b?endpoint=http://127.0.0.1:${s3.port}&region=us-east-1&force-path-style=true`);
  });

  it("rejects a bucket name S3 would reject", async () => {
    await expect(startS3Server({ bucket: "ab" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(startS3Server({ bucket: "Upper" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it(
    "puts, gets, heads with user metadata, and deletes an object",
    async () => {
      const Bucket = s3.bucket;
      await client.send(
        new PutObjectCommand({
          Bucket,
          Key: "obj/one",
          Body: "hello, world",
          ContentType: "text/plain",
          Metadata: { "litestream-timestamp": "2024-01-02T03:04:05Z", mixed: "Value 1" },
        }),
      );
      const got = await client.send(new GetObjectCommand({ Bucket, Key: "obj/one" }));
      expect(await got.Body!.transformToString()).toBe("hello, world");
      expect(got.Metadata).toEqual({ "litestream-timestamp": "2024-01-02T03:04:05Z", mixed: "Value 1" });
      expect(got.ContentType).toBe("text/plain");

      const head = await client.send(new HeadObjectCommand({ Bucket, Key: "obj/one" }));
      expect(head.ContentLength).toBe(12);
      expect(head.Metadata).toEqual(got.Metadata);
      expect(head.ETag).toBe('"e4d7f1b4ed2e42d15898f4b27b019da4"');

      await client.send(new DeleteObjectCommand({ Bucket, Key: "obj/one" }));
      await expect(client.send(new HeadObjectCommand({ Bucket, Key: "obj/one" }))).rejects.toMatchObject({
        $metadata: { httpStatusCode: 404 },
      });
      await expect(client.send(new GetObjectCommand({ Bucket, Key: "obj/one" }))).rejects.toMatchObject({
        name: "NoSuchKey",
      });
      // Deleting a missing key succeeds, as on S3.
      await client.send(new DeleteObjectCommand({ Bucket, Key: "obj/one" }));
    },
    TIMEOUT,
  );

  it(
    "serves ranged gets as S3 does, including first-byte and suffix ranges",
    async () => {
      const Bucket = s3.bucket;
      await client.send(new PutObjectCommand({ Bucket, Key: "range/r", Body: "0123456789" }));
      expect(await text(client, Bucket, "range/r", "bytes=2-5")).toEqual({ body: "2345", contentRange: "bytes 2-5/10", length: 4 });
      expect(await text(client, Bucket, "range/r", "bytes=0-0")).toEqual({ body: "0", contentRange: "bytes 0-0/10", length: 1 });
      expect(await text(client, Bucket, "range/r", "bytes=7-")).toEqual({ body: "789", contentRange: "bytes 7-9/10", length: 3 });
      expect(await text(client, Bucket, "range/r", "bytes=8-100")).toEqual({ body: "89", contentRange: "bytes 8-9/10", length: 2 });
      expect(await text(client, Bucket, "range/r", "bytes=-3")).toEqual({ body: "789", contentRange: "bytes 7-9/10", length: 3 });
      expect(await text(client, Bucket, "range/r", "bytes=-30")).toEqual({ body: "0123456789", contentRange: "bytes 0-9/10", length: 10 });
      await expect(text(client, Bucket, "range/r", "bytes=10-")).rejects.toMatchObject({ $metadata: { httpStatusCode: 416 } });
    },
    TIMEOUT,
  );

  it(
    "stores a streamed (aws-chunked) upload as its bytes",
    async () => {
      const Bucket = s3.bucket;
      const parts = [Buffer.alloc(70_000, 1), Buffer.alloc(3, 2), Buffer.alloc(100_000, 3)];
      const body = Buffer.concat(parts);
      await client.send(new PutObjectCommand({ Bucket, Key: "stream/s", Body: Readable.from(parts), ContentLength: body.length }));
      const got = await client.send(new GetObjectCommand({ Bucket, Key: "stream/s" }));
      expect(got.ContentEncoding).toBeUndefined();
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
    },
    TIMEOUT,
  );

  it(
    "assembles a multipart upload, streamed parts included",
    async () => {
      const Bucket = s3.bucket;
      const Key = "multipart/object";
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key, Metadata: { a: "b" } }));
      const first = Buffer.alloc(1024 * 1024, 1);
      const second = Buffer.from("the tail");
      const parts = [
        await client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: first })),
        await client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 2, Body: Readable.from([second]), ContentLength: second.length })),
      ];
      await client.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key,
          UploadId,
          MultipartUpload: { Parts: parts.map((part, i) => ({ PartNumber: i + 1, ETag: part.ETag })) },
        }),
      );
      const got = await client.send(new GetObjectCommand({ Bucket, Key }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat([first, second]))).toBe(true);
      expect(got.Metadata).toEqual({ a: "b" });
    },
    TIMEOUT,
  );

  it(
    "deletes many keys in one folder at once",
    async () => {
      const Bucket = s3.bucket;
      const keys = Array.from({ length: 40 }, (_, i) => `many/level/${String(i).padStart(4, "0")}.ltx`);
      await putAll(client, Bucket, [...keys, "many/keep"]);
      const out = await client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
      expect(out.Deleted).toHaveLength(40);
      expect(out.Errors ?? []).toEqual([]);
      const left = await client.send(new ListObjectsV2Command({ Bucket, Prefix: "many/" }));
      expect(left.Contents?.map((object) => object.Key)).toEqual(["many/keep"]);
      // The emptied folder is not reported as a common prefix.
      const folders = await client.send(new ListObjectsV2Command({ Bucket, Prefix: "many/", Delimiter: "/" }));
      expect(folders.CommonPrefixes ?? []).toEqual([]);
    },
    TIMEOUT,
  );

  describe("listing", () => {
    const tree = [
      "tree/db/ltx/0/0000000000000001-0000000000000001.ltx",
      "tree/db/ltx/0/0000000000000002-0000000000000002.ltx",
      "tree/db/ltx/1/0000000000000001-0000000000000002.ltx",
      "tree/db/ltx/9/0000000000000001-0000000000000002.ltx",
      "tree/db/generations/abc/snapshots/0.ltx",
      "tree/db/top",
      "tree/other/deep/deeper/deepest/x",
      "tree/root",
    ];

    beforeAll(async () => {
      await putAll(client, s3.bucket, [...tree].reverse());
    }, TIMEOUT);

    it("lists every key under a prefix without a delimiter", async () => {
      const out = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: "tree/" }));
      expect(out.Contents?.map((object) => object.Key)).toEqual(sortS3Keys(tree));
      expect(out.Contents?.[0]).toMatchObject({ Size: tree[4]!.length, StorageClass: "STANDARD" });
      expect(out.Contents?.[0]?.LastModified).toBeInstanceOf(Date);
      expect(out.IsTruncated).toBe(false);
    });

    it("returns every folder as a common prefix, at every depth", async () => {
      const list = async (Prefix: string) => {
        const out = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix, Delimiter: "/" }));
        return {
          keys: (out.Contents ?? []).map((object) => object.Key),
          prefixes: (out.CommonPrefixes ?? []).map((prefix) => prefix.Prefix),
        };
      };
      // Folders holding only folders (other/, ltx/, generations/) are what s3rver dropped.
      expect(await list("tree/")).toEqual({ keys: ["tree/root"], prefixes: ["tree/db/", "tree/other/"] });
      expect(await list("tree/db/")).toEqual({ keys: ["tree/db/top"], prefixes: ["tree/db/generations/", "tree/db/ltx/"] });
      expect(await list("tree/db/ltx/")).toEqual({
        keys: [],
        prefixes: ["tree/db/ltx/0/", "tree/db/ltx/1/", "tree/db/ltx/9/"],
      });
      expect(await list("tree/db/ltx/0/")).toEqual({ keys: tree.slice(0, 2), prefixes: [] });
      // A prefix that ends inside a name.
      expect(await list("tree/d")).toEqual({ keys: [], prefixes: ["tree/db/"] });
      expect(await list("tree/other/deep/")).toEqual({ keys: [], prefixes: ["tree/other/deep/deeper/"] });
      expect(await list("nothing/")).toEqual({ keys: [], prefixes: [] });
    });

    it("supports delimiters other than a slash", async () => {
      const out = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: "tree/db/ltx/", Delimiter: "-" }));
      expect(out.CommonPrefixes?.map((prefix) => prefix.Prefix)).toEqual([
        "tree/db/ltx/0/0000000000000001-",
        "tree/db/ltx/0/0000000000000002-",
        "tree/db/ltx/1/0000000000000001-",
        "tree/db/ltx/9/0000000000000001-",
      ]);
    });

    it("answers ListObjects v1 with markers", async () => {
      const first = await client.send(new ListObjectsCommand({ Bucket: s3.bucket, Prefix: "tree/db/", Delimiter: "/", MaxKeys: 1 }));
      expect(first.CommonPrefixes?.map((prefix) => prefix.Prefix)).toEqual(["tree/db/generations/"]);
      expect(first.IsTruncated).toBe(true);
      expect(first.NextMarker).toBe("tree/db/generations/");
      const second = await client.send(new ListObjectsCommand({ Bucket: s3.bucket, Prefix: "tree/db/", Delimiter: "/", Marker: first.NextMarker }));
      expect(second.CommonPrefixes?.map((prefix) => prefix.Prefix)).toEqual(["tree/db/ltx/"]);
      expect(second.Contents?.map((object) => object.Key)).toEqual(["tree/db/top"]);
      expect(second.IsTruncated).toBe(false);
    });
  });

  it(
    "sorts keys in UTF-8 byte order whatever the order they were written in",
    async () => {
      const keys = ["order/b", "order/a/b", "order/a", "order/a-b", "order/a+b", "order/a.b", "order/B", "order/a0", "order/\u{1F600}", "order/\uFFFD", "order/é", "order/z/"];
      for (const Key of keys) await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key, Body: Key }));
      const out = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: "order/" }));
      const expected = ["order/B", "order/a", "order/a+b", "order/a-b", "order/a.b", "order/a/b", "order/a0", "order/b", "order/z/", "order/é", "order/\uFFFD", "order/\u{1F600}"];
      expect(out.Contents?.map((object) => object.Key)).toEqual(expected);
      expect(sortS3Keys(keys)).toEqual(expected);
      const delimited = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: "order/", Delimiter: "/" }));
      expect(delimited.CommonPrefixes?.map((prefix) => prefix.Prefix)).toEqual(["order/a/", "order/z/"]);
    },
    TIMEOUT,
  );

  describe("pagination", () => {
    const count = 2500;
    // Written in a shuffled order so directory order cannot pass for sorted order.
    const keys = Array.from({ length: count }, (_, i) => `pages/k${String((i * 7919) % count).padStart(5, "0")}`);
    const sorted = sortS3Keys(keys);

    beforeAll(async () => {
      await putAll(client, s3.bucket, keys);
    }, 60_000);

    it("pages through 2,500 keys at 1,000 a page", async () => {
      const { keys: listed, pageSizes } = await listAll(client, s3.bucket, { Prefix: "pages/", pageSize: 1000 });
      expect(pageSizes).toEqual([1000, 1000, 500]);
      expect(listed).toEqual(sorted);
    });

    it("caps MaxKeys at 1,000", async () => {
      const out = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: "pages/", MaxKeys: 5000 }));
      expect(out.Contents).toHaveLength(1000);
      expect(out.IsTruncated).toBe(true);
    });

    it("pages with an odd page size and resumes from StartAfter", async () => {
      const { keys: listed, pageSizes } = await listAll(client, s3.bucket, { Prefix: "pages/", pageSize: 333 });
      expect(pageSizes).toEqual([...Array(7).fill(333), 169]);
      expect(listed).toEqual(sorted);
      const after = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: "pages/", StartAfter: sorted[1233], MaxKeys: 3 }));
      expect(after.StartAfter).toBe(sorted[1233]);
      expect(after.Contents?.map((object) => object.Key)).toEqual(sorted.slice(1234, 1237));
    });

    it("counts common prefixes against MaxKeys and resumes after a prefix", async () => {
      const grouped = Array.from({ length: 5 }, (_, i) => `groups/g${i}/a`).concat(
        Array.from({ length: 5 }, (_, i) => `groups/g${i}/b`),
        ["groups/g2", "groups/z"],
      );
      await putAll(client, s3.bucket, grouped);
      const {
        keys: listed,
        prefixes,
        pageSizes,
      } = await listAll(client, s3.bucket, {
        Prefix: "groups/",
        Delimiter: "/",
        pageSize: 2,
      });
      expect(prefixes).toEqual(["groups/g0/", "groups/g1/", "groups/g2/", "groups/g3/", "groups/g4/"]);
      expect(listed).toEqual(["groups/g2", "groups/z"]);
      expect(pageSizes).toEqual([2, 2, 2, 1]);
    });

    it("rejects a continuation token it did not issue", async () => {
      await expect(client.send(new ListObjectsV2Command({ Bucket: s3.bucket, ContinuationToken: "bm90LW91cnM=" }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 } });
    });
  });
});

describe("several S3 servers", () => {
  it(
    "run side by side with separate storage",
    async () => {
      const [one, two] = await Promise.all([startS3Server(), startS3Server({ bucket: "second-bucket" })]);
      const [c1, c2] = [one.client(), two.client()];
      try {
        expect(one.port).not.toBe(two.port);
        expect(one.directory).not.toBe(two.directory);
        await c1.send(new PutObjectCommand({ Bucket: one.bucket, Key: "k", Body: "one" }));
        await c2.send(new PutObjectCommand({ Bucket: two.bucket, Key: "k", Body: "two" }));
        expect((await text(c1, one.bucket, "k")).body).toBe("one");
        expect((await text(c2, two.bucket, "k")).body).toBe("two");
        await expect(c2.send(new GetObjectCommand({ Bucket: one.bucket, Key: "k" }))).rejects.toMatchObject({
          name: "NoSuchBucket",
        });
      } finally {
        c1.destroy();
        c2.destroy();
        await Promise.all([one.stop(), two.stop()]);
      }
    },
    TIMEOUT,
  );

  it(
    "stop() frees the port even with a keep-alive client connected",
    async () => {
      const s3 = await startS3Server();
      const client = s3.client();
      await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: "k", Body: "v" }));
      const directory = s3.directory;
      await s3.stop();
      await s3.stop();
      client.destroy();
      expect(existsSync(directory)).toBe(false);
      await new Promise<void>((resolve, reject) => {
        const server = createServer();
        server.once("error", reject);
        server.listen({ host: "127.0.0.1", port: s3.port, exclusive: true }, () => server.close(() => resolve()));
      });
    },
    TIMEOUT,
  );
});

describe("S3 server uploads", () => {
  it(
    "never shows an upload the client cut off",
    async () => {
      const s3 = await startS3Server();
      try {
        const req = request(`${s3.endpoint}/${s3.bucket}/cut/object`, {
          method: "PUT",
          headers: { "content-length": "100000" },
        });
        req.on("error", () => {});
        req.write(Buffer.alloc(50_000, 7));
        await waitFor(() => readdirSync(s3.directory, { recursive: true }).some((name) => String(name).endsWith(".tmp")), {
          message: "the upload to start",
        });
        req.destroy();
        await waitFor(() => !readdirSync(s3.directory, { recursive: true }).some((name) => String(name).endsWith(".tmp")), {
          message: "the partial upload to be discarded",
        });
        const client = s3.client();
        await expect(client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: "cut/object" }))).rejects.toMatchObject({
          $metadata: { httpStatusCode: 404 },
        });
        client.destroy();
      } finally {
        await s3.stop();
      }
    },
    TIMEOUT,
  );
});
