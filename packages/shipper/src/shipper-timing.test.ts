/**
 * Unit tests of LtxShipper in time: the upload policy under load and after quiet spells,
 * back-off and the probe after failures, sync() waiters, flush() at shutdown, status().
 * A ManualClock drives every timer; the replica is a real directory.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { isReplicaError } from "@sqlrep/replica";
import { tempDir } from "@sqlrep/testkit";
import { elapse, pending, settle, until, waitUntil } from "./testing/drive.js";
import { harness, type Harness } from "./testing/harness.js";
import { replicaFiles, restoreLatest } from "./testing/replica-files.js";

const tmp = tempDir("sqlrep-shipper-timing-");
afterAll(() => tmp.remove());

let n = 0;
const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

/** A harness whose database holds pages 1…3 at a lineage break at TXID 1, not started. */
function setup(options: Parameters<typeof harness>[1] = {}): Harness {
  const h = harness(tmp.join(`case-${n++}`), options);
  open.push(h);
  h.feeder.tamper([1, 2, 3]);
  h.feeder.startLineage();
  return h;
}

/** A started shipper whose replica holds a snapshot at TXID 1, after 2 quiet seconds. */
async function started(options: Parameters<typeof harness>[1] = {}): Promise<Harness> {
  const h = setup(options);
  await h.start();
  expect(h.shipper.txid).toBe(1);
  await elapse(h.clock, h.client, 2000, 1000);
  return h;
}

/** Times (ms after `from`) of the level-0 writes that landed. */
function uploadTimes(h: Harness, from: number): number[] {
  return h.client.landed(0).map((w) => w.at - from);
}

describe("LtxShipper: the upload policy", () => {
  it("uploads at once after a quiet spell, then at most once per sync interval under sustained writes", async () => {
    const h = await started({ shipper: { syncInterval: 1000 } });
    const t0 = h.clock.now();
    // A commit every 100 ms for 5 s.
    for (let i = 0; i < 50; i++) {
      h.feeder.commit([1 + (i % 5)]);
      await elapse(h.clock, h.client, 100);
    }
    const times = uploadTimes(h, t0);
    expect(times[0]).toBe(0);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1000);
    expect(times.length).toBeGreaterThanOrEqual(5);
    expect(times.length).toBeLessThanOrEqual(6);
    // Each upload is one TXID holding every change staged since the last.
    const files = h.client.landed(0).map((w) => [w.minTXID, w.maxTXID]);
    expect(files).toEqual(files.map((_, i) => [2 + i, 2 + i]));

    // Quiet again: the next commit goes at once, not at the next interval boundary.
    await elapse(h.clock, h.client, 3000, 1000);
    const t1 = h.clock.now();
    h.feeder.commit([2]);
    await h.settle();
    expect(uploadTimes(h, t1).at(-1)).toBe(0);
    const { bytes } = await restoreLatest(h.client, tmp.path);
    expect(bytes).toEqual(h.feeder.db.bytes());
  });

  it("a sync() caller is not held by the throttle", async () => {
    const h = await started({ shipper: { syncInterval: 10_000 } });
    // The snapshot was an upload: for 10 s nothing else goes on its own…
    h.feeder.commit([1]);
    await elapse(h.clock, h.client, 2000, 1000);
    expect(h.client.landed(0)).toHaveLength(0);
    h.log.seal();
    // …unless someone waits for it.
    const waited = await until(h.clock, h.shipper.waitFor(h.log.tip!.txid));
    expect(waited.ok).toBe(true);
    expect(h.client.landed(0)).toMatchObject([{ minTXID: 2 }]);
  });

  it("drains a backlog of entries without waiting for the throttle, one TXID per upload", async () => {
    const h = await started({ shipper: { syncInterval: 1000, maxEntriesPerUpload: 1 } });
    const t0 = h.clock.now();
    h.feeder.append([1]);
    await settle(h.clock, h.client);
    for (let i = 1; i < 4; i++) h.feeder.append([i + 1]);
    await elapse(h.clock, h.client, 1000);
    // The first entry went at once (after a quiet spell); the three behind it one interval later, back to back.
    expect(h.client.landed(0).map((w) => [w.minTXID, w.at - t0])).toEqual([
      [2, 0],
      [3, 1000],
      [4, 1000],
      [5, 1000],
    ]);
  });

  it("merges up to maxEntriesPerUpload entries into one level-0 file", async () => {
    const h = await started({ shipper: { syncInterval: 1000, maxEntriesPerUpload: 3 } });
    h.feeder.append([1, 6]);
    await settle(h.clock, h.client);
    for (let i = 1; i < 7; i++) h.feeder.append([1 + (i % 4), 6]);
    await elapse(h.clock, h.client, 1000);
    expect(await replicaFiles(h.client)).toEqual(["L0 2-2", "L0 3-5", "L0 6-8", "L9 1-1"]);
    const { result, bytes } = await restoreLatest(h.client, tmp.path);
    expect(result.txid).toBe(8);
    expect(bytes).toEqual(h.feeder.db.bytes());
  });
});

