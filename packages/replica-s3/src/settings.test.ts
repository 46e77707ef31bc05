// S3 settings from a spec and the environment: URL parts, endpoint and region defaults,
// credentials in Litestream's order, refusals naming the fault, signatures the server checks.
import { afterAll, describe, expect, it } from "vitest";
import { ReplicaRegistry, isReplicaError, type ReplicaError, type ReplicaSpec } from "@sqlrep/replica";
import { ltxFile } from "@sqlrep/replica/conformance";
import { startS3Server } from "@sqlrep/testkit";
import { parseS3Url, s3Backend } from "./backend.js";
import { createS3ReplicaClient } from "./replica.js";
import type { S3ObjectStore } from "./s3-store.js";
import { createS3Client, resolveS3Settings } from "./settings.js";
import { rejection } from "./testing/helpers.js";

const s3 = await startS3Server();
afterAll(() => s3.stop(), 30_000);

const noEnv = {};

function invalid(run: () => unknown): ReplicaError {
  try {
    run();
  } catch (err) {
    expect(isReplicaError(err, "invalid-config")).toBe(true);
    return err as ReplicaError;
  }
  return expect.unreachable("expected invalid-config");
}

describe("S3 settings from a spec and the environment", () => {
  it("reads bucket, prefix, endpoint, region and path style from an s3:// URL", () => {
    const spec = parseS3Url("s3://my-bucket/some/prefix/?endpoint=http://127.0.0.1:9000&region=eu-west-3&force-path-style=true");
    expect(resolveS3Settings(spec, noEnv)).toEqual({
      bucket: "my-bucket",
      prefix: "some/prefix",
      region: "eu-west-3",
      endpoint: "http://127.0.0.1:9000",
      forcePathStyle: true,
      skipVerify: false,
      credentials: undefined,
      credentialSource: "sdk-default-chain",
      provider: "minio",
      signPayload: true,
      requireContentMd5: true,
      concurrency: undefined,
      objects: {},
      headers: {},
    });
    expect(resolveS3Settings(parseS3Url("s3://b/p?endpoint=https://minio.example:9000&forcePathStyle=false&skip-verify=true"), noEnv)).toMatchObject({
      forcePathStyle: false,
      skipVerify: true,
    });
  });

  it("defaults a custom endpoint to path style and us-east-1; AWS to virtual hosts and AWS_REGION", () => {
    expect(resolveS3Settings(parseS3Url("s3://b/p?endpoint=https://s3.example.com"), { AWS_REGION: "ap-south-1" })).toMatchObject({
      endpoint: "https://s3.example.com",
      forcePathStyle: true,
      region: "us-east-1",
    });
    expect(resolveS3Settings(parseS3Url("s3://b/p"), { AWS_REGION: "ap-south-1" })).toMatchObject({ endpoint: undefined, forcePathStyle: false, region: "ap-south-1" });
    expect(resolveS3Settings(parseS3Url("s3://b/p"), { AWS_DEFAULT_REGION: "sa-east-1" })).toMatchObject({ region: "sa-east-1" });
    expect(resolveS3Settings(parseS3Url("s3://b/p"), noEnv)).toMatchObject({ region: "us-east-1" });
    expect(resolveS3Settings(parseS3Url("s3://b.s3.eu-central-1.amazonaws.com/p"), noEnv)).toMatchObject({ bucket: "b", region: "eu-central-1", forcePathStyle: false });
    expect(resolveS3Settings(parseS3Url("s3://b.localhost:9000/p"), noEnv)).toMatchObject({ bucket: "b", endpoint: "http://localhost:9000", forcePathStyle: true });
  });

  it("takes LITESTREAM_S3_ENDPOINT as the default endpoint, adds https:// to a bare host, cleans a config path", () => {
    const spec: ReplicaSpec = { type: "s3", bucket: "b", path: "/a//b/./c/" };
    expect(resolveS3Settings(spec, { LITESTREAM_S3_ENDPOINT: "http://127.0.0.1:9000" })).toMatchObject({
      endpoint: "http://127.0.0.1:9000",
      forcePathStyle: true,
      prefix: "a/b/c",
    });
    expect(resolveS3Settings({ ...spec, endpoint: "minio.internal:9000" }, { LITESTREAM_S3_ENDPOINT: "http://127.0.0.1:9000" })).toMatchObject({
      endpoint: "https://minio.internal:9000",
    });
    expect(resolveS3Settings({ type: "s3", bucket: "b" }, noEnv).prefix).toBe("");
  });

  it("takes credentials from the spec, else AWS_*, else LITESTREAM_* (Litestream's order), else leaves them to the SDK's chain", () => {
    const env = {
      LITESTREAM_ACCESS_KEY_ID: "ls-id",
      LITESTREAM_SECRET_ACCESS_KEY: "ls-secret",
      AWS_ACCESS_KEY_ID: "aws-id",
      AWS_SECRET_ACCESS_KEY: "aws-secret",
      AWS_SESSION_TOKEN: "aws-token",
    };
    const spec: ReplicaSpec = { type: "s3", bucket: "b" };
    const creds = (s: ReplicaSpec, e: NodeJS.ProcessEnv) => {
      const { credentials, credentialSource } = resolveS3Settings(s, e);
      return { credentials, credentialSource };
    };
    expect(creds({ ...spec, accessKeyId: "spec-id", secretAccessKey: "spec-secret" }, env)).toEqual({
      credentials: { accessKeyId: "spec-id", secretAccessKey: "spec-secret" },
      credentialSource: "spec",
    });
    expect(creds(spec, env)).toEqual({
      credentials: { accessKeyId: "aws-id", secretAccessKey: "aws-secret", sessionToken: "aws-token" },
      credentialSource: "AWS_*",
    });
    const { AWS_ACCESS_KEY_ID: _a, AWS_SECRET_ACCESS_KEY: _b, AWS_SESSION_TOKEN: _c, ...litestreamOnly } = env;
    expect(creds(spec, litestreamOnly)).toEqual({ credentials: { accessKeyId: "ls-id", secretAccessKey: "ls-secret" }, credentialSource: "LITESTREAM_*" });
    expect(creds(spec, { AWS_ACCESS_KEY_ID: "", LITESTREAM_SECRET_ACCESS_KEY: " " })).toEqual({ credentials: undefined, credentialSource: "sdk-default-chain" });
  });

  it("refuses a missing bucket, half a credential pair and a spec of another type, naming what is wrong", () => {
    expect(invalid(() => resolveS3Settings({ type: "s3", path: "db" }, noEnv)).message).toMatch(/no bucket.*"bucket".*s3:\/\/BUCKET/);
    expect(invalid(() => createS3ReplicaClient({ type: "s3", url: "s3:///db" }, { env: noEnv })).message).toContain("(s3:///db)");
    expect(invalid(() => resolveS3Settings({ type: "s3", bucket: "b", accessKeyId: "id" }, noEnv)).message).toContain("secret-access-key is missing");
    expect(invalid(() => resolveS3Settings({ type: "s3", bucket: "b" }, { LITESTREAM_SECRET_ACCESS_KEY: "s" })).message).toContain(
      "LITESTREAM_SECRET_ACCESS_KEY is set but neither LITESTREAM_ACCESS_KEY_ID nor AWS_ACCESS_KEY_ID is",
    );
    expect(invalid(() => resolveS3Settings({ type: "file", path: "/tmp" }, noEnv)).message).toContain('type "file"');
  });

  it("builds a client with the region, endpoint and path style resolved", async () => {
    const client = createS3Client(resolveS3Settings(parseS3Url("s3://b/p?endpoint=http://127.0.0.1:9&region=eu-north-1"), noEnv));
    try {
      expect(await client.config.region()).toBe("eu-north-1");
      expect(client.config.forcePathStyle).toBe(true);
      expect(await client.config.requestChecksumCalculation()).toBe("WHEN_REQUIRED");
      const endpoint = await client.config.endpoint?.();
      expect([endpoint?.protocol, endpoint?.hostname, endpoint?.port]).toEqual(["http:", "127.0.0.1", 9]);
    } finally {
      client.destroy();
    }
  });
});

