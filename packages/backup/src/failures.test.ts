import { afterAll, describe, expect, it } from "vitest";
import { createFileReplicaClient } from "@sqlrep/replica";
import { tempDir, waitFor } from "@sqlrep/testkit";
import { BackupEngine, BackupError } from "./index.js";
import { FlakyClient } from "./testing/flaky-client.js";
import { memoryLogger, record } from "./testing/harness.js";
import { checkChain, queryImage, restoreLatest, sourceImage } from "./testing/replica-check.js";
import { Writer } from "./testing/writer.js";

const tmp = tempDir("sqlrep-backup-failures-");
afterAll(() => tmp.remove());

describe("upload failures", () => {
  for (const mode of ["before", "after"] as const) {
    it(`retries with back-off, reports lastError, and after recovery nothing is lost or skipped (failing ${mode} the write)`, async () => {
      const path = tmp.join(`flaky-${mode}.db`);
      const writer = await Writer.open(path);
      await writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
      const client = new FlakyClient(createFileReplicaClient(tmp.join(`flaky-${mode}-replica`)));
      // Small checkpoint thresholds: the engine wants to checkpoint the frames it could not upload.
      const engine = new BackupEngine({
        databases: [{ path, minCheckpointPageCount: 5, checkpointInterval: 100, monitorInterval: 50, replicas: [{ name: "flaky", client, syncInterval: 0 }] }],
        logger: memoryLogger(),
      });
      const events = record(engine);
      await engine.start();
      try {
        client.mode = mode;
        await writer.insert(5, { rows: 10, size: 500 });
        await waitFor(() => engine.status()[0]!.replicas[0]!.lastError, { message: "lastError in status" });
        await expect(engine.sync(path)).rejects.toBeInstanceOf(BackupError);
        await writer.insert(5, { rows: 10, size: 500 }); // more commits while failing
        await waitFor(() => client.failures >= 3, { timeoutMs: 15_000, message: "a few retries" });
        expect(events.checkpoints).toEqual([]); // never past frames a replica lacks
        const status = engine.status()[0]!.replicas[0]!;
        expect(status.lastError).toMatch(/injected failure/);
        expect(status.lagMs).toBeGreaterThan(0);
        expect(events.errors.length).toBeGreaterThan(0);
        expect(engine.metrics()).toMatch(/litestream_sync_error_count\{db="[^"]+"\} [1-9]/);

        client.mode = "ok";
        await engine.sync(path);
        expect(engine.status()[0]!.replicas[0]!.lastError).toBeUndefined();
        expect(engine.status()[0]!.replicas[0]!.lagMs).toBe(0);
        const chain = await checkChain(client);
        expect(chain.l0.map((f) => f.minTXID)).toEqual(chain.l0.map((_, i) => i + 2)); // no TXID skipped
        expect(events.snapshots).toHaveLength(1);
        const restored = await restoreLatest(client);
        expect(restored.checksum).toBe(sourceImage(path).checksum);
        expect(queryImage(restored.bytes, "SELECT count(*) AS n FROM t")).toEqual([{ n: 100 }]);
        await waitFor(() => events.checkpoints.length > 0, { message: "a checkpoint once the replica caught up" });
      } finally {
        await engine.stop();
        await writer.close();
      }
    }, 60_000);
  }
});
