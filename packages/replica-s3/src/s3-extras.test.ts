// Litestream v0.5's S3 extras: provider hosts and defaults, access-point ARNs, storage
// class, SSE-C/SSE-KMS, unsigned payloads, Content-MD5 — parsed, checked, and seen on the wire.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IncomingHttpHeaders } from "node:http";
import { afterAll, describe, expect, it } from "vitest";
import { isReplicaError, parseReplicaUrl, s3Layout, type ObjectReplicaClient, type ReplicaSpec } from "@sqlrep/replica";
import { ltxFile } from "@sqlrep/replica/conformance";
import { startFaultProxy, startS3Server } from "@sqlrep/testkit";
import { parseS3Url, s3Backend, type S3Spec } from "./backend.js";
import { providerOf } from "./providers.js";
import { createS3ReplicaClient } from "./replica.js";
import { S3ObjectStore } from "./s3-store.js";
import { createS3Client, customerKeyMd5, resolveS3Settings } from "./settings.js";
import { expectSameBytes, readAll, seededBytes, testSettings } from "./testing/helpers.js";

const KEY = Buffer.alloc(32, 7).toString("base64");
const finish = (spec: Partial<S3Spec>) => s3Backend.finish!({ type: "s3", bucket: "b", ...spec }) as S3Spec;
const configError = (run: () => unknown) => {
  try {
    run();
  } catch (err) {
    expect(isReplicaError(err, "invalid-config")).toBe(true);
    return err as Error & { key?: string };
  }
  return expect.unreachable("expected invalid-config");
};

