/** Tests of enforceRetention on a directory replica: what it keeps and deletes, and that concurrent retention and compaction never break a restore. */
import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir, type TempDir } from "@sqlrep/testkit";
import { compactLevel } from "./compaction.js";
import { isReplicaError } from "./errors.js";
import { createFileReplicaClient } from "./file-replica.js";
import type { LtxFileRef, ReplicaClient } from "./replica-client.js";
import { planRestore } from "./restore-plan.js";
import { restore } from "./restore.js";
import { enforceRetention } from "./retention.js";
import { History, listAll, Rng } from "./testing/history.js";

let dir: TempDir;
let client: ReplicaClient;

beforeEach(() => {
  dir = tempDir("sqlrep-retention-");
  client = createFileReplicaClient(dir.join("replica"));
});
afterEach(() => dir.remove());

const names = (files: readonly LtxFileRef[]) => files.map((f) => `${f.level}:${f.minTXID}-${f.maxTXID}`).sort();

/** A history of `n` transactions exactly one second apart, TXID t at T0 + t s. */
function history(n: number): History {
  const h = new History(new Rng(11), { start: T0 });
  for (let t = 1; t <= n; t++) h.commitRandom({ step: [1000, 1000] });
  return h;
}
const T0 = Date.UTC(2025, 0, 1);
const at = (seconds: number) => new Date(T0 + seconds * 1000);

describe("enforceRetention", () => {
  it("keeps the snapshots a restore inside the window needs, and the files above the oldest kept", async () => {
    const h = history(40);
    for (const s of [5, 15, 25, 35]) await h.write(client, 9, 1, s);
    for (let t = 1; t <= 40; t++) await h.write(client, 0, t, t);
    await h.write(client, 1, 1, 10);
    await h.write(client, 1, 11, 20);
    await h.write(client, 2, 1, 20);
    // Left by an earlier configuration that compacted into level 4.
    await h.write(client, 4, 1, 10);
    await h.write(client, 4, 11, 30);
    // Window [now − 20 s, now] = [T0+20, T0+40]: snapshot 15 is the newest at or before its start.
    const { deleted } = await enforceRetention(client, { snapshotRetention: 20_000, l0Retention: 3600_000, levels: [1, 2], now: at(40) });
    expect(names(deleted)).toEqual(
      names([
        { level: 9, minTXID: 1, maxTXID: 5 },
        ...[...Array(15).keys()].map((i) => ({ level: 0, minTXID: i + 1, maxTXID: i + 1 })),
        { level: 1, minTXID: 1, maxTXID: 10 },
        { level: 4, minTXID: 1, maxTXID: 10 },
      ]),
    );
    // Level 2 keeps its last (only) file although it ends below the floor.
    expect(names(await listAll(client))).toContain("2:1-20");
    // Every time in the window still restores, to a state committed at or before it.
    for (let s = 20; s <= 40; s += 0.5) {
      const plan = await planRestore(client, { timestamp: at(s) });
      expect(plan.txid).toBe(Math.floor(s));
    }
  });

  it("always keeps the newest snapshot and each level's last file", async () => {
    const h = history(10);
    await h.write(client, 9, 1, 3);
    await h.write(client, 9, 1, 6);
    for (let t = 1; t <= 6; t++) await h.write(client, 0, t, t);
    await h.write(client, 1, 1, 4);
    const { deleted } = await enforceRetention(client, { snapshotRetention: 0, l0Retention: 0, levels: [1], now: at(100) });
    expect(names(deleted)).toEqual(names([{ level: 9, minTXID: 1, maxTXID: 3 }, ...[1, 2, 3, 4, 5].map((t) => ({ level: 0, minTXID: t, maxTXID: t }))]));
    expect(names(await listAll(client))).toEqual(["0:6-6", "1:1-4", "9:1-6"]);
    expect((await planRestore(client)).txid).toBe(6);
  });

  it("deletes level-0 files covered by level 1 once old enough, stopping at the first too recent", async () => {
    const h = history(12);
    await h.write(client, 9, 1, 1);
    for (let t = 1; t <= 12; t++) await h.write(client, 0, t, t);
    await h.write(client, 1, 2, 10);
    // now = T0+12 s, l0Retention 5 s: files at or before T0+7 s may go (and ≤ TXID 10, level 1's highest).
    const { deleted } = await enforceRetention(client, { snapshotRetention: 3600_000, l0Retention: 5000, levels: [1, 2, 3], now: at(12) });
    expect(names(deleted)).toEqual(names([1, 2, 3, 4, 5, 6, 7].map((t) => ({ level: 0, minTXID: t, maxTXID: t }))));
    // Below level 1's timestamp the granularity is gone (Litestream's model): 9 s lands on TXID 1.
    expect((await planRestore(client, { timestamp: at(9) })).txid).toBe(1);
    expect((await planRestore(client, { timestamp: at(10) })).txid).toBe(10);
    expect((await planRestore(client, { timestamp: at(11) })).txid).toBe(11);
  });

  it("keeps a level-0 file starting at TXID 1 while no snapshot is as old", async () => {
    const h = history(6);
    for (let t = 1; t <= 6; t++) await h.write(client, 0, t, t);
    await h.write(client, 1, 1, 4);
    const { deleted } = await enforceRetention(client, { snapshotRetention: 3600_000, l0Retention: 0, levels: [1], now: at(6) });
    expect(deleted).toEqual([]);
    expect((await planRestore(client, { timestamp: at(1) })).txid).toBe(1);
  });

  it("rejects impossible options", async () => {
    for (const options of [
      { snapshotRetention: -1, l0Retention: 0, levels: [] },
      { snapshotRetention: 0, l0Retention: Number.NaN, levels: [] },
      { snapshotRetention: 0, l0Retention: 0, levels: [9] },
    ]) {
      expect(isReplicaError(await enforceRetention(client, options).catch((e: unknown) => e), "invalid-config")).toBe(true);
    }
  });
});

