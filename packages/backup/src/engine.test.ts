/**
 * End-to-end tests of BackupEngine with real SQLite writers and directory replicas: what it refuses, stop's flush,
 * several databases and replicas, compaction, retention and validation; replicas restore with @sqlrep/replica.
 */
import { writeFileSync } from "node:fs";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { createFileReplicaClient, restore, SNAPSHOT_LEVEL } from "@sqlrep/replica";
import { tempDir, waitFor } from "@sqlrep/testkit";
import { BackupEngine, type BackupError, isBackupError } from "./index.js";
import { FlakyClient } from "./testing/flaky-client.js";
import { memoryLogger, record, sleep } from "./testing/harness.js";
import { checkChain, listFiles, queryImage, restoreLatest, sourceImage } from "./testing/replica-check.js";
import { Writer } from "./testing/writer.js";

const tmp = tempDir("sqlrep-backup-engine-");
afterAll(() => tmp.remove());

describe("databases the engine refuses", () => {
  it("a database in rollback-journal mode: BackupError not-wal, saying how to switch", async () => {
    const path = tmp.join("rollback.db");
    const db = new Database(path);
    db.exec("CREATE TABLE t (x)");
    db.close();
    const engine = new BackupEngine({ databases: [{ path, replicas: [{ name: "dir", client: createFileReplicaClient(tmp.join("r1")) }] }] });
    const err = await engine.start().catch((e: unknown) => e);
    expect(isBackupError(err, "not-wal")).toBe(true);
    expect((err as BackupError).path).toBe(path);
    expect((err as Error).message).toContain("PRAGMA journal_mode=WAL");
    expect(engine.status()).toEqual([]);
  });

  it("a missing file is waited for (as Litestream does), then replicated once it exists in WAL mode", async () => {
    const path = tmp.join("later.db");
    const client = createFileReplicaClient(tmp.join("r2"));
    const logger = memoryLogger();
    const engine = new BackupEngine({ databases: [{ path, monitorInterval: 50, replicas: [{ name: "dir", client }] }], logger });
    await engine.start();
    try {
      expect(engine.status()).toMatchObject([{ path, state: "waiting", waitingFor: "the database file to be created" }]);
      await expect(engine.sync(path)).rejects.toMatchObject({ code: "not-found", message: expect.stringContaining("waiting") });
      // Created in rollback mode first: still waiting, and saying why.
      const db = new Database(path);
      db.exec("CREATE TABLE t (x)");
      await waitFor(() => engine.status()[0]?.waitingFor === "the database to switch to WAL mode", { timeoutMs: 5000 });
      db.pragma("journal_mode = WAL");
      db.exec("INSERT INTO t VALUES (1)");
      await waitFor(() => engine.status()[0]?.state === "replicating", { timeoutMs: 5000 });
      db.exec("INSERT INTO t VALUES (2)");
      await engine.sync(path);
      db.close();
      const restored = tmp.join("later-restored.db");
      await restore(client, { output: restored });
      const copy = new Database(restored, { readonly: true });
      expect(copy.prepare("SELECT count(*) AS n FROM t").get()).toEqual({ n: 2 });
      copy.close();
    } finally {
      await engine.stop();
    }
  }, 20_000);

  it("a file that is not a database: BackupError open", async () => {
    const path = tmp.join("garbage.db");
    writeFileSync(path, "this is not a database, just some text that is long enough to have a header of 100 bytes or more...........");
    const engine = new BackupEngine({ databases: [{ path, replicas: [{ name: "dir", client: createFileReplicaClient(tmp.join("r3")) }] }] });
    await expect(engine.start()).rejects.toMatchObject({ code: "open" });
  });

  it("options that cannot work: BackupError invalid-config", () => {
    const client = createFileReplicaClient(tmp.join("r4"));
    expect(() => new BackupEngine({ databases: [{ path: "a.db", replicas: [] }] })).toThrow(/at least one replica/);
    expect(
      () =>
        new BackupEngine({
          databases: [
            {
              path: "a.db",
              replicas: [
                { name: "x", client },
                { name: "x", client },
              ],
            },
          ],
        }),
    ).toThrow(/two replicas/);
    expect(() => new BackupEngine({ databases: [{ path: "a.db", busyTimeout: -1, replicas: [{ name: "x", client }] }] })).toThrow(/busyTimeout/);
    expect(() => new BackupEngine({ databases: [{ path: "a.db", stageInterval: -1, replicas: [{ name: "x", client }] }] })).toThrow(/stageInterval/);
    expect(
      () =>
        new BackupEngine({
          databases: [
            {
              path: "a.db",
              levels: [
                { level: 2, interval: 1 },
                { level: 1, interval: 1 },
              ],
              replicas: [{ name: "x", client }],
            },
          ],
        }),
    ).toThrow(/ascending/);
  });
});

