/** Tests of restoreLegacy over hand-made v0.3 replicas: targets, segment order, missing or damaged objects, unfinished transactions, broken chains. */
import { copyFileSync, existsSync, readdirSync, readFileSync, renameSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir, type TempDir } from "@sqlrep/testkit";
import { isReplicaError } from "../errors.js";
import type { FileObjectStore } from "../file-store.js";
import { createFileReplicaClient } from "../file-replica.js";
import type { ReplicaClient } from "../replica-client.js";
import { LegacyReplicaBuilder } from "../testing/legacy-builder.js";
import { listLegacyReplica } from "./listing.js";
import { planLegacyRestore } from "./plan.js";
import { restoreLegacy, type LegacyRestoreOptions, type LegacyRestoreResult } from "./restore.js";

let dir: TempDir;
let client: ReplicaClient;
let store: FileObjectStore;
let outputs = 0;

beforeEach(() => {
  dir = tempDir("sqlrep-legacy-restore-");
  client = createFileReplicaClient(dir.join("replica"));
  store = client.store as FileObjectStore;
});
afterEach(() => dir.remove());

const T0 = Date.UTC(2025, 0, 1);
const at = (s: number): Date => new Date(T0 + s * 1000);

async function restored(options: Partial<LegacyRestoreOptions> = {}): Promise<{ bytes: Uint8Array; result: LegacyRestoreResult }> {
  const output = dir.join(`out-${outputs++}.db`);
  const result = await restoreLegacy(client, { output, ...options });
  return { bytes: new Uint8Array(readFileSync(output)), result };
}

async function failure(promise: Promise<unknown>): Promise<Error & { code?: string; key?: string; offset?: number }> {
  return promise.then(
    () => {
      throw new Error("expected the restore to fail");
    },
    (err: unknown) => err as Error & { code?: string },
  );
}

function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  expect(Buffer.compare(actual, expected), "restored bytes differ from the model").toBe(0);
}

/**
 * Two generations. A: empty snapshot at index 0, WAL 0 in two segments, a checkpoint,
 * WAL 1 with a snapshot taken in the middle of it, WAL 2. B: a snapshot, then a grow
 * and a shrink. Returns the commit numbers.
 */
async function history(b: LegacyReplicaBuilder) {
  const a = b.startGeneration("aaaaaaaaaaaaaaaa");
  await b.snapshot(at(1));
  const k1 = b.commit([1, 2, 3]);
  await b.sync(at(2));
  b.commit([2]);
  const k3 = b.commit([3, 4]);
  await b.sync(at(3));
  b.checkpoint();
  const k4 = b.commit([1, 5]);
  await b.sync(at(4));
  await b.snapshot(at(5));
  const k5 = b.commit([2]);
  await b.sync(at(6));
  b.checkpoint();
  const k6 = b.commit([3]);
  await b.sync(at(7));
  const g = b.startGeneration("bbbbbbbbbbbbbbbb");
  await b.snapshot(at(10));
  const k7 = b.commit([1, 2]);
  await b.sync(at(11));
  const k8 = b.commit([7], 7);
  await b.sync(at(12));
  const k9 = b.commit([1], 3);
  await b.sync(at(13));
  return { a, g, k1, k3, k4, k5, k6, k7, k8, k9 };
}

