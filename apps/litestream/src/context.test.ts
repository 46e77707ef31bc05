/** Tests of a command's replica registry: directories served without loading the S3 package, S3 with it, unknown schemes named. */
import { describe, expect, it } from "vitest";
import { isReplicaError } from "@sqlrep/replica";
import { createRegistry, urlType } from "./context.js";

describe("the replica registry of a command", () => {
  it("serves directories without loading the S3 package, and S3 with it; an unknown scheme names the supported ones either way", async () => {
    const files = await createRegistry(["file"]);
    expect(files.create("/tmp/somewhere").type).toBe("file");
    let err: unknown;
    try {
      files.create("s3://bucket/db");
    } catch (e) {
      err = e;
    }
    expect(isReplicaError(err, "unsupported-scheme")).toBe(true);
    expect((await createRegistry(["file", "s3"])).create("s3://bucket/db").type).toBe("s3");
    expect(() => files.create("oss://bucket/db")).toThrow(/oss:\/\/ is not supported by sqlrep yet \(supported: file, s3, /);
  });

  it("reads a replica type from a URL's scheme, a plain path being a directory", () => {
    expect(urlType("S3://bucket/db")).toBe("s3");
    expect(urlType("file:///var/backups/db")).toBe("file");
    expect(urlType("/var/backups/db")).toBe("file");
  });
});