describe("LtxShipper: failures, back-off and the probe", () => {
  it("backs off exponentially after failures (1 s, 2 s, 4 s… ±25 %), and reports the failure until a pass succeeds", async () => {
    const h = await started();
    h.client.mode = "down";
    h.feeder.commit([1]);
    await h.settle();
    expect(h.client.writes.at(-1)).toMatchObject({ level: 0, minTXID: 2, faulted: true });
    expect(h.shipper.failing).toBe(true);
    expect(h.shipper.status().lastError).toMatch(/injected outage: write level 0 2-2 refused/);
    // Committed meanwhile: no pass before the back-off ends.
    h.feeder.commit([2]);
    // Retries at d1, d1 + d2, d1 + d2 + d3: at most 1.25 + 2.5 + 5 s.
    await elapse(h.clock, h.client, 9000, 10);
    const attempts = h.client.writes.filter((w) => w.level === 0).map((w) => w.at);
    const failed = h.eventsOf("failed");
    expect(failed.length).toBe(attempts.length);
    expect(failed.length).toBeGreaterThanOrEqual(4);
    expect(failed.every((e) => e.what === "sync")).toBe(true);
    for (let i = 0; i < 3; i++) {
      const delay = failed[i]!.retryInMs!;
      const base = 1000 * 2 ** i;
      expect(delay).toBeGreaterThanOrEqual(base * 0.75);
      expect(delay).toBeLessThanOrEqual(base * 1.25);
      // The retry came when the back-off ended (10 ms steps), never sooner.
      expect(attempts[i + 1]! - attempts[i]!).toBeGreaterThanOrEqual(delay - 0.001);
      expect(attempts[i + 1]! - attempts[i]!).toBeLessThan(delay + 10);
    }
    h.client.mode = "ok";
    await elapse(h.clock, h.client, 12_000, 1000);
    expect(h.shipper.failing).toBe(false);
    expect(h.shipper.status().lastError).toBeUndefined();
    expect(h.shipper.txid).toBe(h.log.tip!.txid);
  });

  it("while the store is down it is probed every second, and the first answer ends the back-off", async () => {
    const h = await started();
    h.client.mode = "down";
    h.feeder.commit([1]);
    await h.settle();
    // Step until a failure leaves a back-off of more than 3 s (the third or the fourth).
    for (let i = 0; i < 200 && !(h.eventsOf("failed").at(-1)!.retryInMs! > 3000); i++) await elapse(h.clock, h.client, 100);
    const failedAt = h.eventTimes[h.events.lastIndexOf(h.eventsOf("failed").at(-1)!)]!;
    const writes = h.client.writes.length;
    await elapse(h.clock, h.client, 2500 - (h.clock.now() - failedAt));
    // Probed (a stat) 1 s and 2 s after the failure, and nothing was written.
    expect(h.client.stats.filter((t) => t > failedAt).map((t) => t - failedAt)).toEqual([1000, 2000]);
    expect(h.client.writes.length).toBe(writes);
    // It answers again: the next probe finds it and the upload follows at once, long before the back-off ends.
    h.client.mode = "ok";
    await elapse(h.clock, h.client, 600);
    expect(h.lines.some((l) => l.message === "replica reachable again, retrying now")).toBe(true);
    expect(h.client.landed(0)).toHaveLength(1);
    expect(h.client.landed(0)[0]!.at - failedAt).toBe(3000);
    expect(h.shipper.failing).toBe(false);
  });

  it("writes refused while the store answers reads (a quota, a read-only bucket): the back-off still grows", async () => {
    const h = await started();
    h.client.mode = "fail-writes";
    h.feeder.commit([1]);
    await elapse(h.clock, h.client, 30_000, 100);
    const attempts = h.client.writes.filter((w) => w.level === 0).map((w) => w.at);
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    // 1 s, 2 s, 4 s, 8 s, 16 s (±25 %): five or six attempts in 30 s, not thirty.
    expect(attempts.length).toBeLessThanOrEqual(7);
    expect(gaps.at(-1)).toBeGreaterThanOrEqual(6000);
  });

  it("a failed pass rejects the waiters from before it, not those that came while it ran", async () => {
    const h = await started();
    h.feeder.commit([1]);
    await h.settle();
    h.feeder.commit([2]);
    h.log.seal();
    let release!: () => void;
    h.client.gate = new Promise<void>((resolve) => (release = resolve));
    h.client.mode = "fail-writes";
    const early = h.shipper.waitFor(3);
    early.catch(() => undefined);
    // The pass is in flight, held at the gate: a caller arrives now.
    await waitUntil(() => h.client.writes.length === 3, "the upload to start");
    h.feeder.commit([3]);
    h.log.seal();
    const late = h.shipper.waitFor(4);
    late.catch(() => undefined);
    h.client.gate = undefined;
    release();
    const earlyOutcome = await until(h.clock, early);
    expect(earlyOutcome.ok === false && isReplicaError(earlyOutcome.error, "io")).toBe(true);
    expect(await pending(late)).toBe(true);
    h.client.mode = "ok";
    await elapse(h.clock, h.client, 3000);
    expect((await until(h.clock, late)).ok).toBe(true);
    expect(h.shipper.txid).toBe(4);
  });

  it("an aborted waiter is rejected at once; close() rejects the others and later calls", async () => {
    const h = await started();
    h.client.mode = "down";
    h.feeder.commit([1]);
    h.log.seal();
    const controller = new AbortController();
    const aborted = h.shipper.waitFor(2, controller.signal);
    const other = h.shipper.waitFor(2);
    other.catch(() => undefined);
    controller.abort();
    const a = await until(h.clock, aborted);
    expect(a.ok === false && isReplicaError(a.error, "aborted")).toBe(true);
    await h.shipper.close();
    const o = await until(h.clock, other);
    expect(o.ok === false && isReplicaError(o.error, "aborted")).toBe(true);
    const later = await until(h.clock, h.shipper.waitFor(2));
    expect(later.ok === false && isReplicaError(later.error, "aborted")).toBe(true);
  });
});

