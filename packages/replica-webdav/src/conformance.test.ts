/** The ReplicaClient conformance suite and WebDAV specifics (paths on disk, create-only MOVE, listing, bad password) against testkit's real WebDAV server. */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isObjectInfo } from "@sqlrep/replica";
import { describeReplicaClient, ltxFile } from "@sqlrep/replica/conformance";
import { startWebdavServer } from "@sqlrep/testkit";
import { parseWebdavUrl } from "./backend.js";
import { createWebdavReplicaClient } from "./replica.js";

const dav = await startWebdavServer();
afterAll(() => dav.stop(), 30_000);

let run = 0;
describeReplicaClient("webdav (webdav-server, a fresh path per test)", async () => {
  const client = createWebdavReplicaClient(parseWebdavUrl(dav.replicaUrl(`conformance/run-${++run}/db`)), { memoryLimit: 1 << 20 });
  return { client, cleanup: () => client.deleteAll() };
});

describe("webdav specifics", () => {
  it("writes Litestream's paths on the server's disk, and no temp file is left", async () => {
    const client = createWebdavReplicaClient(parseWebdavUrl(dav.replicaUrl("layout/db")));
    const bytes = ltxFile(1, 7);
    await client.writeLtxFile({ level: 9, minTXID: 1, maxTXID: 7 }, bytes);
    const dir = join(dav.root, "layout", "db", "ltx", "9");
    expect(readdirSync(dir)).toEqual(["0000000000000001-0000000000000007.ltx"]);
    expect(Buffer.compare(readFileSync(join(dir, "0000000000000001-0000000000000007.ltx")), bytes)).toBe(0);
  });

  it("refuses a create-only write over an existing file (MOVE with Overwrite: F), leaving it unchanged and no temp file", async () => {
    const client = createWebdavReplicaClient(parseWebdavUrl(dav.replicaUrl("create-only/db")));
    const ref = { level: 0, minTXID: 3, maxTXID: 3 };
    const first = ltxFile(3, 3, 1);
    await client.writeLtxFile(ref, first, { ifNotExists: true });
    await expect(client.writeLtxFile(ref, ltxFile(3, 3, 2), { ifNotExists: true })).rejects.toMatchObject({ name: "ReplicaError", code: "exists" });
    expect(Buffer.compare(await client.readLtxRange(ref, 0, first.length + 10), first)).toBe(0);
    expect(readdirSync(join(dav.root, "create-only", "db", "ltx", "0"))).toEqual(["0000000000000003-0000000000000003.ltx"]);
  });

  it("lists with a delimiter and startAfter in key order, and reads from the very end as empty", async () => {
    const store = createWebdavReplicaClient(parseWebdavUrl(dav.replicaUrl("x"))).store;
    for (const key of ["d/a", "d/b/1", "d/b/2", "d/c", "d/e/1"]) await store.write(key, new TextEncoder().encode(key));
    const keys = [];
    for await (const e of store.list("d/", { delimiter: "/" })) keys.push(isObjectInfo(e) ? e.key : `${e.prefix}*`);
    expect(keys).toEqual(["d/a", "d/b/*", "d/c", "d/e/*"]);
    const after = [];
    for await (const e of store.list("d/", { startAfter: "d/b/1" })) if (isObjectInfo(e)) after.push(e.key);
    expect(after).toEqual(["d/b/2", "d/c", "d/e/1"]);
    const tail = [];
    for await (const c of await store.read("d/a", { offset: 3 })) tail.push(c);
    expect(tail).toEqual([]);
  });

  it("answers a wrong password with an error that says which keys to check", async () => {
    const client = createWebdavReplicaClient({ ...parseWebdavUrl(dav.replicaUrl("auth/db")), webdavPassword: "wrong" });
    const error = await client.statLtxFile({ level: 0, minTXID: 1, maxTXID: 1 }).catch((err: unknown) => err);
    expect(error).toMatchObject({ name: "ReplicaError", code: "io", retryable: false });
    expect((error as Error).message).toMatch(/HTTP 401 .*check webdav-username and webdav-password/);
  });
});