describe("restoreLegacy over hand-made v0.3 replicas", () => {
  it("restores the latest state, a generation, an index and points in time", async () => {
    const b = new LegacyReplicaBuilder(store);
    const h = await history(b);

    const latest = await restored();
    expectBytes(latest.bytes, b.state(h.k9));
    expect(latest.result).toMatchObject({ generation: h.g, snapshotIndex: 0, index: 0, pageSize: 512, pageCount: 3, transactions: 3, segments: 3, discarded: undefined });
    expect(latest.result.timestamp).toEqual(at(13));

    expectBytes((await restored({ target: { generation: h.a } })).bytes, b.state(h.k6));
    const index0 = await restored({ target: { generation: h.a, index: 0 } });
    expectBytes(index0.bytes, b.state(h.k3));
    expect(index0.result).toMatchObject({ snapshotIndex: 0, index: 0 });
    const index1 = await restored({ target: { generation: h.a, index: 1 } });
    expectBytes(index1.bytes, b.state(h.k5));
    expect(index1.result.snapshotIndex).toBe(1); // the snapshot taken inside index 1, then all of WAL 1

    expectBytes((await restored({ target: { timestamp: at(3.5) } })).bytes, b.state(h.k3));
    // Before the second snapshot: from the first, through WAL 0 and the part of WAL 1 uploaded by then.
    const beforeSnap = await restored({ target: { timestamp: at(4.5) } });
    expectBytes(beforeSnap.bytes, b.state(h.k4));
    expect(beforeSnap.result.snapshotIndex).toBe(0);
    const afterSnap = await restored({ target: { timestamp: at(5.5) } });
    expectBytes(afterSnap.bytes, b.state(h.k4));
    expect(afterSnap.result.snapshotIndex).toBe(1);
    expectBytes((await restored({ target: { timestamp: at(9) } })).bytes, b.state(h.k6));
    expectBytes((await restored({ target: { timestamp: at(12.5) } })).bytes, b.state(h.k8));
    expectBytes((await restored({ target: { timestamp: at(10) } })).bytes, b.state(h.k6)); // the snapshot alone
  });

  it("says why a target cannot be reached", async () => {
    const b = new LegacyReplicaBuilder(store);
    const h = await history(b);
    expect(await failure(restored({ target: { timestamp: at(0.5) } }))).toMatchObject({
      code: "txid-not-available",
      message: expect.stringMatching(/earliest snapshot was uploaded at 2025-01-01T00:00:01/),
    });
    expect(await failure(restored({ target: { generation: h.a, index: 3 } }))).toMatchObject({
      code: "txid-not-available",
      message: expect.stringMatching(/WAL index 00000003 is not available in generation a{16}.*highest WAL index is 00000002/),
    });
    expect(await failure(restored({ target: { generation: "cccccccccccccccc" } }))).toMatchObject({
      code: "no-backup",
      message: expect.stringMatching(/generation c{16} not found/),
    });
    expect(await failure(restored({ target: { index: 1 } }))).toMatchObject({ code: "invalid-config" });
    expect(await failure(restored({ target: { generation: h.a, index: 1, timestamp: at(5) } }))).toMatchObject({ code: "invalid-config" });
    expect(await failure(restored({ target: { generation: "AAAAAAAAAAAAAAAA" } }))).toMatchObject({ code: "invalid-config" });
    const empty = createFileReplicaClient(dir.join("empty"));
    expect(await failure(restoreLegacy(empty, { output: dir.join("x.db") }))).toMatchObject({ code: "no-backup" });
  });

  it("sorts offsets numerically and reads 9-digit offsets (v0.3.13 skipped them)", async () => {
    const b = new LegacyReplicaBuilder(store);
    b.startGeneration("aaaaaaaaaaaaaaaa");
    await b.snapshot(at(1));
    b.commit([1, 2]);
    await b.sync(at(2));
    const k = b.commit([2]);
    const key = (await b.sync(at(3)))!;
    expect(key).toMatch(/_00000[0-9a-f]{3}\.wal\.lz4$/);
    const nine = key.replace(/_([0-9a-f]{8})\.wal/, "_0$1.wal");
    renameSync(store.pathOf(key), store.pathOf(nine));
    const { bytes, result } = await restored();
    expectBytes(bytes, b.state(k));
    expect(result.plan.indexes[0]!.segments.map((s) => s.key)).toContain(nine);

    // A 9-digit name beside its 8-digit twin is two objects claiming the same bytes.
    await b.sync(at(4));
    b.commit([1]);
    const next = (await b.sync(at(5)))!;
    copyFileSync(store.pathOf(next), store.pathOf(next.replace(/_([0-9a-f]{8})\.wal/, "_0$1.wal")));
    expect(await failure(restored())).toMatchObject({ code: "corrupt", message: expect.stringMatching(/both hold WAL index 00000000 from offset/) });
  });

  it("fails naming the generation, index and missing bytes when a middle segment is gone", async () => {
    const b = new LegacyReplicaBuilder(store);
    b.startGeneration("aaaaaaaaaaaaaaaa");
    await b.snapshot(at(1));
    b.commit([1, 2]);
    await b.sync(at(2));
    b.commit([2]);
    const middle = (await b.sync(at(3)))!;
    b.commit([1]);
    const after = (await b.sync(at(4)))!;
    unlinkSync(store.pathOf(middle));
    const start = parseInt(/_([0-9a-f]+)\.wal/.exec(middle)![1]!, 16);
    const end = parseInt(/_([0-9a-f]+)\.wal/.exec(after)![1]!, 16);
    const err = await failure(restored());
    expect(err).toMatchObject({ code: "non-contiguous", key: after, offset: start });
    expect(err.message).toContain(`generation aaaaaaaaaaaaaaaa WAL index 00000000`);
    expect(err.message).toContain(`bytes ${start}…${end - 1} are missing`);
    expect(readdirSync(dir.path).filter((f) => f.startsWith("out-"))).toEqual([]); // no output, no temp file
  });

  it("fails when an index lacks its first segment or an index is missing, but ignores indexes before the snapshot", async () => {
    const b = new LegacyReplicaBuilder(store);
    b.startGeneration("aaaaaaaaaaaaaaaa");
    await b.snapshot(at(1));
    b.commit([1, 2]);
    const first = (await b.sync(at(2)))!;
    b.checkpoint();
    b.commit([2]);
    const idx1 = (await b.sync(at(3)))!;
    await b.snapshot(at(4));
    b.checkpoint();
    const k = b.commit([1]);
    await b.sync(at(5));
    // v0.3.13 refuses to restore when an index below the snapshot lacks offset 0 (#401); we never look there.
    unlinkSync(store.pathOf(first));
    expectBytes((await restored()).bytes, b.state(k));
    // Index 0 now has only its (empty) snapshot: nothing to restore.
    expect(await failure(restored({ target: { generation: "aaaaaaaaaaaaaaaa", index: 0 } }))).toMatchObject({
      code: "corrupt",
      message: expect.stringMatching(/is empty and no WAL follows it/),
    });
    unlinkSync(store.pathOf(idx1));
    expect(await failure(restored())).toMatchObject({ code: "non-contiguous", message: expect.stringMatching(/WAL index 00000001 has no segments, but index 00000002 does/) });
  });

  it("fails naming the key when an LZ4 frame is cut short or damaged", async () => {
    const b = new LegacyReplicaBuilder(store);
    b.startGeneration("aaaaaaaaaaaaaaaa");
    await b.snapshot(at(1));
    b.commit([1, 2, 3]);
    const key = (await b.sync(at(2)))!;
    b.commit([2]);
    await b.sync(at(3));
    const path = store.pathOf(key);
    const original = readFileSync(path);
    truncateSync(path, original.length - 7);
    const err = await failure(restored());
    expect(err).toMatchObject({ code: "corrupt", key });
    expect(err.message).toContain(key);
    expect(err.message).toMatch(/ends early|cut off|truncated/i);

    const flipped = Buffer.from(original);
    flipped[flipped.length - 10] = flipped[flipped.length - 10]! ^ 0x55; // inside the data: the content checksum fails
    writeFileSync(path, flipped);
    expect(await failure(restored())).toMatchObject({ code: "corrupt", key });
  });

  it("leaves out an unfinished transaction at the end of the last index, and reports it", async () => {
    const b = new LegacyReplicaBuilder(store);
    b.startGeneration("aaaaaaaaaaaaaaaa");
    await b.snapshot(at(1));
    const k = b.commit([1, 2]);
    b.appendWal(b.frame(2)); // a frame no commit follows
    const key = (await b.sync(at(2)))!;
    const { bytes, result } = await restored();
    expectBytes(bytes, b.state(k));
    expect(result.discarded).toMatchObject({ key, offset: 32 + 2 * 536, bytes: 536, reason: "uncommitted frames" });
  });

  it("fails when an index before the last does not end on a verified commit", async () => {
    const b = new LegacyReplicaBuilder(store);
    b.startGeneration("aaaaaaaaaaaaaaaa");
    await b.snapshot(at(1));
    b.commit([1, 2]);
    b.appendWal(b.frame(2, 0));
    const key = (await b.sync(at(2)))!;
    b.checkpoint();
    b.commit([1]);
    await b.sync(at(3));
    const err = await failure(restored());
    expect(err).toMatchObject({ code: "corrupt", key });
    expect(err.message).toMatch(/WAL index 00000000 .*1 frames after offset 1104 are never committed/);
  });

  it("fails when the checksum chain breaks before the end of the WAL", async () => {
    const b = new LegacyReplicaBuilder(store);
    b.startGeneration("aaaaaaaaaaaaaaaa");
    await b.snapshot(at(1));
    b.commit([1, 2]);
    const bad = b.frame(2, 2);
    bad[30] = bad[30]! ^ 0xff; // page byte: the frame no longer verifies
    b.appendWal(bad);
    const key = (await b.sync(at(2)))!;
    b.commit([1]); // frames after the break are unreachable
    await b.sync(at(3));
    const err = await failure(restored());
    expect(err).toMatchObject({ code: "corrupt", key, offset: 32 + 2 * 536 });
    expect(err.message).toContain("checksum-mismatch");
  });

  it("replays big-endian WAL checksums and transactions that span segments", async () => {
    const b = new LegacyReplicaBuilder(store, { bigEndian: true, pageSize: 1024 });
    b.startGeneration("aaaaaaaaaaaaaaaa");
    b.commit([1, 2, 3]);
    b.checkpoint(); // the snapshot holds a database, not an empty file
    await b.snapshot(at(1));
    const before = b.walOffset;
    const k = b.commit([2, 3]);
    await b.sync(at(2), before + 24 + 1024); // a segment ending inside the transaction
    await b.sync(at(3));
    const { bytes, result } = await restored();
    expectBytes(bytes, b.state(k));
    expect(result).toMatchObject({ pageSize: 1024, transactions: 1, discarded: undefined });
  });

  it("holds a transaction larger than its memory in a spill file, then removes it", async () => {
    const b = new LegacyReplicaBuilder(store, { pageSize: 4096 });
    b.startGeneration("aaaaaaaaaaaaaaaa");
    await b.snapshot(at(1));
    const pages = Array.from({ length: 600 }, (_, i) => i + 1); // ~2.4 MiB in one transaction
    b.commit(pages, 600);
    await b.sync(at(2));
    const k = b.commit([7, 300]);
    await b.sync(at(3));
    const { bytes } = await restored({ memory: 3 * 1024 * 1024, parallelism: 1 });
    expectBytes(bytes, b.state(k));
    expect(readdirSync(dir.path).filter((f) => f.includes(".tmp"))).toEqual([]);
  });

  it("restores identically with one download at a time and with many", async () => {
    const b = new LegacyReplicaBuilder(store);
    b.startGeneration("aaaaaaaaaaaaaaaa");
    await b.snapshot(at(1));
    let k = 0;
    for (let i = 0; i < 60; i++) {
      k = b.commit([1 + (i % 9), 2 + ((i * 7) % 13)]);
      await b.sync(at(2 + i));
      if (i % 17 === 16) b.checkpoint();
    }
    for (const parallelism of [1, 16]) expectBytes((await restored({ parallelism, memory: 3 * 1024 * 1024 })).bytes, b.state(k));
  });

  it("refuses to overwrite, runs verify before the rename, honours abort", async () => {
    const b = new LegacyReplicaBuilder(store);
    b.startGeneration("aaaaaaaaaaaaaaaa");
    await b.snapshot(at(1));
    const k = b.commit([1, 2]);
    await b.sync(at(2));
    const output = dir.join("db.sqlite");
    await restoreLegacy(client, { output });
    expect(await failure(restoreLegacy(client, { output }))).toMatchObject({ code: "exists", key: output });
    const err = await failure(
      restoreLegacy(client, {
        output,
        overwrite: true,
        verify: async () => {
          throw new Error("integrity_check: not ok");
        },
      }),
    );
    expect(err).toMatchObject({ code: "corrupt", message: expect.stringContaining("integrity_check: not ok") });
    expect(existsSync(`${output}.tmp`)).toBe(false);
    let seen = "";
    await restoreLegacy(client, { output, overwrite: true, verify: async (p) => void (seen = p) });
    expect(seen).toBe(`${output}.tmp`);
    expectBytes(new Uint8Array(readFileSync(output)), b.state(k));
    const controller = new AbortController();
    controller.abort();
    expect(await failure(restoreLegacy(client, { output: dir.join("aborted.db"), signal: controller.signal }))).toMatchObject({ code: "aborted" });
  });

  it("lists generations with times and sizes, skipping foreign objects", async () => {
    const b = new LegacyReplicaBuilder(store);
    const h = await history(b);
    await store.write("generations/aaaaaaaaaaaaaaaa/wal/notes.txt", new Uint8Array(3));
    await store.write("generations/README", new Uint8Array(3));
    const skipped: unknown[] = [];
    const listing = await listLegacyReplica(client, { logger: { debug: (_m, f) => skipped.push(f), warn: () => undefined } });
    expect(listing.generations.map((g) => g.generation)).toEqual([h.a, h.g]);
    const [ga, gb] = listing.generations;
    expect(ga).toMatchObject({ createdAt: at(1), updatedAt: at(7) });
    expect(ga!.snapshots.map((s) => s.index)).toEqual([0, 1]);
    expect(ga!.segments.map((s) => [s.index, s.offset])).toEqual([
      [0, 0],
      [0, 32 + 3 * 536],
      [1, 0],
      [1, 32 + 2 * 536],
      [2, 0],
    ]);
    expect(gb).toMatchObject({ createdAt: at(10), updatedAt: at(13) });
    expect(ga!.size).toBe([...ga!.snapshots, ...ga!.segments].reduce((n, o) => n + o.size, 0));
    expect(skipped).toHaveLength(2);
    const plan = await planLegacyRestore(client, { generation: h.a, index: 1 });
    expect(plan.indexes.map((i) => i.index)).toEqual([1]);
    expect(plan.bytes).toBe(plan.snapshot.size + plan.indexes[0]!.segments.reduce((n, s) => n + s.size, 0));
    // A plan made beforehand is restored as is (the target, here absent, is not looked at).
    const { bytes, result } = await restored({ plan });
    expectBytes(bytes, b.state(h.k5));
    expect(result.plan).toBe(plan);
  });
});

describe("restoreLegacy errors", () => {
  it("are ReplicaErrors", async () => {
    const err = await failure(restoreLegacy(client, { output: "" }));
    expect(isReplicaError(err, "invalid-config")).toBe(true);
  });
});
