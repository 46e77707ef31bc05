/**
 * Unit tests of a shipper's upkeep on a ManualClock: compaction into level 1 after
 * level-0 writes (and past another writer's region after a snapshot), retention only at
 * planned moments, periodic snapshots, validation.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { tempDir } from "@sqlrep/testkit";
import { elapse } from "./testing/drive.js";
import { harness, type Harness } from "./testing/harness.js";
import { levelFiles, replicaFiles, restoreLatest, writeForeignChain } from "./testing/replica-files.js";

const tmp = tempDir("sqlrep-shipper-upkeep-");
afterAll(() => tmp.remove());

let n = 0;
const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

const MIN = 60_000;

/** A harness whose database holds pages 1…3 at a lineage break at TXID 1, not started. */
function setup(options: Parameters<typeof harness>[1] = {}): Harness {
  const h = harness(tmp.join(`case-${n++}`), options);
  open.push(h);
  h.feeder.tamper([1, 2, 3]);
  h.feeder.startLineage();
  return h;
}

/** One commit a second for `count` seconds (each its own level-0 upload). */
async function commitEverySecond(h: Harness, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    h.feeder.commit([1 + (i % 3)]);
    await elapse(h.clock, h.client, 1000, 1000);
  }
}

async function expectRestoresToNow(h: Harness): Promise<void> {
  const { result, bytes } = await restoreLatest(h.client, tmp.path);
  expect(result.txid).toBe(h.log.tip!.txid);
  expect(bytes).toEqual(h.feeder.db.bytes());
}

describe("LtxShipper maintenance: compaction", () => {
  it("compacts level 0 into level 1 after level-0 writes, and costs no request while nothing is written", async () => {
    const h = setup({ shipper: { levels: [{ level: 1, interval: 10_000 }] } });
    await h.start();
    await commitEverySecond(h, 5);
    expect(await levelFiles(h.client, 0)).toEqual(["2-2", "3-3", "4-4", "5-5", "6-6"]);
    await elapse(h.clock, h.client, 7000, 1000);
    expect(await levelFiles(h.client, 1)).toEqual(["2-6"]);

    // Idle: compaction ticks, but asks the replica nothing.
    const requests = h.client.total;
    await elapse(h.clock, h.client, 60_000, 1000);
    expect(h.client.total).toBe(requests);

    await commitEverySecond(h, 1);
    await elapse(h.clock, h.client, 12_000, 1000);
    expect(await levelFiles(h.client, 1)).toEqual(["2-6", "7-7"]);
    expect(h.eventsOf("failed")).toEqual([]);
    await expectRestoresToNow(h);
  });

  it("after a snapshot above another writer's files, compaction starts after the snapshot (skipTo)", async () => {
    const h = setup({ shipper: { levels: [{ level: 1, interval: 10_000 }] } });
    // Another writer's chain 1…5: contiguous, and compactable on its own.
    await writeForeignChain(h.client, 1, 5);
    await h.start();
    expect(h.shipper.txid).toBe(6);
    await commitEverySecond(h, 2);
    await elapse(h.clock, h.client, 12_000, 1000);
    // Level 1 holds only our files after the snapshot, none of the region below it.
    expect(await levelFiles(h.client, 1)).toEqual(["7-8"]);
    expect(h.eventsOf("failed")).toEqual([]);
    await expectRestoresToNow(h);
  });

  it("a compaction that meets files that do not chain writes nothing, and the shipper snapshots above them", async () => {
    const h = setup({ shipper: { levels: [{ level: 1, interval: 10_000 }] } });
    await h.start();
    await commitEverySecond(h, 1);
    // Another writer adds TXID 3, not continuing our checksum.
    await writeForeignChain(h.client, 3, 3, 0, 99);
    await elapse(h.clock, h.client, 12_000, 1000);
    expect(await levelFiles(h.client, 1)).toEqual([]);
    expect(h.eventsOf("failed").map((e) => e.what)).toContain("compaction into level 1");
    expect(h.eventsOf("conflict").map((e) => e.message)).toEqual([expect.stringMatching(/compaction found files that do not chain/)]);
    expect(await levelFiles(h.client, 9)).toEqual(["1-1", "1-4"]);
    expect(h.shipper.txid).toBe(4);
    await expectRestoresToNow(h);
  });
});