describe("LtxShipper: flush at shutdown", () => {
  it("returns how many TXIDs the replica lacks when it stays down until the deadline", async () => {
    const h = await started();
    h.client.mode = "down";
    h.feeder.commit([1]);
    await h.settle();
    h.feeder.commit([2]);
    const deadline = h.clock.now() + 10_000;
    const flushing = h.shipper.flush(deadline);
    for (let i = 0; i < 200 && (await pending(flushing)); i++) await elapse(h.clock, h.client, 100);
    const outcome = await until(h.clock, flushing);
    expect(outcome.ok).toBe(true);
    const { missing, lastError } = (outcome as { value: { missing: number; lastError?: string } }).value;
    expect(h.clock.now()).toBeGreaterThanOrEqual(deadline);
    expect(h.clock.now()).toBeLessThan(deadline + 1000);
    // flush sealed what was staged: TXIDs 2 and 3 are missing.
    expect(h.log.tip!.txid).toBe(3);
    expect(missing).toBe(2);
    expect(lastError).toMatch(/injected outage/);
    // It kept trying over the 10 s.
    expect(h.eventsOf("failed").length).toBeGreaterThanOrEqual(3);
  });

  it("retries at retryInterval (shutdown-sync-interval) instead of the growing back-off", async () => {
    const h = await started();
    h.client.mode = "down";
    h.feeder.commit([1]);
    await h.settle();
    const before = h.eventsOf("failed").length;
    const deadline = h.clock.now() + 10_000;
    const flushing = h.shipper.flush(deadline, 500);
    for (let i = 0; i < 200 && (await pending(flushing)); i++) await elapse(h.clock, h.client, 100);
    const outcome = await until(h.clock, flushing);
    expect(outcome.ok && outcome.value.missing).toBe(1);
    // About one try every 500 ms over 10 s (the back-off alone makes 4 or 5: 1, 2, 4, 8 s).
    expect(h.eventsOf("failed").length - before).toBeGreaterThanOrEqual(15);
  });

  it("returns 0 once the replica recovers before the deadline, with everything staged shipped", async () => {
    const h = await started();
    h.client.mode = "down";
    h.feeder.commit([1]);
    await elapse(h.clock, h.client, 3000);
    h.feeder.commit([2]);
    const start = h.clock.now();
    const flushing = h.shipper.flush(start + 30_000);
    await elapse(h.clock, h.client, 4000, 100);
    expect(await pending(flushing)).toBe(true);
    h.client.mode = "ok";
    const back = h.clock.now();
    for (let i = 0; i < 100 && (await pending(flushing)); i++) await elapse(h.clock, h.client, 100);
    const outcome = await until(h.clock, flushing);
    expect(outcome.ok && outcome.value.missing).toBe(0);
    // Within about a second of the store answering (the probe), far before the deadline.
    expect(h.clock.now() - back).toBeLessThanOrEqual(1100);
    expect(h.shipper.txid).toBe(h.log.tip!.txid);
    expect(h.log.staged).toBe(0);
  });
});

