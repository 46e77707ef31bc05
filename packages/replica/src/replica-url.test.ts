import { describe, expect, it } from "vitest";
import { isReplicaError } from "./errors.js";
import { s3Layout, directoryLayout, cleanPrefix } from "./layout.js";
import { ReplicaRegistry } from "./registry.js";
import { parseReplicaUrl } from "./replica-url.js";

describe("parseReplicaUrl", () => {
  it("reads plain paths and file URLs as directory replicas", () => {
    expect(parseReplicaUrl("/var/backups/db")).toMatchObject({ type: "file", path: "/var/backups/db" });
    expect(parseReplicaUrl("relative/dir")).toMatchObject({ type: "file", path: "relative/dir" });
    expect(parseReplicaUrl("file:///var/backups/my%20db")).toMatchObject({ type: "file", path: "/var/backups/my db" });
  });

  it("reads S3 URLs with Litestream's query parameters in both spellings", () => {
    expect(parseReplicaUrl("s3://mybucket/db/prod/?endpoint=http://127.0.0.1:9000&region=eu-west-1&force-path-style=true")).toMatchObject({
      type: "s3",
      bucket: "mybucket",
      path: "db/prod",
      endpoint: "http://127.0.0.1:9000",
      region: "eu-west-1",
      forcePathStyle: true,
    });
    expect(parseReplicaUrl("s3://b?forcePathStyle=false&skipVerify=1")).toMatchObject({ bucket: "b", path: "", forcePathStyle: false, skipVerify: true });
    expect(parseReplicaUrl("s3://b.s3.us-west-2.amazonaws.com/x")).toMatchObject({ bucket: "b", region: "us-west-2", path: "x" });
    expect(parseReplicaUrl("s3://b.localhost:9000/x")).toMatchObject({ bucket: "b", endpoint: "http://localhost:9000", forcePathStyle: true });
  });

  it("names unsupported schemes and unknown query parameters", () => {
    for (const scheme of ["gs", "gcs", "abs", "sftp", "nats", "webdav"]) {
      let error: unknown;
      try {
        parseReplicaUrl(`${scheme}://host/path`);
      } catch (err) {
        error = err;
      }
      expect(isReplicaError(error, "unsupported-scheme")).toBe(true);
      expect((error as Error).message).toContain(`${scheme}://`);
      expect((error as Error).message).toContain("not supported");
    }
    expect(() => parseReplicaUrl("s3://b/x?regoin=us")).toThrow(/unknown query parameter "regoin"/);
    expect(() => parseReplicaUrl("s3://b/x?force-path-style=maybe")).toThrow(/not a boolean/);
    expect(() => parseReplicaUrl("ftp://x/y")).toThrow(/unknown replica scheme ftp/);
    expect(() => parseReplicaUrl("")).toThrow(/empty/);
  });
});

describe("layouts", () => {
  it("match Litestream v0.5's keys", () => {
    expect(s3Layout("db").levelPrefix(0)).toBe("db/0000/");
    expect(s3Layout("db").levelPrefix(9)).toBe("db/0009/");
    expect(s3Layout("").levelPrefix(10 - 1)).toBe("/0009/");
    expect(s3Layout("a/b").legacyRoot).toBe("a/b/");
    expect(directoryLayout().levelPrefix(9)).toBe("ltx/9/");
    expect(cleanPrefix("/a//b/./c/../d/")).toBe("a/b/d");
  });
});

describe("ReplicaRegistry", () => {
  it("builds the directory client and refuses types it has no factory for", () => {
    const registry = new ReplicaRegistry();
    expect(registry.create("/tmp/x").type).toBe("file");
    expect(() => registry.create("s3://bucket/x")).toThrow(/replica type "s3" is not available/);
  });
});
