/**
 * Unit tests of LtxShipper, where it continues a replica: the first snapshot, a resume,
 * another writer's files, lineage breaks, entries lost before upload, create-only
 * writes. A real directory replica, real LTX files, a ManualClock.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { tempDir } from "@sqlrep/testkit";
import { LtxLog } from "./ltx-log.js";
import { elapse } from "./testing/drive.js";
import { harness, type Harness } from "./testing/harness.js";
import { TestFeeder } from "./testing/memory-db.js";
import { fileBytes, replicaFiles, restoreLatest, writeForeignChain } from "./testing/replica-files.js";

const tmp = tempDir("sqlrep-shipper-");
afterAll(() => tmp.remove());

let n = 0;
const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

/** A harness in a fresh directory whose database holds pages 1…3 at a lineage break at TXID 1. */
function setup(options: Parameters<typeof harness>[1] = {}): Harness {
  const root = tmp.join(`case-${n++}`);
  const h = harness(root, options);
  if (options.feeder === undefined) {
    h.feeder.tamper([1, 2, 3]);
    h.feeder.startLineage();
  }
  open.push(h);
  return h;
}

/** The replica restores to exactly the feeder's database as it is now. */
async function expectRestoresToNow(h: Harness): Promise<void> {
  const { result, bytes } = await restoreLatest(h.client, tmp.path);
  expect(result.txid).toBe(h.log.tip!.txid);
  expect(result.databaseChecksum).toBe(h.feeder.db.checksum());
  expect(bytes).toEqual(h.feeder.db.bytes());
}

