/** Tests of an engine restart against a real database and replica: it continues level 0 without a snapshot when it can, and takes one only when it must. */
import { existsSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { createFileReplicaClient, type ReplicaClient } from "@sqlrep/replica";
import { tempDir } from "@sqlrep/testkit";
import { BackupEngine, type DatabaseOptions } from "./index.js";
import { memoryLogger, record, type Recorded } from "./testing/harness.js";
import { checkChain, queryImage, restoreLatest, sourceImage } from "./testing/replica-check.js";
import { Writer } from "./testing/writer.js";

const tmp = tempDir("sqlrep-backup-resume-");
afterAll(() => tmp.remove());

let n = 0;
async function setup(): Promise<{ path: string; client: ReplicaClient; writer: Writer }> {
  const name = `db${++n}`;
  const path = tmp.join(`${name}.db`);
  const writer = await Writer.open(path);
  await writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
  await writer.insert(5, { rows: 10 });
  return { path, client: createFileReplicaClient(tmp.join(`${name}-replica`)), writer };
}

/** Runs an engine until `body` returns, then stops it gracefully. */
async function session(options: DatabaseOptions, body: (engine: BackupEngine, events: Recorded) => Promise<void>): Promise<Recorded> {
  const engine = new BackupEngine({ databases: [options], logger: memoryLogger() });
  const events = record(engine);
  await engine.start();
  try {
    await body(engine, events);
  } finally {
    await engine.stop();
  }
  return events;
}

/** The replica's newest state must be the database's, and its chain must hold. */
async function expectReplicaEqualsSource(client: ReplicaClient, path: string): Promise<void> {
  await checkChain(client);
  const restored = await restoreLatest(client);
  const source = sourceImage(path);
  expect(restored.checksum).toBe(source.checksum);
  expect(queryImage(restored.bytes, "PRAGMA integrity_check")).toEqual([{ integrity_check: "ok" }]);
}

describe("resuming after a restart", () => {
  it("continues level 0 with no snapshot while the application keeps its connection", async () => {
    const { path, client, writer } = await setup();
    try {
      const first = await session({ path, replicas: [{ name: "dir", client }] }, async (engine) => {
        await writer.insert(3);
        await engine.sync();
      });
      const txid = first.synced.at(-1)!.txid;
      await writer.insert(4, { rows: 20 }); // committed while nothing replicates
      const second = await session({ path, replicas: [{ name: "dir", client }] }, async (engine) => {
        await engine.sync();
        await writer.insert(1);
        await engine.sync();
      });
      expect(second.snapshots).toEqual([]);
      expect(second.synced[0]!.minTXID).toBe(txid + 1);
      await expectReplicaEqualsSource(client, path);
    } finally {
      await writer.close();
    }
  }, 60_000);

  it("continues with no snapshot when the engine was the last connection and SQLite removed the WAL on close", async () => {
    const { path, client, writer } = await setup();
    const first = await session({ path, replicas: [{ name: "dir", client }] }, async (engine) => {
      await writer.insert(3);
      await writer.close(); // the engine's connections are now the last ones
      await engine.sync();
    });
    expect(existsSync(`${path}-wal`)).toBe(false); // checkpointed and deleted by SQLite on our close
    const again = await Writer.open(path);
    try {
      const second = await session({ path, replicas: [{ name: "dir", client }] }, async (engine) => {
        await again.insert(2);
        await engine.sync();
      });
      expect(second.snapshots).toEqual([]);
      expect(second.synced[0]!.minTXID).toBe(first.synced.at(-1)!.txid + 1);
      await expectReplicaEqualsSource(client, path);
    } finally {
      await again.close();
    }
  }, 60_000);

  it("takes a snapshot at the next TXID when writes were checkpointed away (TRUNCATE) while stopped: no loss, no gap a restore sees", async () => {
    const { path, client, writer } = await setup();
    try {
      const first = await session({ path, replicas: [{ name: "dir", client }] }, async (engine) => {
        await engine.sync();
      });
      const txid = first.synced.at(-1)!.txid;
      await writer.insert(3, { rows: 10 }); // never seen by the engine…
      await writer.checkpoint("TRUNCATE"); // …and gone from the WAL
      await writer.insert(2, { rows: 5 });
      const second = await session({ path, replicas: [{ name: "dir", client }] }, async (engine) => {
        await engine.sync();
        await writer.insert(1);
        await engine.sync();
      });
      expect(second.snapshots.map((s) => s.txid)).toEqual([txid + 1]);
      const chain = await checkChain(client);
      expect(chain.l0.map((f) => f.minTXID).filter((t) => t > txid)).toEqual([txid + 2]); // level 0 skips only the snapshot's TXID
      await expectReplicaEqualsSource(client, path);
      const restored = await restoreLatest(client);
      expect(queryImage(restored.bytes, "SELECT count(*) AS n FROM t")).toEqual([{ n: 50 + 30 + 10 + 1 }]);
    } finally {
      await writer.close();
    }
  }, 60_000);

  it("needs no snapshot when a TRUNCATE while stopped only copied frames the replica already had", async () => {
    const { path, client, writer } = await setup();
    try {
      await session({ path, replicas: [{ name: "dir", client }] }, async (engine) => {
        await writer.insert(2);
        await engine.sync();
      });
      await writer.checkpoint("TRUNCATE");
      await writer.insert(2);
      const second = await session({ path, replicas: [{ name: "dir", client }] }, async (engine) => {
        await engine.sync();
      });
      expect(second.snapshots).toEqual([]);
      await expectReplicaEqualsSource(client, path);
    } finally {
      await writer.close();
    }
  }, 60_000);
});

describe("other connections checkpointing while the engine runs", () => {
  it("loses nothing and follows the WAL resets without snapshots (PASSIVE and TRUNCATE by the application)", async () => {
    const { path, client, writer } = await setup();
    try {
      const events = await session({ path, replicas: [{ name: "dir", client, syncInterval: 0 }] }, async (engine) => {
        for (let round = 0; round < 6; round++) {
          await writer.insert(3, { rows: 5 });
          await engine.sync();
          const [result] = await writer.checkpoint(round % 2 === 0 ? "PASSIVE" : "TRUNCATE");
          expect(result!.busy).toBe(0);
          await writer.insert(2, { rows: 3 });
          await engine.sync();
        }
      });
      expect(events.snapshots.map((s) => s.reason)).toEqual(["initial snapshot of an empty replica"]);
      const chain = await checkChain(client);
      expect(new Set(chain.l0.map((f) => f.header.walSalt1)).size).toBeGreaterThanOrEqual(4); // the WAL really was reset (every TRUNCATE, some PASSIVEs)
      await expectReplicaEqualsSource(client, path);
      const restored = await restoreLatest(client);
      expect(queryImage(restored.bytes, "SELECT count(*) AS n FROM t")).toEqual([{ n: 50 + 6 * 21 }]);
    } finally {
      await writer.close();
    }
  }, 60_000);
});
