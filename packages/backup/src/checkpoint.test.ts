/**
 * Tests of the checkpoints the engine owns (PASSIVE by page count and interval, TRUNCATE), with a real SQLite
 * writer in a child process: replication follows each WAL reset without a snapshot, and nothing is lost in a race.
 */
import { existsSync, statSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { createFileReplicaClient, type ReplicaClient } from "@sqlrep/replica";
import { tempDir, waitFor } from "@sqlrep/testkit";
import { BackupEngine, type DatabaseOptions } from "./index.js";
import { memoryLogger, record, sleep, type Recorded } from "./testing/harness.js";
import { checkChain, queryImage, restoreLatest, sourceImage } from "./testing/replica-check.js";
import { Writer } from "./testing/writer.js";

const tmp = tempDir("sqlrep-backup-checkpoint-");
afterAll(() => tmp.remove());

let n = 0;
async function setup(
  options: Omit<DatabaseOptions, "path" | "replicas">,
  syncInterval = 0,
): Promise<{
  path: string;
  client: ReplicaClient;
  writer: Writer;
  engine: BackupEngine;
  events: Recorded;
}> {
  const name = `db${++n}`;
  const path = tmp.join(`${name}.db`);
  const writer = await Writer.open(path);
  await writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
  const client = createFileReplicaClient(tmp.join(`${name}-replica`));
  const engine = new BackupEngine({ databases: [{ path, replicas: [{ name: "dir", client, syncInterval }], ...options }], logger: memoryLogger() });
  const events = record(engine);
  await engine.start();
  return { path, client, writer, engine, events };
}

async function expectNothingLost(client: ReplicaClient, path: string, rows: number): Promise<void> {
  await checkChain(client);
  const restored = await restoreLatest(client);
  expect(restored.checksum).toBe(sourceImage(path).checksum);
  expect(queryImage(restored.bytes, "PRAGMA integrity_check")).toEqual([{ integrity_check: "ok" }]);
  expect(queryImage(restored.bytes, "SELECT count(*) AS n FROM t")).toEqual([{ n: rows }]);
}

const walSize = (path: string) => statSync(`${path}-wal`).size;
const walBytesReplicated = async (engine: BackupEngine) => Number(/^litestream_total_wal_bytes\{[^}]*\} (\d+)$/m.exec(await engine.metrics())?.[1] ?? 0);