describe("LtxShipper: status", () => {
  it("reports the replica's TXID, what is pending, the lag and the last error", async () => {
    const h = setup({ shipper: { syncInterval: 1000 } });
    await h.start();
    expect(h.shipper.status()).toMatchObject({ name: "r1", type: "file", location: h.replicaDir, txid: 1, pendingTXIDs: 0, lagMs: 0, lastError: undefined });
    expect(h.shipper.status().lastSyncAt?.getTime()).toBe(h.clock.now());

    await elapse(h.clock, h.client, 2000, 1000);
    h.client.mode = "down";
    const committedAt = h.clock.now();
    h.feeder.commit([1]);
    await h.settle();
    h.feeder.commit([2]);
    await elapse(h.clock, h.client, 500);
    // One sealed TXID failed, one change is staged behind it; the oldest is 500 ms old.
    expect(h.shipper.status()).toMatchObject({ txid: 1, pendingTXIDs: 2, lagMs: 500 });
    expect(h.shipper.status().lastError).toMatch(/injected outage/);
    h.log.seal();
    expect(h.shipper.status()).toMatchObject({ txid: 1, pendingTXIDs: 2, lagMs: h.clock.now() - committedAt });

    h.client.mode = "ok";
    await elapse(h.clock, h.client, 5000, 100);
    expect(h.shipper.status()).toMatchObject({ txid: 3, pendingTXIDs: 0, lagMs: 0, lastError: undefined });
    expect(h.shipper.status().lastSyncAt!.getTime()).toBeGreaterThan(committedAt);
  });

  it("ships changes staged behind a failed upload once the replica is back, without waiting for another commit", async () => {
    const h = await started({ shipper: { syncInterval: 1000 } });
    h.client.mode = "down";
    h.feeder.commit([1]);
    await h.settle();
    // Committed while the upload of TXID 2 is failing; then the database goes quiet.
    h.feeder.commit([2]);
    h.client.mode = "ok";
    await elapse(h.clock, h.client, 10_000, 500);
    expect(h.client.landed(0).map((w) => w.minTXID)).toEqual([2, 3]);
    expect(h.log.staged).toBe(0);
    expect(h.shipper.status()).toMatchObject({ txid: 3, pendingTXIDs: 0, lagMs: 0 });
  });

  it("reports a lag while the first pass has not reached the replica", async () => {
    const h = setup();
    h.client.mode = "down";
    await h.start();
    h.feeder.commit([1]);
    h.log.seal();
    await elapse(h.clock, h.client, 5000, 1000);
    const status = h.shipper.status();
    expect(status.txid).toBe(0);
    expect(status.pendingTXIDs).toBe(2);
    expect(status.lastError).toMatch(/injected outage/);
    // Nothing has reached the replica for 5 s: the lag says so.
    expect(status.lagMs).toBeGreaterThanOrEqual(5000);
  });
});
