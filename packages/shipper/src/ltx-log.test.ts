/** Unit tests of LtxLog: staging and sealing, appends, advances, breaks, consumers and the byte bound. */
import { existsSync, readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { applyLtx, databaseChecksum, decodeLtx, MemoryPageStore } from "@sqlrep/ltx";
import { isReplicaError } from "@sqlrep/replica";
import { tempDir } from "@sqlrep/testkit";
import { ManualClock } from "./clock.js";
import { LtxLog, type LogEntry } from "./ltx-log.js";
import { PAGE_SIZE, pageData, TestFeeder } from "./testing/memory-db.js";

const tmp = tempDir("sqlrep-shipper-log-");
afterAll(() => tmp.remove());

let n = 0;
/** A new log with a feeder whose database holds pages 1…3 at a lineage break at TXID 1. */
function setup(options: Parameters<typeof LtxLog.open>[1] = {}) {
  const dir = tmp.join(`log-${n++}`);
  const log = LtxLog.open(dir, options);
  const clock = new ManualClock();
  const feeder = new TestFeeder(log, clock);
  feeder.tamper([1, 2, 3]);
  feeder.startLineage();
  const base = { bytes: feeder.db.bytes(), txid: 1, postApply: feeder.db.checksum() };
  return { dir, log, clock, feeder, base };
}

/**
 * Applies every file entry after the first break to the database as it was at the break,
 * one at a time, checking each decodes, chains and ends at its entry's checksum. Returns
 * the database's bytes.
 */
async function replay(entries: readonly LogEntry[], base: { bytes: Uint8Array; txid: number; postApply: bigint }): Promise<Uint8Array> {
  const store = new MemoryPageStore(base.bytes);
  let pos = { txid: base.txid, postApplyChecksum: base.postApply };
  for (const e of entries) {
    if (e.lineage !== undefined) continue;
    const bytes = new Uint8Array(readFileSync(e.file));
    const decoded = decodeLtx(bytes);
    expect(decoded.header).toMatchObject({ minTXID: e.minTXID, maxTXID: e.maxTXID, preApplyChecksum: e.preApply, commit: e.commit, pageSize: e.pageSize, timestamp: e.timestamp });
    expect(decoded.trailer.postApplyChecksum).toBe(e.postApply);
    expect(e.preApply).toBe(pos.postApplyChecksum);
    expect(e.size).toBe(bytes.length);
    pos = await applyLtx(store, [bytes], { pos });
    expect(pos).toEqual({ txid: e.maxTXID, postApplyChecksum: e.postApply });
    expect(databaseChecksum(store.bytes(), PAGE_SIZE)).toBe(e.postApply);
  }
  return store.bytes();
}

describe("LtxLog staging and sealing", () => {
  it("seals what is staged into one entry at the next TXID, newest copy of each page, checksums chained", async () => {
    const { log, feeder, base } = setup();
    expect(log.tip).toMatchObject({ txid: 1, postApply: base.postApply, commit: 3 });
    feeder.commit([1, 2, 3]);
    feeder.commit([2, 4]);
    const post = feeder.commit([2]);
    expect(log.staged).toBe(3);
    expect(log.tip?.txid).toBe(1);
    expect(log.head).toMatchObject({ txid: 2, postApply: post, commit: 4 });
    expect(log.stagedSince).toBe(feeder.clock.now());

    const entry = log.seal()!;
    expect(entry).toMatchObject({ minTXID: 2, maxTXID: 2, preApply: base.postApply, postApply: post, commit: 4, transactions: 3 });
    expect(log.entries).toHaveLength(2);
    expect(log.staged).toBe(0);
    expect(log.seal()).toBeUndefined();
    const decoded = decodeLtx(new Uint8Array(readFileSync(entry.file)));
    expect(decoded.pages.map((p) => p.pgno)).toEqual([1, 2, 3, 4]);
    // Page 2 was written by all three changes: the last copy is the one sealed.
    expect(decoded.pages[1]!.data).toEqual(feeder.db.pages.get(2));

    feeder.commit([5]);
    const second = log.seal()!;
    expect(second).toMatchObject({ minTXID: 3, maxTXID: 3, preApply: post });
    expect(await replay(log.entries, base)).toEqual(feeder.db.bytes());
  });

  it("seal(maxBytes) groups changes by their WAL bytes, never splitting one; each group is a TXID", async () => {
    const { log, feeder, base } = setup();
    const wal = (i: number, size = 1000) => ({ offset: 32 + i * 1000, size, salt1: 5, salt2: 6 });
    for (let i = 0; i < 5; i++) feeder.commit([i + 1], { wal: wal(i) });
    feeder.commit([9], { wal: { offset: 5032, size: 4000, salt1: 5, salt2: 6 } });
    const last = log.seal(2500)!;
    expect(log.entries.slice(1).map((e) => [e.minTXID, e.transactions])).toEqual([
      [2, 2],
      [3, 2],
      [4, 1],
      [5, 1],
    ]);
    expect(last.maxTXID).toBe(5);
    expect(await replay(log.entries, base)).toEqual(feeder.db.bytes());
  });

  it("records the WAL range of an entry: the changes' span within one WAL, the last change's after a WAL reset", () => {
    const { log, feeder } = setup();
    feeder.commit([1], { wal: { offset: 4128, size: 1000, salt1: 1, salt2: 2 } });
    feeder.commit([2], { wal: { offset: 5128, size: 500, salt1: 1, salt2: 2 } });
    const one = log.seal()!;
    expect(decodeLtx(new Uint8Array(readFileSync(one.file))).header).toMatchObject({ walOffset: 4128, walSize: 1500, walSalt1: 1, walSalt2: 2 });
    expect(one.wal).toEqual({ offset: 5628, salt1: 1, salt2: 2 });
    expect(log.head?.wal).toEqual({ offset: 5628, salt1: 1, salt2: 2 });

    feeder.commit([1], { wal: { offset: 6000, size: 700, salt1: 1, salt2: 2 } });
    feeder.commit([3], { wal: { offset: 32, size: 300, salt1: 3, salt2: 4 } });
    expect(log.head?.wal).toEqual({ offset: 332, salt1: 3, salt2: 4 });
    const reset = log.seal()!;
    expect(decodeLtx(new Uint8Array(readFileSync(reset.file))).header).toMatchObject({ walOffset: 32, walSize: 300, walSalt1: 3, walSalt2: 4 });
    expect(reset.wal).toEqual({ offset: 332, salt1: 3, salt2: 4 });

    feeder.commit([2], { wal: false });
    const none = log.seal()!;
    expect(decodeLtx(new Uint8Array(readFileSync(none.file))).header).toMatchObject({ walOffset: 0, walSize: 0, walSalt1: 0, walSalt2: 0 });
    expect(none.wal).toBeUndefined();
  });

  it("a database that shrinks keeps only pages within its size; sealing several changes gives the state sealing each gives", async () => {
    const run = async (together: boolean) => {
      const { log, feeder, base } = setup();
      feeder.commit([4, 5, 6]);
      if (!together) log.seal();
      feeder.commit([1], { commit: 4 });
      if (!together) log.seal();
      feeder.commit([2]);
      log.seal();
      return { bytes: await replay(log.entries, base), want: feeder.db.bytes(), pages: decodeLtx(new Uint8Array(readFileSync(log.last!.file))).pages.map((p) => p.pgno) };
    };
    const separate = await run(false);
    const together = await run(true);
    expect(separate.bytes).toEqual(separate.want);
    expect(together.bytes).toEqual(together.want);
    expect(together.pages).toEqual([1, 2, 4]);
  });

  it("sealing a shrink followed by a regrowth gives the database sealing each change gives (a growing change carries its new pages)", async () => {
    // Change 1 writes pages 4 and 5; change 2 shrinks the database to 3 pages; change 3
    // grows it to 5 again writing page 4, and page 5 as zeros (as a WAL commit carries
    // every page past the old size). The newest copy of page 5 is change 3's, not the
    // one from before the shrink.
    const run = async (together: boolean) => {
      const { log, feeder, base } = setup();
      feeder.commit([4, 5]);
      if (!together) log.seal();
      feeder.commit([1], { commit: 3 });
      if (!together) log.seal();
      feeder.commit([4], { commit: 5 });
      log.seal();
      return { bytes: await replay(log.entries, base), want: feeder.db.bytes() };
    };
    const separate = await run(false);
    const together = await run(true);
    expect(separate.bytes).toEqual(separate.want);
    expect(together.bytes).toEqual(together.want);
    expect(together.bytes.subarray(4 * PAGE_SIZE)).toEqual(new Uint8Array(PAGE_SIZE));
  });

  it("refuses to stage without a base, and a page size other than the staged changes'", () => {
    const log = LtxLog.open(tmp.join(`log-${n++}`));
    expect(() => log.stage({ pageSize: PAGE_SIZE, commit: 1, timestamp: 0 }, [], 0x8000_0000_0000_0001n)).toThrow(/has no base/);
    const { log: other, feeder } = setup();
    feeder.commit([1]);
    let err: unknown;
    try {
      other.stage({ pageSize: 1024, commit: 1, timestamp: 0 }, [{ pgno: 1, data: pageData(1, 1, 1024) }], 0x8000_0000_0000_0001n);
    } catch (e) {
      err = e;
    }
    expect(isReplicaError(err, "invalid-config")).toBe(true);
    expect(other.staged).toBe(1);
  });

  it("stages on top of a base set by the feeder (a replica's state) and continues its TXIDs", async () => {
    const log = LtxLog.open(tmp.join(`log-${n++}`));
    const feeder = new TestFeeder(log, new ManualClock());
    feeder.tamper([1, 2]);
    log.setBase({ txid: 41, postApply: feeder.db.checksum(), commit: 2, pageSize: PAGE_SIZE });
    expect(log.checksumAt(41)).toBe(feeder.db.checksum());
    const base = { bytes: feeder.db.bytes(), txid: 41, postApply: feeder.db.checksum() };
    feeder.commit([2, 3]);
    expect(log.head?.txid).toBe(42);
    expect(log.seal()).toMatchObject({ minTXID: 42, maxTXID: 42, preApply: base.postApply });
    expect(await replay(log.entries, base)).toEqual(feeder.db.bytes());
    expect(() => log.setBase({ txid: 1, postApply: 1n, commit: 1, pageSize: PAGE_SIZE })).toThrow(/not empty/);
  });

  it("tells subscribers of every change staged and every entry added, after the call that made it returns", async () => {
    const { log, feeder } = setup();
    let calls = 0;
    const off = log.subscribe(() => calls++);
    feeder.commit([1]);
    // Never inside the stage: a subscriber that stages or seals in turn must find it finished.
    expect(calls).toBe(0);
    await Promise.resolve();
    expect(calls).toBe(1);
    // The append seals the staged change (an entry) and adds its own: one notice for both.
    feeder.append([2]);
    await Promise.resolve();
    expect(calls).toBe(2);
    off();
    feeder.commit([1]);
    await Promise.resolve();
    expect(calls).toBe(2);
  });
});

describe("LtxLog append, advance and lineage breaks", () => {
  it("append() seals what is staged first, then adds its own TXID", async () => {
    const { log, feeder, base } = setup();
    feeder.commit([1]);
    const post = feeder.append([2, 7]);
    expect(log.entries.slice(1).map((e) => [e.minTXID, e.maxTXID])).toEqual([
      [2, 2],
      [3, 3],
    ]);
    expect(log.last).toMatchObject({ postApply: post, commit: 7, transactions: 1 });
    expect(await replay(log.entries, base)).toEqual(feeder.db.bytes());
  });

  it("advance() moves the TXID with a file of no pages that every replica can apply", async () => {
    const { log, feeder, base } = setup();
    feeder.commit([2]);
    const entry = log.advance(9, 1234)!;
    expect(entry).toMatchObject({ minTXID: 3, maxTXID: 9, timestamp: 1234 });
    expect(entry.preApply).toBe(entry.postApply);
    expect(log.entries.map((e) => e.maxTXID)).toEqual([1, 2, 9]);
    expect(decodeLtx(new Uint8Array(readFileSync(entry.file))).pages).toHaveLength(0);
    expect(log.advance(9, 1235)).toBeUndefined();
    expect(log.advance(4, 1235)).toBeUndefined();
    feeder.commit([1]);
    expect(log.seal()).toMatchObject({ minTXID: 10 });
    expect(await replay(log.entries, base)).toEqual(feeder.db.bytes());
    expect(log.checksumAt(9)).toBe(entry.postApply);
  });

  it("appendBreak() seals what is staged, takes max(tip + 1, atLeast), has no file, and the next change chains from it", async () => {
    const { log, feeder } = setup();
    feeder.commit([1]);
    feeder.tamper([2, 3, 8]);
    const b = log.appendBreak({ commit: 8, pageSize: PAGE_SIZE, postApply: feeder.db.checksum(), timestamp: 5, wal: { offset: 100, salt1: 1, salt2: 2 } }, "replaced", 20);
    expect(b).toMatchObject({ minTXID: 20, maxTXID: 20, preApply: 0n, lineage: "replaced", size: 0, wal: { offset: 100, salt1: 1, salt2: 2 } });
    expect(log.entries.map((e) => e.maxTXID)).toEqual([1, 2, 20]);
    expect(() => log.read(b)).toThrow(/lineage break/);
    expect(log.appendBreak({ commit: 8, pageSize: PAGE_SIZE, postApply: feeder.db.checksum(), timestamp: 6 }, "again", 3).minTXID).toBe(21);
    const after = { bytes: feeder.db.bytes(), txid: 21, postApply: feeder.db.checksum() };
    feeder.commit([4]);
    expect(log.seal()).toMatchObject({ minTXID: 22, preApply: after.postApply });
    expect(await replay(log.after(21), after)).toEqual(feeder.db.bytes());
  });

  it("after() and checksumAt() answer for sealed TXIDs", () => {
    const { log, feeder, base } = setup();
    const sums = [feeder.commit([1])];
    log.seal();
    sums.push(feeder.commit([2]));
    log.seal();
    log.advance(6, 1);
    sums.push(feeder.commit([3]));
    log.seal();
    expect(log.after(0).map((e) => e.maxTXID)).toEqual([1, 2, 3, 6, 7]);
    expect(log.after(2).map((e) => e.maxTXID)).toEqual([3, 6, 7]);
    // An entry spanning the TXID is included: it ends after it.
    expect(log.after(4).map((e) => [e.minTXID, e.maxTXID])).toEqual([
      [4, 6],
      [7, 7],
    ]);
    expect(log.after(7)).toEqual([]);
    expect([1, 2, 3, 6, 7].map((t) => log.checksumAt(t))).toEqual([base.postApply, sums[0], sums[1], sums[1], sums[2]]);
    expect(log.checksumAt(5)).toBeUndefined();
    expect(log.checksumAt(8)).toBeUndefined();
  });
});

describe("LtxLog for an engine whose every commit is a TXID (the cluster)", () => {
  const PAGES = (version: number, pgnos: number[]) => pgnos.map((pgno) => ({ pgno, data: pageData(pgno, version) }));
  const sumOf = (pages: { pgno: number; data: Uint8Array }[]) => {
    const bytes = new Uint8Array(pages.length * PAGE_SIZE);
    pages.forEach((p, i) => bytes.set(p.data, i * PAGE_SIZE));
    return databaseChecksum(bytes, PAGE_SIZE);
  };

  it("append() on an empty log without a base writes TXID 1 as a snapshot (pre-apply 0) and refuses one missing a page", async () => {
    const log = LtxLog.open(tmp.join(`log-${n++}`));
    expect(log.tip).toBeUndefined();
    expect(() => log.append({ pageSize: PAGE_SIZE, commit: 3, timestamp: 1 }, PAGES(1, [1, 3]), 1n)).toThrow();
    expect(log.entries).toHaveLength(0);
    const pages = PAGES(1, [1, 2]);
    const entry = log.append({ pageSize: PAGE_SIZE, commit: 2, timestamp: 1 }, pages, sumOf(pages));
    expect(entry).toMatchObject({ minTXID: 1, maxTXID: 1, preApply: 0n, postApply: sumOf(pages) });
    const decoded = decodeLtx(new Uint8Array(readFileSync(entry.file)));
    expect(decoded.header).toMatchObject({ minTXID: 1, maxTXID: 1, preApplyChecksum: 0n });
    const next = log.append({ pageSize: PAGE_SIZE, commit: 2, timestamp: 2 }, PAGES(2, [2]), 0x8000_0000_0000_0042n);
    expect(next).toMatchObject({ minTXID: 2, preApply: sumOf(pages) });
  });

  it("reset() removes every file and staged change, forgets old checksums, and continues from the new base (or from TXID 1)", async () => {
    const { log, feeder } = setup();
    feeder.commit([1]);
    log.seal();
    feeder.commit([2]);
    const files = log.entries.filter((e) => e.lineage === undefined).map((e) => e.file);
    expect(files.length).toBeGreaterThan(0);
    expect(log.staged).toBe(1);
    let notified = 0;
    log.subscribe(() => notified++);
    log.reset({ txid: 90, postApply: 0x8000_0000_0000_0090n, commit: 2, pageSize: PAGE_SIZE });
    await Promise.resolve();
    expect(notified).toBe(1);
    expect(files.some((f) => existsSync(f))).toBe(false);
    expect(log.entries).toHaveLength(0);
    expect(log.staged).toBe(0);
    expect(log.tip).toMatchObject({ txid: 90, postApply: 0x8000_0000_0000_0090n });
    expect(log.checksumAt(1)).toBeUndefined();
    expect(log.checksumAt(90)).toBe(0x8000_0000_0000_0090n);
    const e = log.append({ pageSize: PAGE_SIZE, commit: 2, timestamp: 3 }, PAGES(3, [1]), 0x8000_0000_0000_0091n);
    expect(e).toMatchObject({ minTXID: 91, preApply: 0x8000_0000_0000_0090n });
    // Reopened, the log knows the entry after the base (the base itself is the engine's to set again).
    expect(LtxLog.open(log.dir).tip).toMatchObject({ txid: 91, postApply: 0x8000_0000_0000_0091n });

    log.reset(undefined);
    expect(log.tip).toBeUndefined();
    const pages = PAGES(4, [1, 2]);
    expect(log.append({ pageSize: PAGE_SIZE, commit: 2, timestamp: 4 }, pages, sumOf(pages))).toMatchObject({ minTXID: 1, preApply: 0n });
  });
});

describe("LtxLog consumers and its byte bound", () => {
  it("drops files once every consumer released them, always keeping the last entry", () => {
    const { log, feeder } = setup();
    for (let i = 0; i < 5; i++) {
      feeder.commit([i + 1]);
      log.seal();
    }
    const files = log.entries.map((e) => e.file);
    log.register("a", 0);
    log.register("b", 0);
    log.release("a", 4);
    expect(log.entries).toHaveLength(6);
    log.release("b", 2);
    expect(log.entries.map((e) => e.maxTXID)).toEqual([3, 4, 5, 6]);
    expect(files.map((f) => existsSync(f))).toEqual([false, false, true, true, true, true]);
    // A release below what was released before does not move back.
    log.release("b", 1);
    log.unregister("b");
    expect(log.entries.map((e) => e.maxTXID)).toEqual([5, 6]);
    log.release("a", 6);
    expect(log.entries.map((e) => e.maxTXID)).toEqual([6]);
    expect(existsSync(log.last!.file)).toBe(true);
    // What is left: the last entry's file and the emptied staging journal (its 32-byte header).
    expect(log.size).toBe(log.last!.size + 32);
  });

  it("past maxBytes drops the oldest entries (never the last) and says which", () => {
    const dropped: number[][] = [];
    const probe = setup();
    probe.feeder.commit([1, 2]);
    const entrySize = probe.log.seal()!.size;
    const { log, feeder } = setup({ maxBytes: entrySize * 3 + 10, onOverflow: (d) => dropped.push(d.map((e) => e.maxTXID)) });
    for (let i = 0; i < 6; i++) {
      feeder.commit([1, 2]);
      log.seal();
    }
    expect(log.entries.map((e) => e.maxTXID)).toEqual([5, 6, 7]);
    expect(dropped.flat()).toEqual([1, 2, 3, 4]);
    for (const e of log.entries) expect(existsSync(e.file)).toBe(true);
    const tiny = setup({ maxBytes: 1, onOverflow: (d) => dropped.push(d.map((e) => e.maxTXID)) });
    tiny.feeder.commit([1]);
    tiny.log.seal();
    expect(tiny.log.entries.map((e) => e.maxTXID)).toEqual([2]);
  });
});