describe("checkpoints the engine owns", () => {
  it("PASSIVE past minCheckpointPageCount, after which the next write resets the WAL and replication follows without a snapshot", async () => {
    const { path, client, writer, engine, events } = await setup({ minCheckpointPageCount: 40, truncatePageCount: 0 });
    try {
      await writer.insert(1, { rows: 200, size: 1000 }); // one transaction of ~60 frames
      await engine.sync();
      await waitFor(() => events.checkpoints.length > 0, { message: "a checkpoint" });
      const [cp] = events.checkpoints;
      expect(cp).toMatchObject({ mode: "PASSIVE", busy: 0 });
      expect(cp!.checkpointed).toBe(cp!.log);
      const before = (await checkChain(client)).l0.at(-1)!.header.walSalt1;
      await writer.insert(2);
      await engine.sync();
      const after = (await checkChain(client)).l0.at(-1)!;
      expect(after.header.walSalt1).not.toBe(before); // the WAL was reset…
      expect(after.header.walOffset).toBe(32); // …and replication continued at its start
      expect(events.snapshots).toHaveLength(1); // the initial one only
      await expectNothingLost(client, path, 202);
      expect(engine.status()[0]!.lastCheckpointAt).toBeInstanceOf(Date);
      expect(await engine.metrics()).toMatch(/litestream_checkpoint_count\{db="[^"]+",mode="PASSIVE"\} [1-9]/);
    } finally {
      await engine.stop();
      await writer.close();
    }
  }, 60_000);

  it("judges the threshold on the WAL as it is now: a checkpointed WAL is not checkpointed again while the database is idle", async () => {
    const { writer, engine, events } = await setup({ minCheckpointPageCount: 40, truncatePageCount: 0, monitorInterval: 20 });
    try {
      await writer.insert(1, { rows: 200, size: 1000 }); // one transaction of ~60 frames
      await engine.sync();
      await waitFor(() => events.checkpoints.length > 0, { message: "a checkpoint" });
      // The replica's position still reads ~60 frames into that WAL (nothing restarted
      // it): judged on that, every poll would find the threshold reached again.
      await sleep(2500);
      expect(events.checkpoints).toHaveLength(1);
      expect(events.checkpoints[0]).toMatchObject({ mode: "PASSIVE", busy: 0 });
    } finally {
      await engine.stop();
      await writer.close();
    }
  }, 30_000);

  it("under sustained writes checkpoints once per minCheckpointPageCount frames, each inside a scheduled sync (no extra uploads)", async () => {
    const threshold = 150;
    const syncInterval = 400;
    const { path, client, writer, engine, events } = await setup({ minCheckpointPageCount: threshold, truncatePageCount: 0 }, syncInterval);
    try {
      await sleep(syncInterval); // the initial snapshot's upload does not throttle the first commit
      const walBefore = await walBytesReplicated(engine);
      const uploadsBefore = events.synced.length;
      const load = await writer.request<{ count: number; ms: number }>("load", { rate: 200, seconds: 4, size: 300 });
      await engine.sync();
      const uploads = events.synced.slice(uploadsBefore);
      const frames = ((await walBytesReplicated(engine)) - walBefore) / (4096 + 24);
      const checkpoints = events.checkpoints;
      console.log(
        `sustained ${load.count} commits: ${Math.round(frames)} WAL frames, ${checkpoints.length} checkpoints (frames in the WAL: ${checkpoints.map((c) => c.log).join(", ")}; write lock held ${checkpoints.map((c) => Math.round(c.writeLockMs)).join(", ")} ms), ${uploads.length} uploads`,
      );
      // Each checkpoint found the threshold reached in the WAL it copied; none ran on a
      // WAL below it (the one a stale position would show right after a restart).
      expect(checkpoints.length).toBeGreaterThanOrEqual(2);
      for (const c of checkpoints) expect(c.log).toBeGreaterThanOrEqual(threshold);
      expect(checkpoints.length).toBeLessThanOrEqual(Math.floor(frames / threshold));
      // One upload per syncInterval, checkpoints included (+1: the first commit, +1: the final sync()).
      expect(uploads.every((u) => u.level === 0)).toBe(true);
      expect(uploads.length).toBeLessThanOrEqual(Math.ceil(load.ms / syncInterval) + 2);
      await expectNothingLost(client, path, load.count);
    } finally {
      await engine.stop();
      await writer.close();
    }
  }, 60_000);

  it("TRUNCATE past truncatePageCount empties the WAL file", async () => {
    const { path, client, writer, engine, events } = await setup({ minCheckpointPageCount: 100_000, truncatePageCount: 50 });
    try {
      await writer.insert(1, { rows: 200, size: 1000 }); // one transaction of ~60 frames
      await engine.sync();
      await waitFor(() => events.checkpoints.some((c) => c.mode === "TRUNCATE" && c.busy === 0), { message: "a TRUNCATE checkpoint" });
      expect(walSize(path)).toBe(0);
      await writer.insert(3);
      await engine.sync();
      expect(events.snapshots).toHaveLength(1);
      await expectNothingLost(client, path, 203);
    } finally {
      await engine.stop();
      await writer.close();
    }
  }, 60_000);

  it("PASSIVE every checkpointInterval while the WAL has frames", async () => {
    const { writer, engine, events } = await setup({ checkpointInterval: 200, monitorInterval: 50 });
    try {
      await writer.insert(2);
      await engine.sync();
      await waitFor(() => events.checkpoints.length > 0, { message: "an interval checkpoint", timeoutMs: 5000 });
      expect(events.checkpoints[0]!.mode).toBe("PASSIVE");
      const count = events.checkpoints.length;
      await new Promise((r) => setTimeout(r, 600));
      expect(events.checkpoints.length).toBe(count); // nothing new in the WAL: no further checkpoints
    } finally {
      await engine.stop();
      await writer.close();
    }
  }, 30_000);

  for (const own of ["none", "PASSIVE", "TRUNCATE"] as const) {
    it(`loses nothing with a writer racing our checkpoints${own === "none" ? "" : ` and running its own ${own} checkpoints`}`, async () => {
      const { path, client, writer, engine, events } = await setup({
        minCheckpointPageCount: 8,
        truncatePageCount: 25,
        checkpointInterval: 50,
        monitorInterval: 20,
      });
      try {
        const count = await writer.request<number>("race", { ms: 2500, mode: own === "none" ? undefined : own, size: 300 }, 30_000);
        await engine.sync();
        if (own === "none") expect(events.checkpoints.length).toBeGreaterThan(2);
        await expectNothingLost(client, path, count);
        console.log(
          `racing writer (${own}): ${count} commits, ${events.checkpoints.length} checkpoints (${events.checkpoints.filter((c) => c.mode === "TRUNCATE" && c.busy === 0).length} TRUNCATE), ${events.snapshots.length - 1} snapshots after the initial one`,
        );
      } finally {
        await engine.stop();
        await writer.close();
      }
    }, 60_000);
  }
});

const lockTable = existsSync("/proc/locks");
describe.skipIf(!lockTable)(`an application's own checkpoints${lockTable ? "" : " (skipped: this system has no /proc/locks)"}`, () => {
  // With a stage due only every 5 s, a checkpoint would wait up to 5 s for our read mark
  // (and return busy after the writer's 5 s busy_timeout) unless the lock-table probe
  // sees it and stages at once: what lets the default cadence be 1 s at no such cost.
  it("a TRUNCATE checkpoint under sustained writes waits for our read mark about one probe interval, not one stage interval", async () => {
    const { path, client, writer, engine } = await setup({ stageInterval: 5000, checkpointInterval: 3_600_000, minCheckpointPageCount: 1_000_000, truncatePageCount: 0 }, 1000);
    try {
      const { count, waits, busy } = await writer.request<{ count: number; waits: number[]; busy: number }>("load", { rate: 200, seconds: 4, checkpointEvery: 100 }, 60_000);
      await engine.sync();
      const sorted = [...waits].sort((a, b) => a - b);
      console.log(`[app TRUNCATE under load] ${waits.length} checkpoints, waits ms: ${waits.map((w) => w.toFixed(0)).join(", ")}`);
      expect(busy, "checkpoints that gave up (busy)").toBe(0);
      expect(waits.length).toBe(8);
      // The probe runs every 100 ms; a busy machine stretches that, never to 5 s.
      expect(sorted[Math.floor(sorted.length / 2)]!, "median wait").toBeLessThan(1000);
      expect(sorted[sorted.length - 1]!, "longest wait").toBeLessThan(2500);
      await expectNothingLost(client, path, count);
    } finally {
      await engine.stop();
      await writer.close();
    }
  }, 60_000);
});
