/** Tests of RecentFilesClient on a real directory replica behind a read-counting store: compaction of files it wrote reads nothing from the replica, and every way a kept copy goes stale drops it. */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir, type TempDir } from "@sqlrep/testkit";
import { compactLevel } from "./compaction.js";
import { FileObjectStore } from "./file-store.js";
import { directoryLayout } from "./layout.js";
import { RecentFilesClient, type RecentFilesOptions } from "./recent-files.js";
import { ltxKey, ObjectReplicaClient, type LtxFileRef, type ReplicaClient } from "./replica-client.js";
import { History, Rng } from "./testing/history.js";
import { InstrumentedStore } from "./testing/instrumented-store.js";

let dir: TempDir;
let store: InstrumentedStore;
let plain: ReplicaClient;
let copiesDirs = 0;

beforeEach(() => {
  dir = tempDir("sqlrep-recent-");
  store = new InstrumentedStore(new FileObjectStore(dir.join("replica")), 0);
  plain = new ObjectReplicaClient(store, directoryLayout());
});
afterEach(() => dir.remove());

function history(n: number): History {
  const h = new History(new Rng(7));
  for (let t = 1; t <= n; t++) h.commitRandom();
  return h;
}

async function readAll(client: ReplicaClient, ref: LtxFileRef): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of await client.openLtxFile(ref)) chunks.push(c);
  return Buffer.concat(chunks);
}

/** A body as a stream of small chunks (what the shipper's uploads are). */
async function* chunked(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  for (let at = 0; at < bytes.length; at += 100) yield bytes.slice(at, at + 100);
}

