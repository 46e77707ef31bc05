/** Tests of restore from a directory replica against the history model: byte-for-byte results, every TXID, corruption, gaps, abort, ranged reads. */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir, type TempDir } from "@sqlrep/testkit";
import { isReplicaError, ReplicaError } from "./errors.js";
import { FileObjectStore } from "./file-store.js";
import { directoryLayout } from "./layout.js";
import { createFileReplicaClient } from "./file-replica.js";
import { ltxKey, ObjectReplicaClient, type ReplicaClient } from "./replica-client.js";
import { restore, type RestoreProgress } from "./restore.js";
import { History, Rng } from "./testing/history.js";
import { InstrumentedStore } from "./testing/instrumented-store.js";

let dir: TempDir;
let client: ReplicaClient;

beforeEach(() => {
  dir = tempDir("sqlrep-restore-");
  client = createFileReplicaClient(dir.join("replica"));
});
afterEach(() => dir.remove());

/** A history of `n` transactions backed up as: snapshot at `snapshotAt`, L1 over 2…k, L0 after. */
async function backedUp(n: number, options: { checksums?: boolean; seed?: number } = {}): Promise<History> {
  const h = new History(new Rng(options.seed ?? 7));
  for (let t = 1; t <= n; t++) h.commitRandom();
  const snapshotAt = Math.floor(n / 3);
  const l1End = Math.floor((2 * n) / 3);
  await h.write(client, 9, 1, snapshotAt, options);
  await h.write(client, 1, snapshotAt + 1, l1End, options);
  for (let t = l1End + 1; t <= n; t++) await h.write(client, 0, t, t, options);
  return h;
}

function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  expect(Buffer.compare(actual, expected), "restored bytes differ from the model").toBe(0);
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (err: unknown) => err,
  );
}

describe("restore", () => {
  it("restores the latest state byte for byte and verifies the database checksum", async () => {
    const h = await backedUp(30);
    const progress: RestoreProgress[] = [];
    const output = dir.join("db.sqlite");
    const result = await restore(client, { output, onProgress: (p) => progress.push(p) });
    expectSameBytes(readFileSync(output), h.db(30));
    expect(result).toMatchObject({ txid: 30, pageSize: 512, pageCount: h.db(30).length / 512, files: 12, checksumVerified: true });
    expect(result.postApplyChecksum).toBe(h.checksum(30));
    expect(result.databaseChecksum).toBe(h.checksum(30));
    expect(result.timestamp.getTime()).toBe(h.timestamp(30));
    expect(progress.map((p) => p.phase).filter((p, i, a) => a[i - 1] !== p)).toEqual(["plan", "download", "verify", "done"]);
    expect(progress.at(-1)).toMatchObject({ phase: "done", files: 12 });
    expect(progress.at(-1)!.bytesDone).toBe(progress.at(-1)!.bytesTotal);
    expect(readdirSync(dir.path).sort()).toEqual(["db.sqlite", "replica"]);
  });

  it("restores every TXID and says it cannot verify files without checksums (Litestream's)", async () => {
    const h = await backedUp(12, { checksums: false });
    for (const t of [4, 8, 9, 10, 11, 12]) {
      const output = dir.join(`db-${t}`);
      const result = await restore(client, { output, target: { txid: t } });
      expectSameBytes(readFileSync(output), h.db(t));
      expect(result.checksumVerified).toBe(false);
      expect(result.postApplyChecksum).toBeUndefined();
      expect(result.databaseChecksum).toBe(h.checksum(t));
    }
  });

  it("refuses to replace an existing output or pair with a stale WAL, unless asked", async () => {
    const h = await backedUp(9);
    const output = dir.join("db");
    writeFileSync(output, "old");
    expect(isReplicaError(await caught(restore(client, { output })), "exists")).toBe(true);
    expect(readFileSync(output, "utf8")).toBe("old");
    await restore(client, { output, overwrite: true });
    expectSameBytes(readFileSync(output), h.db(9));
    const other = dir.join("other");
    writeFileSync(`${other}-wal`, "stale");
    expect(isReplicaError(await caught(restore(client, { output: other })), "exists")).toBe(true);
    await restore(client, { output: other, overwrite: true });
    expect(existsSync(`${other}-wal`)).toBe(false);
  });

  it("names the file and offset of a corrupted byte in a middle file, and leaves nothing behind", async () => {
    await backedUp(30);
    const middle = { level: 0, minTXID: 25, maxTXID: 25 };
    const path = new FileObjectStore(dir.join("replica")).pathOf(ltxKey(directoryLayout(), middle));
    const bytes = readFileSync(path);
    bytes[150] = bytes[150]! ^ 0x40; // inside the first page frame
    writeFileSync(path, bytes);
    const err = await caught(restore(client, { output: dir.join("db") }));
    expect(isReplicaError(err, "corrupt")).toBe(true);
    expect((err as Error).message).toContain("level 0 file 0000000000000019-0000000000000019.ltx");
    expect((err as Error).message).toMatch(/at offset \d+/);
    expect(readdirSync(dir.path)).toEqual(["replica"]);
  });

  it("refuses a middle file whose pre-apply checksum does not follow the file before it", async () => {
    const h = await backedUp(30);
    // TXID 24 replaced by a valid file from another database: every file checks out on its own.
    const other = new History(new Rng(99));
    for (let t = 1; t <= 30; t++) other.commitRandom();
    await client.writeLtxFile({ level: 0, minTXID: 24, maxTXID: 24 }, other.ltx(24, 24));
    const err = await caught(restore(client, { output: dir.join("db") }));
    expect(isReplicaError(err, "corrupt")).toBe(true);
    expect((err as Error).message).toContain("level 0 file 0000000000000018-0000000000000018.ltx");
    expect((err as Error).message).toContain("pre-apply checksum");
    expect(readdirSync(dir.path)).toEqual(["replica"]);
    // Up to TXID 23 the replica is fine.
    await restore(client, { output: dir.join("db"), target: { txid: 23 } });
    expectSameBytes(readFileSync(dir.join("db")), h.db(23));
  });

  it("names the gap when a middle file is gone", async () => {
    await backedUp(30);
    await client.deleteLtxFiles([{ level: 0, minTXID: 25, maxTXID: 25 }]);
    const err = await caught(restore(client, { output: dir.join("db") }));
    expect(isReplicaError(err, "non-contiguous")).toBe(true);
    expect((err as Error).message).toContain("TXIDs 0000000000000019…0000000000000019 are missing");
    expect(readdirSync(dir.path)).toEqual(["replica"]);
  });

  it("leaves no temp file when aborted", async () => {
    await backedUp(30);
    const controller = new AbortController();
    const output = dir.join("db");
    const err = await caught(
      restore(client, {
        output,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.phase === "download") controller.abort();
        },
      }),
    );
    expect(isReplicaError(err, "aborted")).toBe(true);
    expect(readdirSync(dir.path)).toEqual(["replica"]);
  });
});