describe("LtxShipper maintenance: retention", () => {
  it("runs only at the moments planned (after a snapshot, a level-1 compaction, l0Retention later, snapshotRetention later)", async () => {
    const h = setup({ shipper: { levels: [{ level: 1, interval: 10_000 }], retentionEnabled: true, l0Retention: MIN, snapshotRetention: 60 * MIN } });
    const t0 = h.clock.now();
    await h.start();
    await commitEverySecond(h, 5);
    await elapse(h.clock, h.client, 3 * MIN - 5000, 1000);
    await elapse(h.clock, h.client, 117 * MIN, MIN);
    // A retention run lists every level; besides it only the first pass's look at the replica lists level 5 here.
    const [resume, ...runs] = h.client.lists.filter((l) => l.level === 5).map((l) => (l.at - t0) / MIN);
    expect(resume).toBe(0);
    expect(runs).toEqual([0, 1, 2, 60]);
    // The level-0 files level 1 covers went once l0Retention old, the last one of the level stays.
    expect(await levelFiles(h.client, 1)).toEqual(["2-6"]);
    expect(await levelFiles(h.client, 0)).toEqual(["6-6"]);
    await expectRestoresToNow(h);
  });

  it("never runs when disabled", async () => {
    const h = setup({ shipper: { levels: [{ level: 1, interval: 10_000 }], retentionEnabled: false, l0Retention: MIN } });
    await h.start();
    await commitEverySecond(h, 3);
    await elapse(h.clock, h.client, 10 * MIN, 10_000);
    // Only the first pass's look at the replica lists level 5.
    expect(h.client.lists.filter((l) => l.level === 5)).toHaveLength(1);
    expect(h.client.requests.delete).toBe(0);
    expect(await levelFiles(h.client, 0)).toEqual(["2-2", "3-3", "4-4"]);
  });
});