describe("S3 extras in URLs and configs", () => {
  it("reads every v0.5 query parameter in both spellings", () => {
    const kebab = parseS3Url(
      `s3://b/p?sign-payload=false&require-content-md5=false&storage-class=STANDARD_IA&part-size=6291456&concurrency=3&sse-customer-algorithm=AES256&sse-customer-key=${encodeURIComponent(KEY)}`,
    );
    const camel = parseS3Url(
      `s3://b/p?signPayload=false&requireContentMD5=false&storageClass=STANDARD_IA&partSize=6291456&concurrency=3&sseCustomerAlgorithm=AES256&sseCustomerKey=${encodeURIComponent(KEY)}`,
    );
    const want = {
      signPayload: false,
      requireContentMd5: false,
      storageClass: "STANDARD_IA",
      partSize: 6291456,
      concurrency: 3,
      sseCustomerAlgorithm: "AES256",
      sseCustomerKey: KEY,
    };
    expect(kebab).toMatchObject(want);
    expect(camel).toMatchObject(want);
    expect(parseS3Url("s3://b/p?sse-kms-key-id=alias/mine")).toMatchObject({ sseKmsKeyId: "alias/mine" });
    expect(() => parseS3Url("s3://b/p?part-size=5MB")).toThrow(/part-size=5MB .*positive integer/);
    expect(() => parseS3Url("s3://b/p?sign-payload=perhaps")).toThrow(/not a boolean/);
  });

  it("an endpoint in the URL means path style, with http for local hosts (Litestream's rule)", () => {
    expect(parseS3Url("s3://b/p?endpoint=127.0.0.1:9000")).toMatchObject({ endpoint: "http://127.0.0.1:9000", forcePathStyle: true });
    expect(parseS3Url("s3://b/p?endpoint=minio.example.com")).toMatchObject({ endpoint: "https://minio.example.com", forcePathStyle: true });
    expect(parseS3Url("s3://b/p?endpoint=10.1.2.3:9000&force-path-style=false")).toMatchObject({ endpoint: "http://10.1.2.3:9000", forcePathStyle: false });
  });

  it("takes provider hosts apart as v0.5's ParseHost does", () => {
    expect(parseS3Url("s3://b.nyc3.digitaloceanspaces.com/p")).toMatchObject({
      bucket: "b",
      region: "nyc3",
      endpoint: "https://nyc3.digitaloceanspaces.com",
      forcePathStyle: false,
    });
    expect(parseS3Url("s3://b.s3.us-west-002.backblazeb2.com/p")).toMatchObject({
      bucket: "b",
      region: "us-west-002",
      endpoint: "https://s3.us-west-002.backblazeb2.com",
      forcePathStyle: true,
    });
    expect(parseS3Url("s3://b.s3.filebase.com/p")).toMatchObject({ bucket: "b", endpoint: "https://s3.filebase.com" });
    expect(parseS3Url("s3://b.s3.fr-par.scw.cloud/p")).toMatchObject({ bucket: "b", region: "fr-par", endpoint: "https://s3.fr-par.scw.cloud" });
    expect(parseS3Url("s3://b.minio:9000/p")).toMatchObject({ bucket: "b", endpoint: "http://minio:9000", forcePathStyle: true });
    expect(parseS3Url("s3://my.dotted.bucket/p")).toMatchObject({ bucket: "my.dotted.bucket", path: "p" });
    expect(parseS3Url("s3://my.dotted.bucket/p").endpoint).toBeUndefined();
  });

  it("reads access point ARNs as the bucket, with their region", () => {
    const arn = "arn:aws:s3:eu-west-1:123456789012:accesspoint/db-ap";
    const spec = parseReplicaUrl(`s3://${arn}/backups/prod?storage-class=GLACIER_IR`, [s3Backend]) as S3Spec;
    expect(spec).toMatchObject({ type: "s3", bucket: arn, region: "eu-west-1", path: "backups/prod", storageClass: "GLACIER_IR" });
    expect(resolveS3Settings(spec, {})).toMatchObject({ bucket: arn, region: "eu-west-1", endpoint: undefined, forcePathStyle: false, prefix: "backups/prod" });
    expect(parseReplicaUrl(`s3://${arn}`, [s3Backend])).toMatchObject({ bucket: arn, path: "" });
    expect(() => parseReplicaUrl("s3://arn:aws:s3:eu-west-1:1:bucket/x", [s3Backend])).toThrow(/invalid S3 access point URL .*accesspoint\/NAME/);
    expect(s3Backend.location!(spec)).not.toBe(s3Backend.location!(parseS3Url("s3://db-ap/backups/prod")));
  });

  it("checks encryption settings as Litestream does, naming the key", () => {
    expect(finish({ sseCustomerKey: KEY, sseCustomerAlgorithm: "AES256" })).toMatchObject({ sseCustomerKey: KEY });
    expect(configError(() => finish({ sseCustomerKey: KEY, sseKmsKeyId: "k" }))).toMatchObject({ key: "sse-kms-key-id", message: /cannot both be set/ });
    expect(configError(() => finish({ sseCustomerKey: KEY, sseCustomerAlgorithm: "AES128" }))).toMatchObject({ key: "sse-customer-algorithm" });
    expect(configError(() => finish({ sseCustomerKey: Buffer.alloc(16).toString("base64") }))).toMatchObject({
      key: "sse-customer-key",
      message: /32 bytes, got 16.*openssl rand -base64 32/,
    });
    expect(configError(() => finish({ sseCustomerKey: "not base64!" }))).toMatchObject({ message: /not base64/ });
    expect(configError(() => finish({ sseCustomerAlgorithm: "AES256" }))).toMatchObject({ key: "sse-customer-key" });
    expect(configError(() => finish({ sseCustomerKey: KEY, sseCustomerKeyPath: "/k" }))).toMatchObject({ key: "sse-customer-key-path" });
    for (const key of ["storage-class", "sign-payload", "require-content-md5", "sse-customer-algorithm", "sse-customer-key", "sse-customer-key-path", "sse-kms-key-id"]) {
      expect(s3Backend.keys[key], key).toBeDefined();
    }
    expect(s3Backend.keys["sign-payload"]).toMatchObject({ kind: "boolean", default: true });
  });
});