describe("stopping", () => {
  it("flushes what was committed right before stop()", async () => {
    const path = tmp.join("flush.db");
    const writer = await Writer.open(path);
    await writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    const client = createFileReplicaClient(tmp.join("flush-replica"));
    // A long sync interval: only the final sync of stop() can upload the last commits.
    const engine = new BackupEngine({ databases: [{ path, replicas: [{ name: "dir", client, syncInterval: 60_000 }] }] });
    await engine.start();
    await writer.insert(1);
    await sleep(50); // the first commit after the initial sync is uploaded at once…
    await writer.insert(7, { rows: 3 }); // …these are held back by the interval
    await engine.stop({ timeoutMs: 10_000 });
    await expect(engine.sync()).rejects.toMatchObject({ code: "closed" });
    const restored = await restoreLatest(client);
    expect(restored.checksum).toBe(sourceImage(path).checksum);
    expect(queryImage(restored.bytes, "SELECT count(*) AS n FROM t")).toEqual([{ n: 22 }]);
    await writer.close();
  }, 30_000);
});

describe("several databases and replicas in one engine", () => {
  it("replicates three databases in two directories, one of them to two replicas, with one status and one metrics text", async () => {
    const paths = [tmp.join("multi-a.db"), tmp.join("multi-b.db"), tmp.join(`multi-${"c"}.db`)];
    const { mkdirSync } = await import("node:fs");
    mkdirSync(tmp.join("other"), { recursive: true });
    paths[2] = tmp.join("other", "multi-c.db");
    const writers = await Promise.all(paths.map((p) => Writer.open(p)));
    for (const w of writers) await w.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    const clients = paths.map((_, i) => createFileReplicaClient(tmp.join(`multi-replica-${i}`)));
    const second = createFileReplicaClient(tmp.join("multi-replica-0-second"));
    const engine = new BackupEngine({
      databases: paths.map((path, i) => ({
        path,
        replicas:
          i === 0
            ? [
                { name: "primary", client: clients[i]! },
                { name: "second", client: second, syncInterval: 300 },
              ]
            : [{ name: "dir", client: clients[i]! }],
      })),
      logger: memoryLogger(),
    });
    const events = record(engine);
    await engine.start();
    try {
      for (let round = 0; round < 3; round++) {
        await Promise.all(writers.map((w, i) => w.insert(i + 1, { rows: 2 })));
        await sleep(20);
      }
      const results = await engine.sync();
      expect(results.map((r) => `${r.path}:${r.replica}`).sort()).toEqual([`${paths[0]}:primary`, `${paths[0]}:second`, `${paths[1]}:dir`, `${paths[2]}:dir`].sort());
      for (const [i, path] of paths.entries()) {
        const restored = await restoreLatest(clients[i]!);
        expect(restored.checksum).toBe(sourceImage(path).checksum);
      }
      const fromSecond = await restoreLatest(second);
      expect(fromSecond.checksum).toBe(sourceImage(paths[0]!).checksum);
      // Each replica has its own TXIDs: the slower one batched more per file.
      expect((await checkChain(second)).txid).toBeLessThanOrEqual((await checkChain(clients[0]!)).txid);

      const status = engine.status();
      expect(status.map((s) => s.path)).toEqual(paths);
      expect(status[0]!.replicas.map((r) => r.name)).toEqual(["primary", "second"]);
      // Caught up: lag 0 (at once, or after the engine's own housekeeping right after the sync settles).
      await waitFor(() => engine.status()[0]!.replicas[0]!.lagMs === 0, { timeoutMs: 5000 });
      expect(engine.status()[0]!.replicas[0]).toMatchObject({ type: "file", lagMs: 0, txid: expect.any(Number) });
      expect(status[0]!.pageSize).toBe(4096);
      expect(status[0]!.walSize).toBeGreaterThan(0);
      const text = await engine.metrics();
      for (const path of paths) expect(text).toContain(`litestream_txid{db="${path}"}`);
      expect(text).toContain(`litestream_replica_lag_seconds{db="${paths[0]}",name="second"} 0`);
      expect(text).toMatch(/litestream_replica_operation_total\{replica_type="file",operation="PUT"\} \d+/);
      expect(events.synced.every((e) => paths.includes(e.path))).toBe(true);
      await expect(engine.sync(tmp.join("unknown.db"))).rejects.toMatchObject({ code: "not-found" });
    } finally {
      await engine.stop();
      await Promise.all(writers.map((w) => w.close()));
    }
  }, 60_000);
});