describe("retention and compaction concurrently with restores", () => {
  it("never breaks a restore to a time inside the window", async () => {
    const rng = new Rng(2024);
    const h = new History(rng, { start: T0 });
    const window = 60_000; // one simulated minute: TXIDs are a second apart
    await h.write(client, 0, h.commitRandom({ step: [1000, 1000] }), 1);
    await h.write(client, 9, 1, 1);
    let done = false;
    const engine = (async () => {
      try {
        for (let i = 0; i < 300; i++) {
          const t = h.commitRandom({ step: [1000, 1000] });
          await h.write(client, 0, t, t);
          if (t % 7 === 0) await compactLevel(client, 1);
          if (t % 29 === 0) await compactLevel(client, 2);
          if (t % 45 === 0) await h.write(client, 9, 1, t);
          if (t % 5 === 0) await enforceRetention(client, { snapshotRetention: window, l0Retention: 10_000, levels: [1, 2], now: new Date(h.timestamp(t)) });
          await new Promise((r) => setImmediate(r));
        }
      } finally {
        done = true;
      }
    })();
    let restores = 0;
    const replicaOf = (t: number) => h.db(t);
    const readers = [0, 1].map(async (id) => {
      while (!done) {
        const now = h.timestamp(h.txid);
        // Inside the window with room to spare: the window moves on while the restore runs.
        const time = Math.max(h.timestamp(1), now - rng.int(0, window - 20_000));
        const output = dir.join(`db-${id}-${restores++}`);
        const result = await restore(client, { output, target: { timestamp: new Date(time) } });
        expect(h.timestamp(result.txid)).toBeLessThanOrEqual(time);
        expect(Buffer.compare(readFileSync(output), replicaOf(result.txid)), `restore to ${time} (TXID ${result.txid})`).toBe(0);
      }
    });
    await Promise.all([engine, ...readers]);
    expect(restores).toBeGreaterThan(20);
    expect((await listAll(client)).length).toBeLessThan(120); // retention kept up
  }, 60_000);
});