describe("LtxShipper: where it continues the replica", () => {
  it("snapshots an empty replica on its first pass, then uploads each change as the next TXID at level 0", async () => {
    const h = setup();
    h.feeder.commit([2, 4]);
    await h.start();
    expect(await replicaFiles(h.client)).toEqual(["L9 1-2"]);
    expect(h.shipper.txid).toBe(2);
    expect(h.shipper.resumed).toBe(true);
    expect(h.eventsOf("snapshot")).toMatchObject([{ txid: 2, reason: "initial snapshot of an empty replica", pages: 4 }]);
    expect(h.lines.find((l) => l.message === "taking the initial snapshot")?.level).toBe("info");
    await expectRestoresToNow(h);
    // The log keeps only its last entry once the replica has it.
    expect(h.log.entries.map((e) => e.maxTXID)).toEqual([2]);

    h.feeder.commit([1]);
    h.feeder.commit([5]);
    await elapse(h.clock, h.client, 1000);
    expect(await replicaFiles(h.client)).toEqual(["L0 3-3", "L9 1-2"]);
    expect(h.eventsOf("uploaded")).toMatchObject([{ level: 0, minTXID: 3, maxTXID: 3 }]);
    await expectRestoresToNow(h);
  });

  it("resumes at a replica tip the log knows: no snapshot, the next TXID at level 0", async () => {
    const h = setup();
    await h.start();
    h.feeder.commit([1]);
    await elapse(h.clock, h.client, 1000);
    await h.close();
    expect(await replicaFiles(h.client)).toEqual(["L0 2-2", "L9 1-1"]);

    h.feeder.commit([2]);
    const again = setup({ dir: h.dir, replicaDir: h.replicaDir, clock: h.clock, log: h.log, feeder: h.feeder });
    const snapshots = h.feeder.snapshots;
    await again.start();
    expect(h.feeder.snapshots).toBe(snapshots);
    expect(again.eventsOf("snapshot")).toEqual([]);
    expect(again.eventsOf("conflict")).toEqual([]);
    expect(await replicaFiles(again.client)).toEqual(["L0 2-2", "L0 3-3", "L9 1-1"]);
    await expectRestoresToNow(again);
  });

  it("after a restart with a backlog (the log reopened), resumes at the replica's tip that its first entry continues", async () => {
    const h = setup({ shipper: { maxEntriesPerUpload: 1 } });
    await h.start();
    h.feeder.append([1]);
    h.feeder.append([2]);
    h.feeder.append([3]);
    // TXID 2 lands; then the replica goes down for 3 and 4.
    h.client.onLanded = () => (h.client.mode = "fail-writes");
    await elapse(h.clock, h.client, 1000);
    expect(await replicaFiles(h.client)).toEqual(["L0 2-2", "L9 1-1"]);
    await h.close();

    const log = LtxLog.open(h.dir);
    expect(log.entries.map((e) => e.maxTXID)).toEqual([3, 4]);
    const feeder = new TestFeeder(log, h.clock, h.feeder.db);
    const again = setup({ dir: h.dir, replicaDir: h.replicaDir, clock: h.clock, log, feeder });
    await again.start();
    // The replica's TXID 2 is the state entry 3 starts from: the backlog is uploaded, no snapshot is needed.
    expect(again.eventsOf("conflict").map((e) => e.message)).toEqual([]);
    expect(await replicaFiles(again.client)).toEqual(["L0 2-2", "L0 3-3", "L0 4-4", "L9 1-1"]);
    await expectRestoresToNow(again);
  });

  for (const variant of ["a TXID the log never had", "a TXID the log had, with another checksum"] as const) {
    it(`meets another writer's tip (${variant}): snapshots above it, never writing over its files`, async () => {
      const h = setup();
      const foreignTip = variant === "a TXID the log never had" ? 5 : 3;
      await writeForeignChain(h.client, 1, foreignTip);
      const before = await replicaFiles(h.client);
      const bytes = await Promise.all(before.map((f) => f.split(/[ -]/)).map(([l, a, b]) => fileBytes(h.client, Number(l!.slice(1)), Number(a), Number(b))));
      h.feeder.commit([2]);
      h.feeder.commit([3]);
      // One entry per change: the log has TXIDs 2 and 3 (3 is the other writer's tip too).
      if (variant !== "a TXID the log never had") h.log.seal(1);
      await h.start();
      await h.settle();
      const files = await replicaFiles(h.client);
      const snapshot = files.find((f) => f.startsWith("L9 1-") && !before.includes(f))!;
      expect(Number(snapshot.split("-")[1])).toBe(foreignTip + 1);
      expect(files.filter((f) => !before.includes(f))).toEqual([snapshot]);
      // The other writer's files are as it wrote them.
      for (const [i, f] of before.entries()) {
        const [l, a, b] = f.split(/[ -]/);
        expect(await fileBytes(h.client, Number(l!.slice(1)), Number(a), Number(b))).toEqual(bytes[i]);
      }
      expect(h.eventsOf("conflict")).toHaveLength(1);
      expect(h.eventsOf("conflict")[0]!.message).toMatch(variant === "a TXID the log never had" ? /is not one the local log knows/ : /checksum at TXID 0000000000000003 is/);
      expect(h.lines.some((l) => l.level === "warn" && l.message === "taking a snapshot")).toBe(true);
      expect(h.shipper.txid).toBe(foreignTip + 1);
      await expectRestoresToNow(h);

      // From there the chain is ours.
      h.feeder.commit([1]);
      await elapse(h.clock, h.client, 1000);
      expect((await replicaFiles(h.client)).filter((f) => !before.includes(f))).toEqual([`L0 ${foreignTip + 2}-${foreignTip + 2}`, snapshot]);
      await expectRestoresToNow(h);
    });
  }

  it("snapshots a lineage break (the database replaced), at the break's TXID", async () => {
    const h = setup();
    await h.start();
    h.feeder.commit([1]);
    await elapse(h.clock, h.client, 1000);
    h.feeder.tamper([1, 2, 3, 4, 5, 6], 6);
    h.feeder.startLineage("the database was replaced", 0);
    await elapse(h.clock, h.client, 1000);
    expect(await replicaFiles(h.client)).toEqual(["L0 2-2", "L9 1-1", "L9 1-3"]);
    expect(h.eventsOf("snapshot").map((e) => e.reason)).toEqual(["initial snapshot of an empty replica", "the database was replaced"]);
    await expectRestoresToNow(h);
  });

  it("snapshots when the entries it needed were dropped before it took them (the log's byte bound)", async () => {
    const h = setup({ logOptions: { maxBytes: 4000 }, shipper: { maxEntriesPerUpload: 1 } });
    await h.start();
    h.client.mode = "fail-writes";
    for (let i = 0; i < 12; i++) h.feeder.append([1, 2, 3]);
    await h.settle();
    expect(h.log.entries[0]!.minTXID).toBeGreaterThan(2);
    h.client.mode = "ok";
    await elapse(h.clock, h.client, 31_000, 1000);
    const snapshots = h.eventsOf("snapshot");
    expect(snapshots.at(-1)).toMatchObject({ txid: 13 });
    expect(snapshots.at(-1)!.reason).toMatch(/the local log no longer holds TXID 0000000000000002/);
    await expectRestoresToNow(h);
  });

  it("keeps the local log within maxBytes while a replica is down and changes keep being staged", async () => {
    const maxBytes = 16_000;
    const h = setup({ logOptions: { maxBytes } });
    await h.start();
    h.client.mode = "down";
    let peak = 0;
    // Ten minutes of a commit every 2 s (about 1.6 kB staged each), the replica down all along.
    for (let i = 0; i < 300; i++) {
      h.feeder.commit([1 + (i % 3), 4, 5]);
      await elapse(h.clock, h.client, 2000, 2000);
      peak = Math.max(peak, h.log.size);
    }
    // Bounded by maxBytes (give or take one entry and the journal's changes since the last seal).
    expect(peak).toBeLessThan(maxBytes * 2);
    h.client.mode = "ok";
    await elapse(h.clock, h.client, 32_000, 1000);
    expect(h.shipper.txid).toBe(h.log.tip!.txid);
    await expectRestoresToNow(h);
  });

  it("when its database is not what the log says (a snapshot does not add up), tells the feeder and snapshots the new lineage", async () => {
    const h = setup();
    h.feeder.tamper([2]);
    await h.start();
    await h.settle();
    expect(h.feeder.divergences).toHaveLength(1);
    expect(h.eventsOf("diverged")[0]!.message).toMatch(/does not add up to the checksum/);
    // Nothing was written from the pages that did not add up.
    expect(await replicaFiles(h.client)).toEqual(["L9 1-2"]);
    await expectRestoresToNow(h);
  });

  it("uploads nothing while the feeder says its database is not ready (prepare() false)", async () => {
    const h = setup();
    await h.start();
    h.feeder.prepareAnswer = false;
    h.feeder.commit([1]);
    await elapse(h.clock, h.client, 3000, 1000);
    expect(await replicaFiles(h.client)).toEqual(["L9 1-1"]);
    h.feeder.prepareAnswer = true;
    h.shipper.request();
    await elapse(h.clock, h.client, 1000);
    expect(await replicaFiles(h.client)).toEqual(["L0 2-2", "L9 1-1"]);
  });
});