describe("LtxShipper maintenance: snapshots and validation", () => {
  it("takes a periodic snapshot when something changed since the last, and skips an idle database", async () => {
    const h = setup({ shipper: { snapshotInterval: MIN } });
    await h.start();
    await commitEverySecond(h, 2);
    await elapse(h.clock, h.client, 70_000, 1000);
    expect(await levelFiles(h.client, 9)).toEqual(["1-1", "1-3"]);
    expect(h.eventsOf("snapshot").map((e) => e.reason)).toEqual(["initial snapshot of an empty replica", "periodic"]);
    await elapse(h.clock, h.client, 3 * MIN, 1000);
    expect(await levelFiles(h.client, 9)).toEqual(["1-1", "1-3"]);
    expect(h.feeder.snapshots).toBe(2);
    await expectRestoresToNow(h);
  });

  it("a periodic snapshot that overtakes level 0 (commits landed while an upload ran) still leaves every TXID in a level-0 file", async () => {
    const h = setup({ shipper: { snapshotInterval: MIN } });
    await h.start();
    await commitEverySecond(h, 2);
    await elapse(h.clock, h.client, 55_000, 1000);
    let release!: () => void;
    h.client.gate = new Promise<void>((resolve) => (release = resolve));
    h.feeder.commit([1]);
    const uploading = () => h.client.writes.some((w) => w.level === 0 && w.minTXID === 4);
    for (let i = 0; i < 100 && !uploading(); i++) {
      h.clock.advance(100);
      await new Promise((r) => setImmediate(r));
    }
    expect(uploading(), "TXID 4's upload started and is held").toBe(true);
    // The periodic snapshot falls due while TXID 4 uploads, and TXIDs 5 and 6 are committed.
    h.clock.advance(10_000);
    h.feeder.append([2]);
    h.feeder.append([3]);
    h.client.gate = undefined;
    release();
    await elapse(h.clock, h.client, 5000, 1000);
    expect(await levelFiles(h.client, 9)).toEqual(["1-1", "1-6"]);
    const levelZero = (await levelFiles(h.client, 0)).map((f) => f.split("-").map(Number) as [number, number]);
    const covered = new Set(levelZero.flatMap(([min, max]) => Array.from({ length: max - min + 1 }, (_, i) => min + i)));
    expect(
      [2, 3, 4, 5, 6].filter((t) => !covered.has(t)),
      "TXIDs in no level-0 file",
    ).toEqual([]);
    expect(
      levelZero.every(([min, max]) => max <= 6 || min > 6),
      "no level-0 file straddles the snapshot",
    ).toBe(true);
    await expectRestoresToNow(h);
  });

  it("validates the replica's chain against the checksums the log remembers, and reports a chain that broke", async () => {
    const h = setup({ shipper: { validationInterval: 10_000 } });
    await h.start();
    await commitEverySecond(h, 2);
    await elapse(h.clock, h.client, 11_000, 1000);
    expect(h.eventsOf("validated")[0]).toMatchObject({ ok: true, txid: 3 });
    expect(h.shipper.status().lastVerifiedAt?.getTime()).toBeGreaterThan(0);
    expect(h.shipper.status().validationError).toBeUndefined();

    // Another writer appends a file that does not continue the chain.
    await writeForeignChain(h.client, 4, 4, 0, 5);
    await elapse(h.clock, h.client, 11_000, 1000);
    const failed = h.eventsOf("validated").filter((e) => !e.ok);
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(failed[0]!.message).toMatch(/expects checksum/);
    expect(h.shipper.status().validationError).toMatch(/expects checksum/);
    expect(await replicaFiles(h.client)).toContain("L0 4-4");
  });
});

describe("LtxShipper on request (replicate -once)", () => {
  it("snapshotNow uploads a snapshot at the log's tip even when nothing changed since the last", async () => {
    const h = setup();
    await h.start();
    await commitEverySecond(h, 2);
    expect(await levelFiles(h.client, 9)).toEqual(["1-1"]);
    expect(await h.shipper.snapshotNow()).toBe(3);
    expect(await levelFiles(h.client, 9)).toEqual(["1-1", "1-3"]);
    // Nothing changed: asked again, it still writes one (at the same TXID it already holds, so the name is taken by our own file).
    expect(await h.shipper.snapshotNow()).toBe(3);
    expect(h.eventsOf("snapshot").map((e) => e.reason)).toEqual(["initial snapshot of an empty replica", "forced", "forced"]);
    await expectRestoresToNow(h);
    // Uploads go on after it.
    h.feeder.commit([2]);
    await elapse(h.clock, h.client, 1000);
    expect(await levelFiles(h.client, 0)).toContain("4-4");
    await expectRestoresToNow(h);
  });

  it("enforceRetention deletes what retention allows now, off schedule and even with retention disabled", async () => {
    const h = setup({ shipper: { levels: [{ level: 1, interval: 10_000 }], retentionEnabled: false, l0Retention: MIN, snapshotRetention: MIN } });
    await h.start();
    await commitEverySecond(h, 3);
    await elapse(h.clock, h.client, 20_000, 1000);
    expect(await levelFiles(h.client, 1)).toEqual(["2-4"]);
    expect(await h.shipper.snapshotNow()).toBe(4);
    await elapse(h.clock, h.client, 2 * MIN, 10_000);
    expect(h.client.requests.delete).toBe(0);
    const deleted = await h.shipper.enforceRetention();
    expect(deleted).toBeGreaterThan(0);
    expect(h.client.requests.delete).toBeGreaterThan(0);
    // The older snapshot went; the newest stays and the replica still restores.
    expect(await levelFiles(h.client, 9)).toEqual(["1-4"]);
    await expectRestoresToNow(h);
  });
});
