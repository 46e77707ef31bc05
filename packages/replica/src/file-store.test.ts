/** Tests of the directory replica: the conformance suite, Litestream's `ltx/<level>/` layout and mtimes, atomic writes, keys kept inside the root. */
import { readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "@sqlrep/testkit";
import { describeReplicaClient, ltxFile } from "./conformance.js";
import { FileObjectStore } from "./file-store.js";
import { isReplicaError } from "./errors.js";
import { createFileReplicaClient } from "./file-replica.js";

describeReplicaClient("file", async () => {
  const dir = tempDir("sqlrep-file-replica-");
  return { client: createFileReplicaClient(dir.path), cleanup: async () => dir.remove() };
});

describe("file replica specifics", () => {
  it("uses Litestream's ltx/<level>/ layout and sets mtime to the LTX timestamp", async () => {
    using dir = tempDir();
    const client = createFileReplicaClient(dir.path);
    const timestamp = new Date(Date.UTC(2025, 1, 3, 4, 5, 6, 789));
    await client.writeLtxFile({ level: 9, minTXID: 1, maxTXID: 0x2a }, ltxFile(1, 0x2a), { timestamp });
    const path = join(dir.path, "ltx", "9", "0000000000000001-000000000000002a.ltx");
    expect((await stat(path)).mtime.getTime()).toBe(timestamp.getTime());
  });

  it("never shows a file that is still being written, and leaves no temp file behind", async () => {
    using dir = tempDir();
    const client = createFileReplicaClient(dir.path);
    const body = ltxFile(1, 1, 64);
    let listedDuringWrite: number | undefined;
    async function* slow(): AsyncIterable<Uint8Array> {
      yield body.subarray(0, 100);
      listedDuringWrite = 0;
      for await (const _ of client.ltxFiles(0)) listedDuringWrite++;
      yield body.subarray(100);
    }
    await client.writeLtxFile({ level: 0, minTXID: 1, maxTXID: 1 }, slow());
    expect(listedDuringWrite).toBe(0);
    expect(await readdir(join(dir.path, "ltx", "0"))).toEqual(["0000000000000001-0000000000000001.ltx"]);
  });

  it("lists with a delimiter, in byte order, from a seek key", async () => {
    using dir = tempDir();
    const store = new FileObjectStore(dir.path);
    for (const key of ["a/b/c", "a/b/d", "a/e", "a-z", "b", "a/f/g/h"]) await store.write(key, new Uint8Array([1]));
    const entries: unknown[] = [];
    for await (const e of store.list("a/", { delimiter: "/" })) entries.push("key" in e ? e.key : e.prefix);
    expect(entries).toEqual(["a/b/", "a/e", "a/f/"]);
    const all: string[] = [];
    for await (const e of store.list("", { startAfter: "a/b/c" })) if ("key" in e) all.push(e.key);
    expect(all).toEqual(["a/b/d", "a/e", "a/f/g/h", "b"]);
  });

  it("refuses keys that climb out of the directory", async () => {
    using dir = tempDir();
    const store = new FileObjectStore(dir.path);
    await expect(store.write("../escape", new Uint8Array(1))).rejects.toSatisfy((e: unknown) => isReplicaError(e, "invalid-url"));
  });

  it("reports a read past the end as an error and a range as exact bytes", async () => {
    using dir = tempDir();
    const store = new FileObjectStore(dir.path);
    await writeFile(join(dir.path, "x"), new Uint8Array([1, 2, 3, 4]));
    const chunks: Uint8Array[] = [];
    for await (const c of await store.read("x", { offset: 1, length: 2 })) chunks.push(c);
    expect(Buffer.concat(chunks)).toEqual(Buffer.from([2, 3]));
    await expect(store.read("x", { offset: 9 })).rejects.toSatisfy((e: unknown) => isReplicaError(e, "io"));
  });
});
