import { afterAll, describe, expect, it } from "vitest";
import { createFileReplicaClient } from "@sqlrep/replica";
import { tempDir, waitFor } from "@sqlrep/testkit";
import { BackupEngine } from "./index.js";
import { memoryLogger, record, sleep } from "./testing/harness.js";
import { restoreLatest, sourceImage } from "./testing/replica-check.js";
import { Writer } from "./testing/writer.js";

const tmp = tempDir("sqlrep-backup-events-");
afterAll(() => tmp.remove());

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

describe("event-driven sync", () => {
  it("uploads a commit made after a quiet spell at once (file-system events, not polling)", async () => {
    const path = tmp.join("latency.db");
    const writer = await Writer.open(path);
    await writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, at REAL)");
    const syncInterval = 200;
    // A poll far slower than the measured latency: only file-system events can explain it.
    const engine = new BackupEngine({
      databases: [{ path, monitorInterval: 10_000, replicas: [{ name: "dir", client: createFileReplicaClient(tmp.join("latency-replica")), syncInterval }] }],
      logger: memoryLogger(),
    });
    const events = record(engine);
    await engine.start();
    try {
      const latencies: number[] = [];
      for (let i = 0; i < 15; i++) {
        await sleep(syncInterval + 50); // quiet longer than the sync interval
        const seen = events.synced.length;
        const [row] = await writer.request<{ at: number }[]>("query", {
          sql: "INSERT INTO t (v, at) VALUES ('x', unixepoch('subsec') * 1000) RETURNING at",
        });
        await waitFor(() => events.synced.length > seen, { intervalMs: 1, message: "the synced event" });
        latencies.push(Date.now() - row!.at);
      }
      const p50 = percentile(latencies, 50);
      console.log(`commit → synced on a directory replica: p50 ${p50} ms, p90 ${percentile(latencies, 90)} ms, max ${Math.max(...latencies)} ms (n=${latencies.length})`);
      expect(p50).toBeLessThan(500);
    } finally {
      await engine.stop();
      await writer.close();
    }
  }, 60_000);

  it("under sustained writes uploads at most once per syncInterval, and loses nothing", async () => {
    const path = tmp.join("sustained.db");
    const writer = await Writer.open(path);
    await writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    const client = createFileReplicaClient(tmp.join("sustained-replica"));
    const syncInterval = 1000;
    const engine = new BackupEngine({ databases: [{ path, replicas: [{ name: "dir", client, syncInterval }] }], logger: memoryLogger() });
    const events = record(engine);
    await engine.start();
    try {
      const before = events.synced.length;
      const seconds = 3;
      const load = await writer.request<{ count: number; ms: number }>("load", { rate: 200, seconds, size: 100 });
      const uploads = events.synced.length - before;
      console.log(`sustained ${load.count} commits in ${load.ms} ms at 200/s: ${uploads} uploads (syncInterval ${syncInterval} ms)`);
      expect(uploads).toBeLessThanOrEqual(Math.ceil(load.ms / syncInterval) + 2);
      expect(uploads).toBeGreaterThanOrEqual(2);
      await engine.sync();
      const restored = await restoreLatest(client);
      expect(restored.checksum).toBe(sourceImage(path).checksum);
    } finally {
      await engine.stop();
      await writer.close();
    }
  }, 60_000);

  it("costs no uploads and no replica requests (syncs, compactions) while the database is idle", async () => {
    const path = tmp.join("idle.db");
    const writer = await Writer.open(path);
    await writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    const engine = new BackupEngine({
      databases: [
        {
          path,
          monitorInterval: 50,
          levels: [
            { level: 1, interval: 100 },
            { level: 2, interval: 200 },
          ],
          replicas: [{ name: "dir", client: createFileReplicaClient(tmp.join("idle-replica")) }],
        },
      ],
      logger: memoryLogger(),
    });
    await engine.start();
    try {
      await writer.insert(1);
      await engine.sync();
      await sleep(600); // compaction of what was just written runs once
      const requests = async () => [...(await engine.metrics()).matchAll(/^litestream_replica_operation_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
      const base = await requests();
      await sleep(1500);
      expect(await requests()).toBe(base);
    } finally {
      await engine.stop();
      await writer.close();
    }
  }, 30_000);
});
