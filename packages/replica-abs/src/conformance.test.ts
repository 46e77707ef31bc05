/** The ReplicaClient conformance suite and ABS specifics (metadata, If-None-Match, listing) against a real Azurite server. */
import { afterAll, describe, expect, it } from "vitest";
import { isObjectInfo } from "@sqlrep/replica";
import { describeReplicaClient, ltxFile } from "@sqlrep/replica/conformance";
import { startAzurite } from "@sqlrep/testkit";
import { parseAbsUrl } from "./backend.js";
import { createAbsReplicaClient, createBlobServiceClient } from "./replica.js";
import { resolveAbsSettings } from "./settings.js";
import type { AbsObjectStore } from "./abs-store.js";

const azurite = await startAzurite();
afterAll(() => azurite.stop(), 30_000);
const env = { LITESTREAM_AZURE_ACCOUNT_KEY: azurite.accountKey };
const service = createBlobServiceClient(resolveAbsSettings(parseAbsUrl(azurite.url("replicas", "x")), env));
await service.getContainerClient("replicas").createIfNotExists();

let run = 0;
describeReplicaClient("abs (Azurite, a fresh prefix per test)", async () => {
  const client = createAbsReplicaClient(parseAbsUrl(azurite.url("replicas", `conformance/run-${++run}/db`)), { env });
  return { client, cleanup: () => client.deleteAll() };
});

describe("abs specifics", () => {
  it("writes Litestream's keys and litestreamtimestamp metadata, listed with the blobs", async () => {
    const client = createAbsReplicaClient(parseAbsUrl(azurite.url("replicas", "layout/db")), { env });
    const stamp = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 670));
    await client.writeLtxFile({ level: 9, minTXID: 1, maxTXID: 7 }, ltxFile(1, 7), { timestamp: stamp });
    const props = await service.getContainerClient("replicas").getBlobClient("layout/db/ltx/9/0000000000000001-0000000000000007.ltx").getProperties();
    expect(props.metadata).toEqual({ litestreamtimestamp: "2024-01-02T03:04:05.67Z" });
    const listed = [];
    for await (const e of client.store.list("layout/db/ltx/9/")) if (isObjectInfo(e)) listed.push(e);
    expect(listed.map((e) => [e.key, e.timestamp?.getTime()])).toEqual([["layout/db/ltx/9/0000000000000001-0000000000000007.ltx", stamp.getTime()]]);
    await client.deleteAll();
  });

  it("refuses a create-only write over an existing blob with If-None-Match (the blob is unchanged)", async () => {
    const client = createAbsReplicaClient(parseAbsUrl(azurite.url("replicas", "create-only/db")), { env });
    const ref = { level: 0, minTXID: 3, maxTXID: 3 };
    const first = ltxFile(3, 3, 1);
    await client.writeLtxFile(ref, first, { ifNotExists: true });
    await expect(client.writeLtxFile(ref, ltxFile(3, 3, 2), { ifNotExists: true })).rejects.toMatchObject({ name: "ReplicaError", code: "exists" });
    // A streamed (staged-block) create-only write is refused at commit too.
    async function* chunks() {
      yield ltxFile(3, 3, 5000);
    }
    await expect(client.writeLtxFile(ref, chunks(), { ifNotExists: true })).rejects.toMatchObject({ code: "exists" });
    expect(Buffer.compare(await client.readLtxRange(ref, 0, first.length), first)).toBe(0);
    expect((await client.statLtxFile(ref)).size).toBe(first.length);
    await client.deleteAll();
  });

  it("lists with a delimiter and startAfter in key order, and reads from the very end as empty", async () => {
    const store = createAbsReplicaClient(parseAbsUrl(azurite.url("replicas", "x")), { env }).store as AbsObjectStore;
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
    await store.delete(["d/a", "d/b/1", "d/b/2", "d/c", "d/e/1", "d/none"]);
  });
});