describe("createS3ReplicaClient against the S3 server", () => {
  const good = { id: s3.accessKeyId, secret: s3.secretAccessKey };
  const bad = { id: "AKIAWRONG", secret: "wrong" };

  async function roundTrip(env: NodeJS.ProcessEnv, prefix: string) {
    const registry = new ReplicaRegistry([s3Backend]).register("s3", (spec) => createS3ReplicaClient(spec, { env }));
    const client = registry.create(s3.url(prefix));
    try {
      expect(client.type).toBe("s3");
      expect(client.location).toBe(`s3://${s3.bucket}/${prefix}`);
      await client.writeLtxFile({ level: 0, minTXID: 1, maxTXID: 1 }, ltxFile(1, 1));
      const files = [];
      for await (const f of client.ltxFiles(0)) files.push(f.minTXID);
      return files;
    } finally {
      (client.store as S3ObjectStore).destroy();
    }
  }

  it("signs with AWS_* over LITESTREAM_*, and with LITESTREAM_* when AWS_* is unset (the server checks signatures)", async () => {
    const env = { AWS_ACCESS_KEY_ID: good.id, AWS_SECRET_ACCESS_KEY: good.secret, LITESTREAM_ACCESS_KEY_ID: bad.id, LITESTREAM_SECRET_ACCESS_KEY: bad.secret };
    expect(await roundTrip(env, "settings/aws-over-litestream")).toEqual([1]);
    expect(await roundTrip({ LITESTREAM_ACCESS_KEY_ID: good.id, LITESTREAM_SECRET_ACCESS_KEY: good.secret }, "settings/litestream-env")).toEqual([1]);
  });

  it("signs with AWS_* alone, and fails clearly (io, not retryable) on wrong keys", async () => {
    expect(await roundTrip({ AWS_ACCESS_KEY_ID: good.id, AWS_SECRET_ACCESS_KEY: good.secret }, "settings/aws-env")).toEqual([1]);
    const error = await rejection(roundTrip({ AWS_ACCESS_KEY_ID: bad.id, AWS_SECRET_ACCESS_KEY: bad.secret }, "settings/wrong"));
    expect(isReplicaError(error, "io")).toBe(true);
    expect((error as ReplicaError).retryable).toBe(false);
    expect((error as Error).message).toContain(`cannot write s3://${s3.bucket}/settings/wrong/0000/0000000000000001-0000000000000001.ltx: InvalidAccessKeyId (HTTP 403)`);
  });

  it("registers as the registry's s3 factory and signs with credentials from the spec", async () => {
    const registry = new ReplicaRegistry([s3Backend]).register("s3", createS3ReplicaClient);
    const replica = registry.create({
      type: "s3",
      bucket: s3.bucket,
      path: "settings/spec-credentials",
      endpoint: s3.endpoint,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    });
    try {
      await replica.writeLtxFile({ level: 1, minTXID: 2, maxTXID: 3 }, ltxFile(2, 3));
      expect((await replica.statLtxFile({ level: 1, minTXID: 2, maxTXID: 3 })).size).toBeGreaterThan(0);
    } finally {
      (replica.store as S3ObjectStore).destroy();
    }
  });

  it("uses an injected client as it is", async () => {
    const client = s3.client();
    try {
      const replica = createS3ReplicaClient(parseS3Url(`s3://${s3.bucket}/settings/injected`), { client, env: noEnv });
      await replica.writeLtxFile({ level: 3, minTXID: 5, maxTXID: 9 }, ltxFile(5, 9));
      expect((await replica.statLtxFile({ level: 3, minTXID: 5, maxTXID: 9 })).createdAt.getTime()).toBe(1_700_000_000_005);
      (replica.store as S3ObjectStore).destroy(); // not ours: the client stays usable
      expect((await replica.statLtxFile({ level: 3, minTXID: 5, maxTXID: 9 })).size).toBeGreaterThan(0);
    } finally {
      client.destroy();
    }
  });
});
