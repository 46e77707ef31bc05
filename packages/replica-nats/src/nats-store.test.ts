// The JetStream object store against a real nats-server: Litestream's object names and
// timestamp header, exact ranged reads over chunks, reads that fetch only the chunks needed.
import { afterAll, describe, expect, it } from "vitest";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { Objm, type ObjectStore } from "@nats-io/obj";
import { isReplicaError, readObject, type ReplicaClient, type ReplicaError } from "@sqlrep/replica";
import { ltxFile } from "@sqlrep/replica/conformance";
import { natsUnavailableReason, startNatsServer, type NatsServer } from "@sqlrep/testkit";
import { parseNatsUrl, type NatsSpec } from "./backend.js";
import { createNatsReplicaClient } from "./replica.js";
import type { NatsObjectStore } from "./nats-store.js";

const unavailable = natsUnavailableReason();
const server: NatsServer | undefined = unavailable === undefined ? await startNatsServer() : undefined;
let admin: NatsConnection | undefined;
afterAll(async () => {
  await admin?.close();
  await server?.stop();
}, 30_000);

let buckets = 0;
/** A fresh bucket (Litestream's NATS replicas need one made beforehand) and a raw view of it. */
async function freshBucket(): Promise<{ name: string; raw: ObjectStore }> {
  admin ??= await connect({ servers: server!.url });
  const name = `store-${++buckets}`;
  return { name, raw: await new Objm(admin).create(name) };
}

function client(spec: NatsSpec): ReplicaClient & AsyncDisposable {
  const c = createNatsReplicaClient(spec);
  return Object.assign(c, { [Symbol.asyncDispose]: () => (c.store as NatsObjectStore).destroy() });
}

