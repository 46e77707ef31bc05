import { statSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { createFileReplicaClient, type ReplicaClient } from "@sqlrep/replica";
import { tempDir, waitFor } from "@sqlrep/testkit";
import { BackupEngine, type DatabaseOptions } from "./index.js";
import { memoryLogger, record, type Recorded } from "./testing/harness.js";
import { checkChain, queryImage, restoreLatest, sourceImage } from "./testing/replica-check.js";
import { Writer } from "./testing/writer.js";

const tmp = tempDir("sqlrep-backup-checkpoint-");
afterAll(() => tmp.remove());

let n = 0;
async function setup(options: Omit<DatabaseOptions, "path" | "replicas">): Promise<{
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
  const engine = new BackupEngine({ databases: [{ path, replicas: [{ name: "dir", client, syncInterval: 0 }], ...options }], logger: memoryLogger() });
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
      expect(engine.metrics()).toMatch(/litestream_checkpoint_count\{db="[^"]+",mode="PASSIVE"\} [1-9]/);
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