describe("LtxShipper: create-only writes", () => {
  it("an upload that landed although its answer was lost counts as written (same checksums)", async () => {
    const h = setup();
    await h.start();
    h.client.mode = "lose-answers";
    h.feeder.commit([1]);
    await elapse(h.clock, h.client, 1000);
    expect(h.shipper.failing).toBe(true);
    expect(h.shipper.txid).toBe(1);
    const landed = await fileBytes(h.client, 0, 2, 2);
    h.client.mode = "ok";
    await elapse(h.clock, h.client, 2000);
    expect(h.shipper.txid).toBe(2);
    expect(h.shipper.failing).toBe(false);
    expect(h.eventsOf("conflict")).toEqual([]);
    expect(await replicaFiles(h.client)).toEqual(["L0 2-2", "L9 1-1"]);
    expect(await fileBytes(h.client, 0, 2, 2)).toEqual(landed);
    await expectRestoresToNow(h);
  });

  it("a snapshot that landed although its answer was lost counts as written", async () => {
    const h = setup();
    h.client.mode = "lose-answers";
    await h.start();
    expect(h.shipper.txid).toBe(0);
    h.client.mode = "ok";
    await elapse(h.clock, h.client, 2000);
    expect(h.shipper.txid).toBe(1);
    expect(await replicaFiles(h.client)).toEqual(["L9 1-1"]);
    expect(h.eventsOf("conflict")).toEqual([]);
  });

  it("a file of another writer at our name (other checksums) is left alone and a snapshot above it follows", async () => {
    const h = setup();
    await h.start();
    // Another writer continues the replica at TXID 2, 3 with files that are not ours.
    await writeForeignChain(h.client, 2, 3, 0, 7);
    const foreign = await fileBytes(h.client, 0, 2, 2);
    h.feeder.commit([1]);
    await elapse(h.clock, h.client, 1000);
    expect(await fileBytes(h.client, 0, 2, 2)).toEqual(foreign);
    expect(h.eventsOf("conflict")[0]!.message).toMatch(/level 0 file 0000000000000002-0000000000000002 was written by another writer/);
    expect(await replicaFiles(h.client)).toEqual(["L0 2-2", "L0 3-3", "L9 1-1", "L9 1-4"]);
    expect(h.shipper.txid).toBe(4);
    await expectRestoresToNow(h);
  });
});
