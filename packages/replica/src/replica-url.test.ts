/** Unit tests of replica URLs and layouts: paths and file URLs, unsupported schemes and parameters, Litestream v0.5's keys, the backend registry. */
import { describe, expect, it } from "vitest";
import { isReplicaError } from "./errors.js";
import { s3Layout, directoryLayout, cleanPrefix } from "./layout.js";
import type { ReplicaBackend } from "./backend.js";
import { createFileReplicaClient } from "./file-replica.js";
import { ReplicaRegistry } from "./registry.js";
import { parseReplicaUrl } from "./replica-url.js";

describe("parseReplicaUrl", () => {
  it("reads plain paths and file URLs as directory replicas", () => {
    expect(parseReplicaUrl("/var/backups/db")).toMatchObject({ type: "file", path: "/var/backups/db" });
    expect(parseReplicaUrl("relative/dir")).toMatchObject({ type: "file", path: "relative/dir" });
    expect(parseReplicaUrl("file:///var/backups/my%20db")).toMatchObject({ type: "file", path: "/var/backups/my db" });
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
    expect(() => parseReplicaUrl("file:///x?regoin=us")).toThrow(/unknown query parameter "regoin"/);
    expect(() => parseReplicaUrl("file://host/x")).toThrow(/must not name a host/);
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
  it("builds the directory client and refuses types it has no backend for, or has not loaded", async () => {
    const registry = new ReplicaRegistry();
    expect(registry.create("/tmp/x").type).toBe("file");
    expect(() => registry.create("s3://bucket/x")).toThrow(/unknown replica scheme s3:\/\/ .*\(supported: file\)/);
    expect(() => registry.create({ type: "s3", path: "x" })).toThrow(/replica type "s3" is not available \(available: file\)/);
    let loads = 0;
    const memory: ReplicaBackend = {
      type: "mem",
      schemes: ["mem"],
      keys: { size: { kind: "integer", doc: "How many." } },
      parseUrl: (url, text) => ({ type: "mem", path: url.pathname, url: text }),
      location: (spec) => `mem:${String(spec.path)}`,
      async load() {
        loads++;
        return (spec) => createFileReplicaClient(String(spec.path));
      },
    };
    const both = new ReplicaRegistry([memory]);
    expect(both.backends.map((b) => b.type)).toEqual(["file", "mem"]);
    expect(() => both.create("mem:///tmp/y")).toThrow(/replica type "mem" is not loaded/);
    await both.load(["file"]);
    expect(loads).toBe(0);
    await both.load(["mem", "mem"]);
    expect(loads).toBe(1);
    expect(both.create("mem:///tmp/y").location).toContain("/tmp/y");
    expect(() => both.create("gs://b/x")).toThrow(/gs:\/\/ is not supported by sqlrep yet \(supported: file, mem\)/);
  });
});
