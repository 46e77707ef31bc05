/**
 * Test that large transactions and snapshots are streamed to the replica page by page, never held whole in
 * memory (referenced array-buffer memory measured per upload, with a real writer).
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, describe, expect, it } from "vitest";
import { createFileReplicaClient, type LtxFileInfo, type LtxFileRef, type WriteLtxOptions } from "@sqlrep/replica";
import { tempDir } from "@sqlrep/testkit";
import { BackupEngine } from "./index.js";
import { FlakyClient } from "./testing/flaky-client.js";
import { memoryLogger } from "./testing/harness.js";
import { restoreLatest, sourceImage } from "./testing/replica-check.js";
import { Writer } from "./testing/writer.js";

const tmp = tempDir("sqlrep-backup-streaming-");
afterAll(() => tmp.remove());

// A full collection on demand, so what is measured is memory still referenced, not garbage.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Records, for every upload, the largest chunk and how much array-buffer memory stayed referenced while it was consumed. */
class MeasuringClient extends FlakyClient {
  uploads: { ref: LtxFileRef; bytes: number; maxChunk: number; growth: number; streamed: boolean }[] = [];

  override async writeLtxFile(file: LtxFileRef, body: Uint8Array | AsyncIterable<Uint8Array>, options?: WriteLtxOptions): Promise<LtxFileInfo> {
    gc();
    const base = process.memoryUsage().arrayBuffers;
    const record = { ref: file, bytes: 0, maxChunk: 0, growth: 0, streamed: !(body instanceof Uint8Array) };
    this.uploads.push(record);
    const measured =
      body instanceof Uint8Array
        ? body
        : (async function* () {
            let n = 0;
            for await (const chunk of body) {
              record.bytes += chunk.length;
              record.maxChunk = Math.max(record.maxChunk, chunk.length);
              if (++n % 16 === 0) {
                gc();
                await new Promise((r) => setTimeout(r, 5)); // let the sweeper free what the collection released
                gc();
                record.growth = Math.max(record.growth, process.memoryUsage().arrayBuffers - base);
              }
              yield chunk;
            }
          })();
    return super.writeLtxFile(file, measured, options);
  }
}

describe("streaming uploads", () => {
  it("never holds a large transaction or snapshot in memory: pages are encoded while the client consumes them", async () => {
    const path = tmp.join("large.db");
    const writer = await Writer.open(path);
    await writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
    await writer.exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 8000) INSERT INTO t (v) SELECT randomblob(3000) FROM n"); // ~30 MB before the engine starts
    const client = new MeasuringClient(createFileReplicaClient(tmp.join("large-replica")));
    const engine = new BackupEngine({ databases: [{ path, replicas: [{ name: "dir", client }] }], logger: memoryLogger() });
    await engine.start(); // the initial snapshot: the whole database
    try {
      await writer.exec("UPDATE t SET v = randomblob(3000)"); // one transaction rewriting ~30 MB
      await engine.sync();
      const snapshot = client.uploads.find((u) => u.ref.level === 9)!;
      const big = client.uploads.find((u) => u.ref.level === 0 && u.bytes > 20_000_000)!;
      for (const u of [snapshot, big]) {
        expect(u.streamed).toBe(true);
        expect(u.bytes).toBeGreaterThan(20_000_000);
        expect(u.maxChunk).toBeLessThanOrEqual(512 * 1024);
        expect(u.growth, `array buffers still referenced while uploading ${u.bytes} bytes`).toBeLessThan(4 << 20);
      }
      console.log(
        `snapshot of ${snapshot.bytes} B: chunks ≤ ${snapshot.maxChunk} B, array buffers referenced ≤ ${snapshot.growth} B; one transaction of ${big.bytes} B: chunks ≤ ${big.maxChunk} B, referenced ≤ ${big.growth} B`,
      );
      const restored = await restoreLatest(client);
      expect(restored.checksum).toBe(sourceImage(path).checksum);
    } finally {
      await engine.stop();
      await writer.close();
    }
  }, 120_000);
});
