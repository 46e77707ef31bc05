/** Tests of the engine replicating to a real S3 server (s3rver on 127.0.0.1): resume without a snapshot, retried failures, restore with @sqlrep/replica. */
import { afterAll, describe, expect, it } from "vitest";
import { restore, type ReplicaClient } from "@sqlrep/replica";
import { createS3ReplicaClient, parseS3Url, type S3ObjectStore } from "@sqlrep/replica-s3";
import { startS3Server, tempDir, waitFor } from "@sqlrep/testkit";
import { BackupEngine } from "./index.js";
import { FlakyClient } from "./testing/flaky-client.js";
import { memoryLogger, record, sleep } from "./testing/harness.js";
import { checkChain, queryImage, restoreLatest, sourceImage } from "./testing/replica-check.js";
import { Writer } from "./testing/writer.js";

const tmp = tempDir("sqlrep-backup-s3-");
const s3 = await startS3Server();
const clients: ReplicaClient[] = [];
afterAll(async () => {
  for (const c of clients) (c.store as S3ObjectStore).destroy();
  await s3.stop();
  tmp.remove();
}, 30_000);

const env = { LITESTREAM_ACCESS_KEY_ID: s3.accessKeyId, LITESTREAM_SECRET_ACCESS_KEY: s3.secretAccessKey };
function s3Client(prefix: string): ReplicaClient {
  const client = createS3ReplicaClient(parseS3Url(s3.url(prefix)), { env });
  clients.push(client);
  return client;
}

describe("replicating to S3 (s3rver on 127.0.0.1)", () => {
  it("uploads every commit, resumes after a restart without a snapshot, and restores with @sqlrep/replica's restore", async () => {
    const path = tmp.join("s3.db");
    const writer = await Writer.open(path);
    await writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    const client = s3Client("backup/s3.db");
    const options = { path, replicas: [{ name: "s3", client, syncInterval: 100 }] };
    try {
      let engine = new BackupEngine({ databases: [options], logger: memoryLogger() });
      let events = record(engine);
      await engine.start();
      const latencies: number[] = [];
      for (let i = 0; i < 8; i++) {
        await sleep(150);
        const seen = events.synced.length;
        const started = Date.now();
        await writer.insert(1, { rows: 20, size: 400 });
        await waitFor(() => events.synced.length > seen, { intervalMs: 1, message: "synced" });
        latencies.push(Date.now() - started);
      }
      latencies.sort((a, b) => a - b);
      console.log(`commit → synced on S3 (s3rver, loopback): p50 ${latencies[Math.floor(latencies.length / 2)]} ms, max ${latencies.at(-1)} ms`);
      await engine.stop();
      const txid = events.synced.at(-1)!.txid;

      await writer.insert(3, { rows: 5 });
      engine = new BackupEngine({ databases: [options], logger: memoryLogger() });
      events = record(engine);
      await engine.start();
      await engine.sync();
      await engine.stop();
      expect(events.snapshots).toEqual([]);
      expect(events.synced[0]!.minTXID).toBe(txid + 1);

      const chain = await checkChain(client);
      expect(chain.l0.map((f) => f.minTXID)).toEqual(chain.l0.map((_, i) => i + 2));
      const output = tmp.join("s3-restored.db");
      const result = await restore(client, { output });
      expect(result.checksumVerified).toBe(true);
      expect(result.databaseChecksum).toBe(sourceImage(path).checksum);
      expect(result.txid).toBe(chain.txid);
    } finally {
      await writer.close();
    }
  }, 60_000);

  it("retries S3 upload failures and loses nothing; two replicas (S3 and a directory) on one database", async () => {
    const path = tmp.join("s3-flaky.db");
    const writer = await Writer.open(path);
    await writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    const flaky = new FlakyClient(s3Client("backup/flaky.db"));
    const { createFileReplicaClient } = await import("@sqlrep/replica");
    const dir = createFileReplicaClient(tmp.join("s3-flaky-dir"));
    const engine = new BackupEngine({
      databases: [
        {
          path,
          replicas: [
            { name: "s3", client: flaky, syncInterval: 0 },
            { name: "dir", client: dir, syncInterval: 0 },
          ],
        },
      ],
      logger: memoryLogger(),
    });
    await engine.start();
    try {
      flaky.mode = "after";
      await writer.insert(4, { rows: 10 });
      await waitFor(() => flaky.failures >= 2, { timeoutMs: 15_000, message: "failed uploads" });
      expect(engine.status()[0]!.replicas.map((r) => [r.name, r.lastError === undefined])).toEqual([
        ["s3", false],
        ["dir", true],
      ]);
      flaky.mode = "ok";
      await writer.insert(2);
      await engine.sync();
      for (const client of [flaky, dir]) {
        await checkChain(client);
        const restored = await restoreLatest(client);
        expect(restored.checksum).toBe(sourceImage(path).checksum);
        expect(queryImage(restored.bytes, "SELECT count(*) AS n FROM t")).toEqual([{ n: 42 }]);
      }
      expect(await engine.metrics()).toMatch(/litestream_replica_operation_total\{replica_type="s3",operation="PUT"\} \d+/);
    } finally {
      await engine.stop();
      await writer.close();
    }
  }, 60_000);
});
