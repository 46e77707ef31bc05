import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { isReplicaError, parseReplicaUrl, ReplicaRegistry } from "@sqlrep/replica";
import { parseS3Url, s3Backend } from "./backend.js";

const here = dirname(fileURLToPath(import.meta.url));

describe("the s3 backend", () => {
  it("reads S3 URLs with Litestream's query parameters in both spellings", () => {
    expect(parseS3Url("s3://mybucket/db/prod/?endpoint=http://127.0.0.1:9000&region=eu-west-1&force-path-style=true")).toMatchObject({
      type: "s3",
      bucket: "mybucket",
      path: "db/prod",
      endpoint: "http://127.0.0.1:9000",
      region: "eu-west-1",
      forcePathStyle: true,
    });
    expect(parseS3Url("s3://b?forcePathStyle=false&skipVerify=1")).toMatchObject({ bucket: "b", path: "", forcePathStyle: false, skipVerify: true });
    expect(parseS3Url("s3://b.s3.us-west-2.amazonaws.com/x")).toMatchObject({ bucket: "b", region: "us-west-2", path: "x" });
    expect(parseS3Url("s3://b.localhost:9000/x")).toMatchObject({ bucket: "b", endpoint: "http://localhost:9000", forcePathStyle: true });
  });

  it("names unknown query parameters and bad values", () => {
    expect(() => parseS3Url("s3://b/x?regoin=us")).toThrow(/unknown query parameter "regoin" .*known: endpoint, region/);
    expect(() => parseS3Url("s3://b/x?force-path-style=maybe")).toThrow(/not a boolean/);
    expect(() => parseS3Url("s3:///x")).toThrow(/has no bucket/);
  });

  it("parses through a registry that lists it, and nowhere else", () => {
    expect(parseReplicaUrl("s3://b/x", [s3Backend])).toMatchObject({ type: "s3", bucket: "b" });
    expect(() => parseReplicaUrl("s3://b/x")).toThrow(/unknown replica scheme s3:\/\//);
    expect(new ReplicaRegistry([s3Backend]).parse("s3://b/x")).toMatchObject({ type: "s3", bucket: "b", path: "x" });
  });

  it("completes a config's spec: a bucket is required, a custom endpoint means path style, sizes are bounded", () => {
    let error: unknown;
    try {
      s3Backend.finish!({ type: "s3", path: "x" });
    } catch (err) {
      error = err;
    }
    expect(isReplicaError(error, "invalid-config")).toBe(true);
    expect((error as { key?: string }).key).toBe("bucket");
    expect(s3Backend.finish!({ type: "s3", bucket: "b", path: "/a//b/", endpoint: "http://x" })).toMatchObject({ path: "a/b", forcePathStyle: true });
    expect(s3Backend.finish!({ type: "s3", bucket: "b", endpoint: "http://x", forcePathStyle: false })).toMatchObject({ forcePathStyle: false });
    expect(() => s3Backend.finish!({ type: "s3", bucket: "b", concurrency: 0 })).toThrow(/concurrency 0 is out of range/);
  });

  it("declares its config keys with their kinds, and a location that tells buckets, endpoints and prefixes apart", () => {
    expect(Object.keys(s3Backend.keys)).toEqual(
      expect.arrayContaining(["bucket", "endpoint", "region", "force-path-style", "skip-verify", "access-key-id", "secret-access-key", "part-size", "concurrency"]),
    );
    expect(s3Backend.keys["part-size"]).toMatchObject({ kind: "byte-size", min: 5 * 1024 ** 2, default: 5 * 1024 ** 2 });
    const at = (url: string) => s3Backend.location(parseS3Url(url));
    expect(at("s3://b/x")).toBe(at("s3://b/x/"));
    expect(at("s3://b/x")).not.toBe(at("s3://b/y"));
    expect(at("s3://b/x")).not.toBe(at("s3://c/x"));
    expect(at("s3://b/x?endpoint=http://127.0.0.1:1")).not.toBe(at("s3://b/x?endpoint=http://127.0.0.1:2"));
  });

  it("does not import the AWS SDK until loaded: the static imports of backend.ts never reach it", () => {
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(join(here, file), "utf8");
      for (const [, from] of text.matchAll(/^import\s[^;]*?from\s+"([^"]+)";/gms)) {
        expect(from, `${file} imports ${from}`).not.toMatch(/@aws-sdk/);
        if (from!.startsWith("./")) visit(from!.slice(2).replace(/\.js$/, ".ts"));
      }
    };
    visit("backend.ts");
    expect([...seen].sort()).toEqual(["backend.ts", "limits.ts", "spec.ts"]);
  });

  it("loads the client when asked", async () => {
    const factory = await s3Backend.load();
    const client = factory(parseS3Url("s3://bucket/db?endpoint=http://127.0.0.1:1"), { env: {} });
    expect(client.type).toBe("s3");
    (client.store as { destroy?: () => void }).destroy?.();
  });
});