describe("restore over ranged reads", () => {
  it("reads ranges of several files in parallel, never more than `parallelism` at once", async () => {
    const h = await backedUp(40);
    const store = new InstrumentedStore(new FileObjectStore(dir.join("replica")));
    const wrapped = new ObjectReplicaClient(store, directoryLayout());
    const output = dir.join("db");
    await restore(wrapped, { output, parallelism: 4, rangeSize: 1024 });
    expectSameBytes(readFileSync(output), h.db(40));
    expect(store.peak).toBeGreaterThan(1);
    expect(store.peak).toBeLessThanOrEqual(4);
    expect(store.reads).toBeGreaterThan(14); // more reads than files: ranges
  });

  it("retries a transient failure from where the range stopped", async () => {
    const h = await backedUp(20);
    const store = new InstrumentedStore(new FileObjectStore(dir.join("replica")));
    const reset = () => new ReplicaError("io", "connection reset", { retryable: true });
    // Every third read fails at once, every fifth after 100 bytes.
    store.fault = (n) => (n % 3 === 0 ? { error: reset() } : n % 5 === 0 ? { error: reset(), after: 100 } : undefined);
    const output = dir.join("db");
    await restore(new ObjectReplicaClient(store, directoryLayout()), { output, rangeSize: 4096, retryDelay: 1 });
    expectSameBytes(readFileSync(output), h.db(20));
    // A read that broke after 100 bytes was resumed 100 bytes further on, for the rest of its range.
    const broken = store.log[4]!;
    const resumed = store.log.slice(5).find((r) => r.key === broken.key && r.offset === broken.offset + 100);
    expect(resumed, `resumed read of ${broken.key}`).toBeDefined();
    expect(resumed!.length).toBe(broken.length! - 100);
  });

  it("gives up on a range after the retries, naming the file and offset", async () => {
    await backedUp(20);
    const store = new InstrumentedStore(new FileObjectStore(dir.join("replica")));
    // The first read of the level-1 file breaks at byte 600; every retry fails at once.
    store.fault = (_n, key, offset) =>
      key.includes("ltx/1/") ? { error: new ReplicaError("io", "503 slow down", { retryable: true }), after: offset === 0 ? 600 : 0 } : undefined;
    const err = await caught(restore(new ObjectReplicaClient(store, directoryLayout()), { output: dir.join("db"), retries: 3, retryDelay: 1 }));
    expect(isReplicaError(err, "io")).toBe(true);
    expect((err as Error).message).toContain("level 1 file 0000000000000007-000000000000000d.ltx");
    expect((err as Error).message).toContain("at offset 600");
    expect(readdirSync(dir.path)).toEqual(["replica"]);
  });

  it("re-plans when a file vanishes between planning and reading", async () => {
    const h = await backedUp(20);
    const store = new InstrumentedStore(new FileObjectStore(dir.join("replica")));
    let vanished = false;
    store.fault = async (_n, key) => {
      if (!vanished && key.includes("ltx/0/")) {
        // Meanwhile 14…20 were compacted into level 1 and retention deleted the level-0 files.
        vanished = true;
        await h.write(client, 1, 14, 20);
        await client.deleteLtxFiles(Array.from({ length: 7 }, (_, i) => ({ level: 0, minTXID: 14 + i, maxTXID: 14 + i })));
      }
      return undefined;
    };
    const output = dir.join("db");
    const result = await restore(new ObjectReplicaClient(store, directoryLayout()), { output, target: { txid: 20 } });
    expect(vanished).toBe(true);
    expectSameBytes(readFileSync(output), h.db(20));
    expect(result.plan.files.map((f) => f.level)).toEqual([9, 1, 1]);
  });
});
