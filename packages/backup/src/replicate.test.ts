/** Tests of replication from a real SQLite writer at 1, 4 and 64 KiB pages: every row arrives, level 0 is contiguous with true checksums, batches are bounded. */
import { afterAll, describe, expect, it } from "vitest";
import { createFileReplicaClient } from "@sqlrep/replica";
import { tempDir } from "@sqlrep/testkit";
import { BackupEngine } from "./index.js";
import { memoryLogger, record } from "./testing/harness.js";
import { checkChain, queryImage, restoreLatest, sourceImage } from "./testing/replica-check.js";
import { Writer } from "./testing/writer.js";

const tmp = tempDir("sqlrep-backup-replicate-");
afterAll(() => tmp.remove());

describe.each([1024, 4096, 65536])("replicating a database with %i-byte pages", (pageSize) => {
  it("uploads every committed row; level 0 is contiguous and each TXID's checksum is the database's at that point; VACUUM drops pages", async () => {
    const path = tmp.join(`db-${pageSize}.db`);
    const writer = await Writer.open(path, { pageSize });
    const client = createFileReplicaClient(tmp.join(`replica-${pageSize}`));
    const engine = new BackupEngine({ databases: [{ path, replicas: [{ name: "dir", client }] }], logger: memoryLogger() });
    const events = record(engine);
    try {
      await writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
      await writer.insert(3, { rows: 5 });
      await engine.start();
      const states = new Map<number, bigint>(); // TXID → the real database's checksum when the replica reached it
      const remember = (txid: number) => states.set(txid, sourceImage(path).checksum);
      const steps: (() => Promise<unknown>)[] = [
        () => writer.insert(1),
        () => writer.insert(4, { rows: 40, size: 3000 }), // grows the database
        () => writer.exec("UPDATE t SET v = upper(v) WHERE id % 3 = 0"),
        () => writer.exec("DELETE FROM t WHERE id > 20"),
        () => writer.exec("VACUUM"), // shrinks it
        () => writer.insert(2, { rows: 3 }),
        () => writer.exec("CREATE INDEX t_v ON t (v)"),
      ];
      for (const step of steps) {
        await step();
        const [result] = await engine.sync(path);
        remember(result!.txid);
      }
      await engine.stop();

      const chain = await checkChain(client);
      expect(chain.snapshots.map((s) => s.maxTXID)).toEqual([1]); // the initial snapshot, in level 9 only
      expect(chain.l0[0]!.minTXID).toBe(2);
      expect(chain.l0.map((f) => f.minTXID)).toEqual(chain.l0.map((_, i) => i + 2)); // contiguous after it
      let checked = 0;
      for (const f of chain.l0) {
        const real = states.get(f.maxTXID);
        if (real === undefined) continue;
        expect(f.post, `TXID ${f.maxTXID}`).toBe(real);
        checked++;
      }
      expect(checked).toBe(steps.length);
      const commits = chain.l0.map((f) => f.header.commit);
      expect(Math.min(...commits.slice(commits.indexOf(Math.max(...commits))))).toBeLessThan(Math.max(...commits)); // VACUUM shrank it

      const restored = await restoreLatest(client);
      const source = sourceImage(path);
      expect(restored.txid).toBe(chain.txid);
      expect(restored.checksum).toBe(source.checksum);
      expect(Buffer.compare(Buffer.from(restored.bytes), Buffer.from(source.bytes))).toBe(0);
      expect(queryImage(restored.bytes, "PRAGMA integrity_check")).toEqual([{ integrity_check: "ok" }]);
      expect(queryImage(restored.bytes, "SELECT count(*) AS n FROM t")).toEqual([{ n: 20 + 6 }]);
      expect(events.errors).toEqual([]);
    } finally {
      await engine.stop();
      await writer.close();
    }
  }, 60_000);
});

describe("batches", () => {
  it("never splits a transaction, and bounds how much WAL one level-0 file takes", async () => {
    const path = tmp.join("batches.db");
    const writer = await Writer.open(path);
    const client = createFileReplicaClient(tmp.join("replica-batches"));
    const maxBatchBytes = 64 * 1024;
    const engine = new BackupEngine({
      databases: [{ path, maxBatchBytes, replicas: [{ name: "dir", client, syncInterval: 60_000 }] }],
      logger: memoryLogger(),
    });
    try {
      await writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
      await engine.start();
      // One transaction of ~1 MB, far above the bound, then 30 small ones held back by the throttle.
      const valid = new Set<bigint>();
      await writer.insert(1, { rows: 250, size: 4000 });
      valid.add(sourceImage(path).checksum);
      await engine.sync(path);
      for (let i = 0; i < 30; i++) {
        await writer.insert(1, { rows: 4, size: 1500 });
        valid.add(sourceImage(path).checksum);
      }
      await engine.sync(path);
      const chain = await checkChain(client);
      const big = chain.l0.find((f) => f.header.walSize > 1_000_000);
      expect(big, "the large transaction in one file").toBeDefined();
      const small = chain.l0.filter((f) => f.minTXID > big!.maxTXID);
      expect(small.length).toBeGreaterThan(2); // the backlog went out in several files…
      for (const f of small) {
        expect(f.header.walSize).toBeLessThanOrEqual(maxBatchBytes); // …each within the bound…
        expect(valid.has(f.post), `TXID ${f.maxTXID} ends on a commit`).toBe(true); // …and each ending on a commit
      }
      const restored = await restoreLatest(client);
      expect(restored.checksum).toBe(sourceImage(path).checksum);
    } finally {
      await engine.stop();
      await writer.close();
    }
  }, 60_000);
});