describe.each(["memory", "directory"] as const)("RecentFilesClient, copies in %s", (where) => {
  /** A client keeping its copies where this run says. */
  const recent = (inner: ReplicaClient, options: RecentFilesOptions = {}) =>
    new RecentFilesClient(inner, { ...options, directory: where === "directory" ? dir.join(`copies-${++copiesDirs}`) : undefined });

  it("compacts the level-0 files it wrote without reading the replica, into the file an uncached compaction writes", async () => {
    const h = history(10);
    const cached = recent(plain);
    for (let t = 1; t <= 10; t++) {
      // Half written as buffers, half as streams.
      const ref = { level: 0, minTXID: t, maxTXID: t };
      await cached.writeLtxFile(ref, t % 2 === 0 ? h.ltx(t, t) : chunked(h.ltx(t, t)));
    }
    const reads = store.reads;
    const out = await compactLevel(cached, 1);
    expect(out).toMatchObject({ level: 1, minTXID: 1, maxTXID: 10 });
    expect(store.reads).toBe(reads);
    expect(cached.hits).toBeGreaterThanOrEqual(10);
    // Byte for byte what a compaction reading the replica writes (another replica, the same files).
    const other = new ObjectReplicaClient(new FileObjectStore(dir.join("other")), directoryLayout());
    for (let t = 1; t <= 10; t++) await h.write(other, 0, t, t);
    const expected = await compactLevel(other, 1);
    expect(Buffer.compare(await readAll(plain, out!), await readAll(other, expected!))).toBe(0);
    // The compaction's own output was kept too: level 2 reads nothing either.
    const before = store.reads;
    expect(await compactLevel(cached, 2)).toMatchObject({ level: 2, minTXID: 1, maxTXID: 10 });
    expect(store.reads).toBe(before);
  });

  it("keeps no copy of a snapshot (compaction never reads one)", async () => {
    const h = history(2);
    const cached = recent(plain);
    const snapshot = { level: 9, minTXID: 1, maxTXID: 2 };
    await cached.writeLtxFile(snapshot, chunked(h.ltx(1, 2)));
    const before = store.reads;
    expect(Buffer.compare(await readAll(cached, snapshot), h.ltx(1, 2))).toBe(0);
    expect(store.reads).toBe(before + 1);
  });

  it("serves ranges and whole files as the replica would, and reads the replica for files it did not write", async () => {
    const h = history(3);
    const cached = recent(plain);
    const a = { level: 0, minTXID: 1, maxTXID: 1 };
    await cached.writeLtxFile(a, h.ltx(1, 1));
    await h.write(plain, 0, 2, 2);
    const reads = store.reads;
    expect(Buffer.compare(await cached.readLtxRange(a, 10, 50), await plain.readLtxRange(a, 10, 50))).toBe(0);
    const part: Uint8Array[] = [];
    for await (const c of await cached.openLtxFile(a, { offset: 5, length: 20 })) part.push(c);
    expect(Buffer.compare(Buffer.concat(part), h.ltx(1, 1).subarray(5, 25))).toBe(0);
    expect(store.reads - reads).toBe(1); // the plain.readLtxRange above
    expect(Buffer.compare(await readAll(cached, { level: 0, minTXID: 2, maxTXID: 2 }), h.ltx(2, 2))).toBe(0);
    expect(store.reads - reads).toBe(2);
  });

  it("drops a copy when it deletes the file, when a listing shows another size, and when a whole listing of the level misses it", async () => {
    const h = history(4);
    const cached = recent(plain);
    const refs = [1, 2, 3].map((t) => ({ level: 0, minTXID: t, maxTXID: t }));
    for (const [i, ref] of refs.entries()) await cached.writeLtxFile(ref, h.ltx(i + 1, i + 1));
    const reads = () => store.reads;

    await cached.deleteLtxFiles([refs[0]!]);
    await expect(cached.openLtxFile(refs[0]!)).rejects.toMatchObject({ code: "not-found" });

    // Replaced behind its back with other bytes of another size: the next listing notices.
    const path = dir.join("replica", ltxKey(directoryLayout(), refs[1]!));
    const replaced = Buffer.concat([h.ltx(2, 2), Buffer.alloc(7)]);
    writeFileSync(path, replaced);
    for await (const _ of cached.ltxFiles(0));
    let before = reads();
    expect(Buffer.compare(await readAll(cached, refs[1]!), replaced)).toBe(0);
    expect(reads()).toBe(before + 1);

    // Deleted behind its back: a full listing of level 0 does not show it.
    await plain.deleteLtxFiles([refs[2]!]);
    for await (const _ of cached.ltxFiles(0));
    before = reads();
    await expect(cached.openLtxFile(refs[2]!)).rejects.toMatchObject({ code: "not-found" });
    expect(reads()).toBe(before + 1);
  });

  it("keeps no file over maxFileBytes, drops the oldest past maxBytes, and keeps the bytes of the last reading of a stream", async () => {
    const h = history(6);
    const sizes = [1, 2, 3, 4, 5, 6].map((t) => h.ltx(t, t).length);
    const cached = recent(plain, { maxBytes: sizes[0]! + sizes[1]! + sizes[2]!, maxFileBytes: Math.max(...sizes) });
    for (let t = 1; t <= 4; t++) await cached.writeLtxFile({ level: 0, minTXID: t, maxTXID: t }, h.ltx(t, t));
    let before = store.reads;
    await readAll(cached, { level: 0, minTXID: 1, maxTXID: 1 }); // the oldest: dropped when 4 came
    expect(store.reads).toBe(before + 1);
    before = store.reads;
    await readAll(cached, { level: 0, minTXID: 4, maxTXID: 4 });
    expect(store.reads).toBe(before);

    const small = recent(plain, { maxFileBytes: 10 });
    await small.writeLtxFile({ level: 0, minTXID: 5, maxTXID: 5 }, chunked(h.ltx(5, 5)));
    before = store.reads;
    await readAll(small, { level: 0, minTXID: 5, maxTXID: 5 });
    expect(store.reads).toBe(before + 1);

    // A writer that reads its body twice: the copy is its second reading, equal to what it stored.
    const twice: ReplicaClient = Object.assign(Object.create(plain) as ReplicaClient, {
      writeLtxFile: async (ref: LtxFileRef, body: AsyncIterable<Uint8Array>) => {
        for await (const _ of body) break; // a first attempt cut short
        return plain.writeLtxFile(ref, body);
      },
    });
    const retrying = recent(twice);
    const bytes = h.ltx(6, 6);
    await retrying.writeLtxFile({ level: 0, minTXID: 6, maxTXID: 6 }, { [Symbol.asyncIterator]: () => chunked(bytes)[Symbol.asyncIterator]() });
    before = store.reads;
    expect(Buffer.compare(await readAll(retrying, { level: 0, minTXID: 6, maxTXID: 6 }), bytes)).toBe(0);
    expect(store.reads).toBe(before);
  });
});

describe("RecentFilesClient in a directory", () => {
  it("empties the directory at start (copies of an earlier process are stale), and removes a copy's file when it drops it", async () => {
    const h = history(2);
    const copies = dir.join("copies");
    mkdirSync(copies, { recursive: true });
    writeFileSync(`${copies}/left-over.ltx`, "stale");
    const cached = new RecentFilesClient(plain, { directory: copies });
    expect(readdirSync(copies)).toEqual([]);
    const ref = { level: 0, minTXID: 1, maxTXID: 1 };
    await cached.writeLtxFile(ref, chunked(h.ltx(1, 1)));
    expect(readdirSync(copies)).toHaveLength(1);
    const before = store.reads;
    expect(Buffer.compare(await readAll(cached, ref), h.ltx(1, 1))).toBe(0);
    expect(store.reads).toBe(before);
    await cached.deleteLtxFiles([ref]);
    expect(readdirSync(copies)).toEqual([]);
    // A copy removed from under it: the replica answers instead.
    await cached.writeLtxFile(ref, h.ltx(1, 1));
    for (const name of readdirSync(copies)) writeFileSync(`${copies}/${name}`, "");
    expect(existsSync(copies)).toBe(true);
    expect(Buffer.compare(await readAll(cached, ref), h.ltx(1, 1))).toBe(0);
    expect(store.reads).toBe(before + 1);
  });
});