describe("provider defaults by endpoint", () => {
  it("recognizes providers by host", () => {
    expect(providerOf("https://fly.storage.tigris.dev")).toBe("tigris");
    expect(providerOf("t3.storage.dev")).toBe("tigris");
    expect(providerOf("https://acct.r2.cloudflarestorage.com")).toBe("r2");
    expect(providerOf("https://s3.us-west-002.backblazeb2.com")).toBe("backblaze");
    expect(providerOf("https://s3.filebase.com")).toBe("filebase");
    expect(providerOf("https://proj.supabase.co/storage/v1/s3")).toBe("supabase");
    expect(providerOf("https://fsn1.your-objectstorage.com")).toBe("hetzner");
    expect(providerOf("https://nyc3.digitaloceanspaces.com")).toBe("digitalocean");
    expect(providerOf("https://s3.fr-par.scw.cloud")).toBe("scaleway");
    expect(providerOf("http://127.0.0.1:9000")).toBe("minio");
    expect(providerOf("https://s3.example.com")).toBeUndefined();
    expect(providerOf(undefined)).toBeUndefined();
  });

  it("applies them unless the spec says otherwise", () => {
    const tigris = resolveS3Settings({ type: "s3", bucket: "b", endpoint: "https://fly.storage.tigris.dev" } as S3Spec, {});
    expect(tigris).toMatchObject({ provider: "tigris", requireContentMd5: false, signPayload: true, headers: { "x-tigris-consistent": "true" } });
    expect(resolveS3Settings({ type: "s3", bucket: "b", endpoint: "https://fly.storage.tigris.dev", requireContentMd5: true } as S3Spec, {})).toMatchObject({
      requireContentMd5: true,
    });
    expect(resolveS3Settings({ type: "s3", bucket: "b", endpoint: "https://a.r2.cloudflarestorage.com" } as S3Spec, {})).toMatchObject({ provider: "r2", concurrency: 2 });
    expect(resolveS3Settings({ type: "s3", bucket: "b", endpoint: "https://a.r2.cloudflarestorage.com", concurrency: 4 } as S3Spec, {})).toMatchObject({ concurrency: 4 });
    expect(resolveS3Settings({ type: "s3", bucket: "b" } as S3Spec, {})).toMatchObject({
      provider: undefined,
      concurrency: undefined,
      requireContentMd5: true,
      signPayload: true,
      headers: {},
    });
    // LITESTREAM_S3_ENDPOINT without a scheme: http for a private host.
    expect(resolveS3Settings({ type: "s3", bucket: "b" } as S3Spec, { LITESTREAM_S3_ENDPOINT: "192.168.1.5:9000" })).toMatchObject({
      endpoint: "http://192.168.1.5:9000",
      provider: "minio",
    });
  });

  it("reads the SSE-C key from a file, and refuses to send it over http to a public host", () => {
    const dir = mkdtempSync(join(tmpdir(), "sqlrep-ssec-"));
    try {
      writeFileSync(join(dir, "key"), `${KEY}\n`);
      expect(resolveS3Settings({ type: "s3", bucket: "b", sseCustomerKeyPath: join(dir, "key") } as S3Spec, {}).objects).toEqual({ customerKey: KEY });
      writeFileSync(join(dir, "short"), "c2hvcnQ=");
      expect(configError(() => resolveS3Settings({ type: "s3", bucket: "b", sseCustomerKeyPath: join(dir, "short") } as S3Spec, {}))).toMatchObject({
        key: "sse-customer-key-path",
      });
      expect(configError(() => resolveS3Settings({ type: "s3", bucket: "b", sseCustomerKeyPath: join(dir, "missing") } as S3Spec, {}))).toMatchObject({
        message: /cannot read sse-customer-key-path/,
      });
      expect(configError(() => resolveS3Settings({ type: "s3", bucket: "b", endpoint: "http://s3.example.com", sseCustomerKey: KEY } as S3Spec, {}))).toMatchObject({
        message: /needs an https endpoint/,
      });
      expect(resolveS3Settings({ type: "s3", bucket: "b", endpoint: "http://127.0.0.1:9000", sseCustomerKey: KEY } as S3Spec, {}).objects).toEqual({ customerKey: KEY });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const s3 = await startS3Server();
const proxy = await startFaultProxy({ target: s3.endpoint });
afterAll(async () => {
  await proxy.stop();
  await s3.stop();
}, 30_000);

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}
/** Records every request through the proxy (no faults: match says no). */
function recording(): Seen[] {
  const seen: Seen[] = [];
  proxy.setFaults({
    match: (req) => {
      seen.push(req);
      return false;
    },
  });
  return seen;
}

describe("S3 extras on the wire (through a recording proxy to the S3 server)", () => {
  const base = (extra: Partial<S3Spec>): ReplicaSpec =>
    ({ type: "s3", bucket: s3.bucket, endpoint: proxy.url, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, ...extra }) as ReplicaSpec;

  it("sends storage class and SSE-C with writes, SSE-C with reads and HEADs, UNSIGNED-PAYLOAD when asked, Content-MD5 on deletes", async () => {
    const seen = recording();
    const client = createS3ReplicaClient(base({ path: "extras/a", storageClass: "STANDARD_IA", sseCustomerKey: KEY, signPayload: false }), { env: {} });
    const bytes = ltxFile(1, 1, 3);
    await client.writeLtxFile({ level: 0, minTXID: 1, maxTXID: 1 }, bytes);
    expectSameBytes(await readAll(await client.openLtxFile({ level: 0, minTXID: 1, maxTXID: 1 })), bytes);
    await client.deleteAll();
    const put = seen.find((r) => r.method === "PUT")!;
    const get = seen.find((r) => r.method === "GET" && !r.url.includes("list-type"))!;
    const del = seen.find((r) => r.method === "POST" && r.url.includes("delete"))!;
    expect(put.headers).toMatchObject({
      "x-amz-storage-class": "STANDARD_IA",
      "x-amz-server-side-encryption-customer-algorithm": "AES256",
      "x-amz-server-side-encryption-customer-key": KEY,
      "x-amz-server-side-encryption-customer-key-md5": customerKeyMd5(KEY),
      "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
    });
    expect(get.headers).toMatchObject({ "x-amz-server-side-encryption-customer-key": KEY, "x-amz-server-side-encryption-customer-key-md5": customerKeyMd5(KEY) });
    expect(get.headers["x-amz-storage-class"]).toBeUndefined();
    expect(del.headers["content-md5"]).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(seen.filter((r) => r.method !== "PUT").every((r) => r.headers["x-amz-content-sha256"] === "UNSIGNED-PAYLOAD")).toBe(true);
    ((client as ObjectReplicaClient).store as S3ObjectStore).destroy();
  });

  it("signs payloads by default, sends SSE-KMS on writes, and no Content-MD5 when it is not required", async () => {
    const seen = recording();
    const client = createS3ReplicaClient(base({ path: "extras/b", sseKmsKeyId: "alias/db", requireContentMd5: false }), { env: {} });
    const bytes = ltxFile(1, 1, 2);
    await client.writeLtxFile({ level: 0, minTXID: 1, maxTXID: 1 }, bytes);
    await client.deleteAll();
    const put = seen.find((r) => r.method === "PUT")!;
    expect(put.headers).toMatchObject({ "x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": "alias/db" });
    expect(put.headers["x-amz-content-sha256"]).toBe(createHash("sha256").update(bytes).digest("hex"));
    const del = seen.find((r) => r.method === "POST" && r.url.includes("delete"))!;
    expect(del.headers["content-md5"]).toBeUndefined();
    ((client as ObjectReplicaClient).store as S3ObjectStore).destroy();
  });

  it("carries SSE-C through multipart uploads and sends a provider's headers with every request", async () => {
    const seen = recording();
    const settings = { ...testSettings(s3, proxy.url), headers: { "x-tigris-consistent": "true" }, objects: { customerKey: KEY, storageClass: "STANDARD_IA" } };
    const store = new S3ObjectStore({ client: createS3Client(settings), bucket: s3.bucket, ownsClient: true, partSize: 5 * 1024 * 1024, objects: settings.objects });
    const big = seededBytes(6 * 1024 * 1024, 3);
    const layout = s3Layout("extras/c");
    await store.write(`${layout.levelPrefix(1)}big`, big);
    expectSameBytes(await readAll(await store.read(`${layout.levelPrefix(1)}big`)), big);
    const create = seen.find((r) => r.method === "POST" && r.url.includes("uploads"))!;
    const parts = seen.filter((r) => r.method === "PUT" && r.url.includes("partNumber"));
    const complete = seen.find((r) => r.method === "POST" && r.url.includes("uploadId"))!;
    expect(create.headers).toMatchObject({ "x-amz-storage-class": "STANDARD_IA", "x-amz-server-side-encryption-customer-key": KEY });
    expect(parts.length).toBe(2);
    for (const r of [...parts, complete]) expect(r.headers["x-amz-server-side-encryption-customer-key"]).toBe(KEY);
    for (const r of parts) expect(r.headers["x-amz-storage-class"]).toBeUndefined();
    expect(seen.every((r) => r.headers["x-tigris-consistent"] === "true")).toBe(true);
    await store.delete([`${layout.levelPrefix(1)}big`]);
    store.destroy();
  });
});