async function failure(promise: Promise<unknown>): Promise<ReplicaError> {
  const err = await promise.then(
    () => expect.unreachable("expected a ReplicaError"),
    (e: unknown) => e,
  );
  expect(isReplicaError(err), String(err)).toBe(true);
  return err as ReplicaError;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const ref = (level: number, min: number, max = min) => ({ level, minTXID: min, maxTXID: max });

describe.skipIf(server === undefined)(`nats store against nats-server -js${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  it("writes Litestream's objects: ltx/<level>/<min>-<max>.ltx with a Litestream-Timestamp header (RFC3339Nano)", async () => {
    const { name, raw } = await freshBucket();
    await using replica = client(parseNatsUrl(`${server!.url}/${name}`));
    const bytes = ltxFile(7, 9, 3, Date.UTC(2024, 4, 6, 7, 8, 9, 340));
    await replica.writeLtxFile(ref(9, 7, 9), bytes);
    const info = await raw.info("ltx/9/0000000000000007-0000000000000009.ltx");
    expect(info?.headers?.get("Litestream-Timestamp")).toBe("2024-05-06T07:08:09.34Z");
    expect(info?.size).toBe(bytes.length);
    expect(Buffer.compare((await raw.getBlob("ltx/9/0000000000000007-0000000000000009.ltx"))!, bytes)).toBe(0);
    expect((await replica.statLtxFile(ref(9, 7, 9))).createdAt.getTime()).toBe(Date.UTC(2024, 4, 6, 7, 8, 9, 340));
    expect(replica.location).toBe(`${server!.url}/${name}`);
  });

  it("reads what another client put (many small chunks) by any byte range, exactly", async () => {
    const { name, raw } = await freshBucket();
    await using replica = client(parseNatsUrl(`${server!.url}/${name}`));
    const bytes = ltxFile(1, 1, 60);
    const h = headers();
    h.set("Litestream-Timestamp", "2023-06-07T08:09:10.123456789Z");
    await raw.putBlob({ name: "ltx/0/0000000000000001-0000000000000001.ltx", headers: h, options: { max_chunk_size: 1000 } }, bytes);
    const file = ref(0, 1);
    expect((await collect(replica.ltxFiles(0, { useMetadata: true })))[0]!.createdAt.getTime()).toBe(Date.UTC(2023, 5, 7, 8, 9, 10, 123));
    let seed = 17;
    const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let i = 0; i < 25; i++) {
      const offset = random(bytes.length);
      const length = random(bytes.length - offset + 1);
      expect(Buffer.compare(await replica.readLtxRange(file, offset, length), bytes.subarray(offset, offset + length)), `range ${offset}+${length}`).toBe(0);
    }
    for (const [offset, length] of [
      [0, 1000],
      [999, 2],
      [1000, 1000],
      [bytes.length - 1, 1],
      [bytes.length, 0],
    ] as const) {
      expect(Buffer.compare(await replica.readLtxRange(file, offset, length), bytes.subarray(offset, offset + length))).toBe(0);
    }
    expect(Buffer.compare(await readObject(replica.store, "ltx/0/0000000000000001-0000000000000001.ltx"), bytes)).toBe(0);
  });

  it("a ranged read near the end transfers the chunks it needs and their sizes, not the object", async () => {
    const { name } = await freshBucket();
    const spec = parseNatsUrl(`${server!.url}/${name}`);
    await using writer = client(spec);
    const bytes = ltxFile(1, 1, 4096); // ~4 MiB: 33 chunks of 128 KiB
    await writer.writeLtxFile(ref(0, 1), bytes);
    const nc = await connect({ servers: server!.url });
    try {
      // The store's own connection is private: count what a reader on a connection of ours receives.
      const { NatsObjectStore } = await import("./nats-store.js");
      const { NatsLink } = await import("./connection.js");
      const { resolveNatsSettings } = await import("./settings.js");
      const link = new NatsLink(resolveNatsSettings(spec));
      const store = new NatsObjectStore({ link });
      try {
        const key = "ltx/0/0000000000000001-0000000000000001.ltx";
        await store.head(key); // connect before counting
        const before = (await link.open()).nc.stats().inBytes;
        const tail = await readObject(store, key, { offset: bytes.length - 100, length: 100 });
        const received = (await link.open()).nc.stats().inBytes - before;
        expect(Buffer.compare(tail, bytes.subarray(-100))).toBe(0);
        expect(received).toBeLessThan(2 * 128 * 1024 + 64 * 1024);
        expect(received).toBeGreaterThan(100);
      } finally {
        await link.close();
      }
    } finally {
      await nc.close();
    }
  });

  it("creates only when asked: JetStream refuses the second create, also between racing writers, and after a delete allows it again", async () => {
    const { name, raw } = await freshBucket();
    const spec = parseNatsUrl(`${server!.url}/${name}`);
    await using a = client(spec);
    await using b = client(spec);
    const results = await Promise.allSettled([
      a.writeLtxFile(ref(0, 1), ltxFile(1, 1, 40), { ifNotExists: true }),
      b.writeLtxFile(ref(0, 1), ltxFile(1, 1, 41), { ifNotExists: true }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    const refused = results.find((r): r is PromiseRejectedResult => r.status === "rejected")!.reason as ReplicaError;
    expect(refused).toMatchObject({ code: "exists", key: "ltx/0/0000000000000001-0000000000000001.ltx" });
    const kept = (await raw.info("ltx/0/0000000000000001-0000000000000001.ltx"))!;
    expect([ltxFile(1, 1, 40).length, ltxFile(1, 1, 41).length]).toContain(kept.size);
    expect(await failure(a.writeLtxFile(ref(0, 1), ltxFile(1, 1), { ifNotExists: true }))).toMatchObject({ code: "exists" });
    // Overwrites are still allowed without create-only.
    await a.writeLtxFile(ref(0, 1), ltxFile(1, 1, 2));
    await a.deleteLtxFiles([ref(0, 1)]);
    await a.writeLtxFile(ref(0, 1), ltxFile(1, 1, 3), { ifNotExists: true });
    expect((await a.statLtxFile(ref(0, 1))).size).toBe(ltxFile(1, 1, 3).length);
    // No chunks of the refused or replaced versions are left behind.
    const status = await raw.status();
    expect(status.size).toBeLessThan(ltxFile(1, 1, 3).length + 4096);
  });

  it("keeps a prefix's objects apart from the bucket root's (nats://HOST/BUCKET/PREFIX)", async () => {
    const { name, raw } = await freshBucket();
    await using root = client(parseNatsUrl(`${server!.url}/${name}`));
    await using prefixed = client(parseNatsUrl(`${server!.url}/${name}/tenants/acme`));
    await root.writeLtxFile(ref(0, 1), ltxFile(1, 1));
    await prefixed.writeLtxFile(ref(0, 2), ltxFile(2, 2));
    expect((await collect(root.ltxFiles(0))).map((f) => f.minTXID)).toEqual([1]);
    expect((await collect(prefixed.ltxFiles(0))).map((f) => f.minTXID)).toEqual([2]);
    expect((await raw.list()).map((o) => o.name).sort()).toEqual(["ltx/0/0000000000000001-0000000000000001.ltx", "tenants/acme/ltx/0/0000000000000002-0000000000000002.ltx"]);
  });

  it("names a bucket that does not exist instead of creating it (Litestream needs it made beforehand)", async () => {
    await using replica = client(parseNatsUrl(`${server!.url}/no-such-bucket`));
    const error = await failure(collect(replica.ltxFiles(0)));
    expect(error).toMatchObject({ code: "io", retryable: false });
    expect(error.message).toContain('object store bucket "no-such-bucket" does not exist');
    expect(error.message).toContain("nats object add no-such-bucket");
  });

  describe("when the server dies", () => {
    it("fails the write in flight with a retryable error naming the file, and carries on once it is back", async () => {
      const { name } = await freshBucket();
      await admin!.close();
      admin = undefined;
      await using replica = client({ ...parseNatsUrl(`${server!.url}/${name}`), timeout: 1_000, reconnectWait: 100 });
      await replica.writeLtxFile(ref(0, 1), ltxFile(1, 1));
      const bytes = ltxFile(2, 2, 2000);
      async function* killedHalfway(): AsyncIterable<Uint8Array> {
        yield bytes.subarray(0, 500_000);
        await server!.kill();
        yield bytes.subarray(500_000);
      }
      const error = await failure(replica.writeLtxFile(ref(0, 2), killedHalfway()));
      expect(error).toMatchObject({ code: "io", retryable: true, key: "ltx/0/0000000000000002-0000000000000002.ltx" });
      await server!.restart();
      // The client reconnects by itself (max-reconnects -1); the store is where it was.
      await expect
        .poll(
          () =>
            replica.writeLtxFile(ref(0, 2), bytes).then(
              () => true,
              () => false,
            ),
          { timeout: 10_000, interval: 200 },
        )
        .toBe(true);
      expect((await collect(replica.ltxFiles(0))).map((f) => f.minTXID)).toEqual([1, 2]);
    }, 30_000);

    it("fails a read cut mid-stream with a retryable error naming the file", async () => {
      const { name } = await freshBucket();
      await admin!.close();
      admin = undefined;
      await using replica = client({ ...parseNatsUrl(`${server!.url}/${name}`), timeout: 1_000, reconnectWait: 100 });
      await replica.writeLtxFile(ref(0, 1), ltxFile(1, 1, 4000));
      const body = await replica.openLtxFile(ref(0, 1));
      const error = await failure(
        (async () => {
          let first = true;
          for await (const _ of body) {
            if (first) await server!.kill();
            first = false;
          }
        })(),
      );
      expect(error).toMatchObject({ code: "io", retryable: true, key: "ltx/0/0000000000000001-0000000000000001.ltx" });
      await server!.restart();
      await expect
        .poll(
          () =>
            replica.statLtxFile(ref(0, 1)).then(
              (f) => f.size,
              () => 0,
            ),
          { timeout: 10_000, interval: 200 },
        )
        .toBeGreaterThan(4_000_000);
    }, 30_000);
  });
});
