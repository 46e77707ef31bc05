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
        // Failing before the write, a sync fails. Failing after it, the file landed: the
        // retry finds it there with its checksums and counts it as written.
        if (mode === "before") await expect(engine.sync(path)).rejects.toBeInstanceOf(BackupError);
        else await engine.sync(path).catch((err: unknown) => expect(err).toBeInstanceOf(BackupError));
        await writer.insert(5, { rows: 10, size: 500 }); // more commits while failing
        await waitFor(() => client.failures >= (mode === "before" ? 3 : 2), { timeoutMs: 15_000, message: "a few retries" });
        if (mode === "before") {
          // What the replica lacks is in the local log: checkpoints need not wait for it.
          const status = engine.status()[0]!.replicas[0]!;
          expect(status.pendingTXIDs).toBeGreaterThan(0);
          expect(status.lastError).toMatch(/injected failure/);
          expect(status.lagMs).toBeGreaterThan(0);
        }
        expect(events.errors.length).toBeGreaterThan(0);
        expect(await engine.metrics()).toMatch(/litestream_sync_error_count\{db="[^"]+"\} [1-9]/);

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

describe("a replica that cannot keep up", () => {
  it("never holds the WAL back: the TRUNCATE runs while it fails, and it then catches up from the local log without a snapshot; the other carries on", async () => {
    const path = tmp.join("behind.db");
    const writer = await Writer.open(path);
    await writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    const flaky = new FlakyClient(createFileReplicaClient(tmp.join("behind-flaky")));
    const healthy = createFileReplicaClient(tmp.join("behind-healthy"));
    const engine = new BackupEngine({
      databases: [
        {
          path,
          truncatePageCount: 30,
          monitorInterval: 50,
          replicas: [
            { name: "flaky", client: flaky, syncInterval: 0 },
            { name: "healthy", client: healthy, syncInterval: 0 },
          ],
        },
      ],
      logger: memoryLogger(),
    });
    const events = record(engine);
    await engine.start();
    try {
      await writer.insert(2);
      await engine.sync();
      flaky.mode = "before";
      await writer.insert(1, { rows: 150, size: 1000 }); // ~45 frames, past the threshold
      await waitFor(() => events.checkpoints.some((c) => c.mode === "TRUNCATE" && c.busy === 0), { message: "a TRUNCATE while a replica fails", timeoutMs: 15_000 });
      await writer.insert(2);
      flaky.mode = "ok";
      await waitFor(() => engine.status()[0]!.replicas[0]!.lastError === undefined, { message: "the flaky replica recovered", timeoutMs: 15_000 });
      await engine.sync();
      // Each replica has its initial snapshot only: the flaky one uploaded what it missed from the log.
      expect(events.snapshots.filter((s) => s.replica === "flaky")).toHaveLength(1);
      expect(events.snapshots.filter((s) => s.replica === "healthy")).toHaveLength(1);
      for (const client of [flaky, healthy]) {
        const chain = await checkChain(client);
        expect(chain.l0.map((f) => f.minTXID)).toEqual(chain.l0.map((_, i) => i + 2)); // no TXID skipped
        const restored = await restoreLatest(client);
        expect(restored.checksum).toBe(sourceImage(path).checksum);
      }
    } finally {
      await engine.stop();
      await writer.close();
    }
  }, 60_000);
});