describe("replica maintenance", () => {
  it("compacts, takes periodic snapshots, enforces retention and verifies the checksum chain; the replica restores with @sqlrep/replica", async () => {
    const path = tmp.join("maintained.db");
    const writer = await Writer.open(path);
    await writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    const client = createFileReplicaClient(tmp.join("maintained-replica"));
    const engine = new BackupEngine({
      databases: [
        {
          path,
          levels: [{ level: 1, interval: 150 }],
          snapshotInterval: 1000,
          snapshotRetention: 200,
          l0Retention: 0,
          validationInterval: 300,
          replicas: [{ name: "dir", client, syncInterval: 50 }],
        },
      ],
      logger: memoryLogger(),
    });
    const events = record(engine);
    await engine.start();
    try {
      const deadline = Date.now() + 2500;
      while (Date.now() < deadline) {
        await writer.insert(1, { rows: 3 });
        await sleep(60);
      }
      await engine.sync();
      await waitFor(() => events.snapshots.some((s) => s.reason === "periodic"), { message: "a periodic snapshot" });
      await waitFor(() => engine.status()[0]!.replicas[0]!.lastVerifiedAt, { message: "a verification" });
      expect(await engine.metrics()).toMatch(/litestream_replica_last_verified_timestamp_seconds\{db="[^"]+",name="dir"\} \d+/);
      await waitFor(async () => (await listFiles(client, 1)).length > 0, { message: "level-1 files" });
      const snapshots = await listFiles(client, SNAPSHOT_LEVEL);
      expect(snapshots.some((s) => s.maxTXID === 1)).toBe(false); // the initial snapshot fell out of retention
      expect(events.errors).toEqual([]);

      const output = tmp.join("maintained-restored.db");
      const result = await restore(client, { output });
      expect(result.txid).toBe(engine.status()[0]!.replicas[0]!.txid);
      expect(result.checksumVerified).toBe(true);
      expect(result.databaseChecksum).toBe(sourceImage(path).checksum);
    } finally {
      await engine.stop();
      await writer.close();
    }
  }, 60_000);
});

describe("retention", () => {
  it("runs only when something may have become deletable: level-0 files go after l0Retention, then an idle replica gets no requests", async () => {
    const path = tmp.join("retained.db");
    const writer = await Writer.open(path);
    await writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    const replica = createFileReplicaClient(tmp.join("retained-replica"));
    const counted = new FlakyClient(replica); // the engine's requests, not this test's listings
    const l0Retention = 1000;
    const engine = new BackupEngine({
      databases: [{ path, levels: [{ level: 1, interval: 200 }], l0Retention, monitorInterval: 50, replicas: [{ name: "dir", client: counted, syncInterval: 0 }] }],
      logger: memoryLogger(),
    });
    const events = record(engine);
    await engine.start();
    try {
      for (let i = 0; i < 5; i++) {
        await writer.insert(1);
        await engine.sync();
      }
      const written = Date.now();
      await waitFor(async () => (await listFiles(replica, 1)).length > 0, { message: "a level-1 file" });
      // Covered by level 1 and older than l0Retention: pruned (each level keeps its last
      // file), within about one more l0Retention; retention used to wait for a 15 s tick.
      await waitFor(async () => (await listFiles(replica, 0)).length === 1, { message: "level 0 pruned", timeoutMs: 3 * l0Retention + 2000 });
      console.log(`level 0 pruned ${Date.now() - written} ms after the last write (l0Retention ${l0Retention} ms)`);
      await sleep(l0Retention + 500); // what the last compaction asked for has run
      const before = { ...counted.requests };
      await sleep(3000);
      expect(counted.requests).toEqual(before);
      expect(before.delete).toBeGreaterThan(0);
      expect(events.errors).toEqual([]);
      const restored = await restore(replica, { output: tmp.join("retained-restored.db") });
      expect(restored.databaseChecksum).toBe(sourceImage(path).checksum);
    } finally {
      await engine.stop();
      await writer.close();
    }
  }, 30_000);
});

describe("validation", () => {
  it("reports a replica whose checksum chain was broken behind the engine's back", async () => {
    const path = tmp.join("tampered.db");
    const writer = await Writer.open(path);
    await writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    const replicaDir = tmp.join("tampered-replica");
    const client = createFileReplicaClient(replicaDir);
    const engine = new BackupEngine({
      databases: [{ path, levels: [], validationInterval: 150, replicas: [{ name: "dir", client, syncInterval: 0 }] }],
      logger: memoryLogger(),
    });
    const events = record(engine);
    await engine.start();
    try {
      for (let i = 0; i < 4; i++) {
        await writer.insert(1);
        await engine.sync();
      }
      await waitFor(() => engine.status()[0]!.replicas[0]!.lastVerifiedAt, { message: "a first verification" });
      const { copyFileSync } = await import("node:fs");
      const { formatFilename } = await import("@sqlrep/ltx");
      const l0 = (await listFiles(client, 0)).map((f) => f.maxTXID);
      const [previous, last] = l0.slice(-2) as [number, number];
      copyFileSync(`${replicaDir}/ltx/0/${formatFilename(previous, previous)}`, `${replicaDir}/ltx/0/${formatFilename(last, last)}`);
      await waitFor(() => engine.status()[0]!.replicas[0]!.validationError, { message: "a validation error in the status" });
      expect(engine.status()[0]!.replicas[0]!.validationError).toMatch(/expects checksum [0-9a-f]{16} but the chain has/);
      expect(events.errors.some((e) => e.error.code === "validation")).toBe(true);
      expect(await engine.metrics()).toMatch(/litestream_replica_validation_total\{db="[^"]+",name="dir",status="error"\} [1-9]/);
    } finally {
      await engine.stop();
      await writer.close();
    }
  }, 30_000);
});

describe("on request (replicate -once)", () => {
  it("snapshot() writes a snapshot of what is committed on every replica; enforceRetention() runs retention now", async () => {
    const path = tmp.join("on-request.db");
    const writer = await Writer.open(path);
    await writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    const client = createFileReplicaClient(tmp.join("on-request-replica"));
    const engine = new BackupEngine({ databases: [{ path, snapshotRetention: 1, replicas: [{ name: "dir", client }] }], logger: memoryLogger() });
    await expect(engine.snapshot()).rejects.toMatchObject({ code: "closed" });
    await engine.start();
    try {
      await writer.insert(1, { rows: 3 });
      const [synced] = await engine.sync();
      const snapshotsBefore = await listFiles(client, SNAPSHOT_LEVEL);
      await writer.insert(2, { rows: 2 });
      // Committed but not yet uploaded: the snapshot takes it.
      const [snap] = await engine.snapshot();
      expect(snap).toMatchObject({ path, replica: "dir" });
      expect(snap!.txid).toBeGreaterThan(synced!.txid);
      const snapshots = await listFiles(client, SNAPSHOT_LEVEL);
      expect(snapshots.map((f) => f.maxTXID)).toEqual([...snapshotsBefore.map((f) => f.maxTXID), snap!.txid]);
      expect((await restoreLatest(client)).checksum).toBe(sourceImage(path).checksum);
      await sleep(5);
      // snapshotRetention 1 ms: every snapshot but the newest (and what only it needed) goes.
      const [retained] = await engine.enforceRetention();
      expect(retained).toMatchObject({ path, replica: "dir" });
      expect(retained!.deleted).toBeGreaterThan(0);
      expect((await listFiles(client, SNAPSHOT_LEVEL)).map((f) => f.maxTXID)).toEqual([snap!.txid]);
      expect((await restoreLatest(client)).checksum).toBe(sourceImage(path).checksum);
      await expect(engine.snapshot(tmp.join("unknown.db"))).rejects.toMatchObject({ code: "not-found" });
    } finally {
      await engine.stop();
      await writer.close();
    }
  }, 30_000);
});
