/** Unit tests of LtxLog.open after a crash: temp files, a torn staging journal, damaged entry files. */
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { applyLtx, databaseChecksum, MemoryPageStore } from "@sqlrep/ltx";
import { tempDir } from "@sqlrep/testkit";
import { ManualClock } from "./clock.js";
import { LtxLog } from "./ltx-log.js";
import { PAGE_SIZE, TestFeeder } from "./testing/memory-db.js";

const tmp = tempDir("sqlrep-shipper-reopen-");
afterAll(() => tmp.remove());

let n = 0;
/** A log with a break at TXID 1 (pages 1…3) and `sealed` entries of one change each. */
function setup(sealed: number) {
  const dir = tmp.join(`log-${n++}`);
  const log = LtxLog.open(dir);
  const feeder = new TestFeeder(log, new ManualClock());
  feeder.tamper([1, 2, 3]);
  feeder.startLineage();
  const base = { bytes: feeder.db.bytes(), txid: 1, postApply: feeder.db.checksum() };
  for (let i = 0; i < sealed; i++) {
    feeder.commit([(i % 4) + 1, 10 + i]);
    log.seal();
  }
  return { dir, ltxDir: join(dir, "ltx"), log, feeder, base };
}

/** The database after applying every file of `log` from `base` (checks each file's checksums on the way). */
async function applied(log: LtxLog, base: { bytes: Uint8Array; txid: number; postApply: bigint }): Promise<Uint8Array> {
  const store = new MemoryPageStore(base.bytes);
  let pos = { txid: base.txid, postApplyChecksum: base.postApply };
  for (const e of log.after(base.txid)) pos = await applyLtx(store, [new Uint8Array(readFileSync(e.file))], { pos });
  expect(databaseChecksum(store.bytes(), PAGE_SIZE)).toBe(pos.postApplyChecksum);
  return store.bytes();
}

describe("LtxLog.open after a crash", () => {
  it("reads back its entries (files and breaks) and continues their TXIDs", async () => {
    const { dir, log, feeder, base } = setup(3);
    const before = log.entries.map((e) => ({ ...e, transactions: undefined }));
    const reopened = LtxLog.open(dir);
    expect(reopened.entries).toEqual(before);
    expect(reopened.entries[0]!.lineage).toBe("initial snapshot of an empty replica");
    expect(reopened.tip).toEqual(log.tip);
    expect(reopened.checksumAt(4)).toBe(log.checksumAt(4));
    const again = new TestFeeder(reopened, new ManualClock(), feeder.db);
    again.commit([2]);
    expect(reopened.seal()).toMatchObject({ minTXID: 5, preApply: log.tip!.postApply });
    expect(await applied(reopened, base)).toEqual(feeder.db.bytes());
  });

  it("removes temp files left by a write that did not finish", () => {
    const { dir, ltxDir } = setup(1);
    writeFileSync(join(ltxDir, "0000000000000003-0000000000000003.ltx.tmp"), "half a file");
    writeFileSync(join(ltxDir, "0000000000000009-0000000000000009.break.tmp"), "{");
    writeFileSync(join(ltxDir, "notes.txt"), "not ours: left alone");
    const log = LtxLog.open(dir);
    expect(readdirSync(ltxDir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    expect(existsSync(join(ltxDir, "notes.txt"))).toBe(true);
    expect(log.entries.map((e) => e.maxTXID)).toEqual([1, 2]);
  });

  it("keeps the staged changes of a journal that sits on the last entry, and seals them as before", async () => {
    const { dir, log, feeder, base } = setup(2);
    feeder.commit([1, 5]);
    feeder.commit([5, 6]);
    const head = log.head;
    const reopened = LtxLog.open(dir);
    expect(reopened.staged).toBe(2);
    expect(reopened.head).toEqual(head);
    const entry = reopened.seal()!;
    expect(entry).toMatchObject({ minTXID: 4, postApply: feeder.db.checksum(), transactions: 2 });
    expect(await applied(reopened, base)).toEqual(feeder.db.bytes());
  });

  it("cuts a torn or garbage journal tail at the last valid change", async () => {
    const { dir, ltxDir, log, feeder, base } = setup(1);
    const journal = join(ltxDir, "staging.journal");
    feeder.commit([1]);
    const kept = statSync(journal).size;
    const state = { bytes: feeder.db.bytes(), sum: feeder.db.checksum() };
    feeder.commit([2, 3, 4]);
    expect(log.staged).toBe(2);
    // Cut inside the second change's pages.
    truncateSync(journal, kept + 600);
    const torn = LtxLog.open(dir);
    expect(torn.staged).toBe(1);
    expect(statSync(journal).size).toBe(kept);
    expect(torn.head?.postApply).toBe(state.sum);
    // Garbage after it is cut too.
    writeFileSync(journal, new Uint8Array(1000).fill(0x43), { flag: "a" });
    const garbage = LtxLog.open(dir);
    expect(garbage.staged).toBe(1);
    expect(garbage.seal()).toMatchObject({ minTXID: 3, postApply: state.sum });
    expect(await applied(garbage, base)).toEqual(state.bytes);
  });

  it("drops a journal that is not on top of the last entry (the crash came after its changes were sealed)", () => {
    const { dir, ltxDir, log, feeder } = setup(1);
    const journal = join(ltxDir, "staging.journal");
    feeder.commit([1]);
    feeder.commit([2]);
    copyFileSync(journal, tmp.join("journal-before-seal"));
    log.seal();
    // A crash between writing the entry and emptying the journal: the old journal is back.
    copyFileSync(tmp.join("journal-before-seal"), journal);
    const reopened = LtxLog.open(dir);
    expect(reopened.staged).toBe(0);
    expect(existsSync(journal)).toBe(false);
    expect(reopened.head).toMatchObject(log.tip!);
  });

  it("drops a journal when no entry is left to stand on", () => {
    const { dir, ltxDir, log, feeder } = setup(0);
    feeder.commit([1]);
    for (const e of log.entries) truncateSync(e.file, 0);
    const reopened = LtxLog.open(dir);
    expect(reopened.entries).toEqual([]);
    expect(reopened.staged).toBe(0);
    expect(existsSync(join(ltxDir, "staging.journal"))).toBe(false);
  });

  it("removes a truncated entry file with every later one, and the journal that sat on them", async () => {
    const { dir, ltxDir, log, feeder, base } = setup(4);
    const state3 = feeder.states.get(log.checksumAt(3)!)!;
    feeder.commit([7]);
    const files = log.entries.map((e) => e.file);
    truncateSync(files[3]!, 60);
    const reopened = LtxLog.open(dir);
    expect(reopened.entries.map((e) => e.maxTXID)).toEqual([1, 2, 3]);
    expect(files.map((f) => existsSync(f))).toEqual([true, true, true, false, false]);
    expect(reopened.staged).toBe(0);
    expect(existsSync(join(ltxDir, "staging.journal"))).toBe(false);
    expect(await applied(reopened, base)).toEqual(state3);
  });

  it("removes a damaged break marker, or a file whose header names other TXIDs, with what follows", () => {
    const a = setup(3);
    writeFileSync(a.log.entries[0]!.file, "{ not json");
    expect(LtxLog.open(a.dir).entries).toEqual([]);

    const b = setup(3);
    // Entry 3's bytes under entry 4's name: its header disagrees with its name.
    copyFileSync(b.log.entries[2]!.file, b.log.entries[3]!.file);
    expect(LtxLog.open(b.dir).entries.map((e) => e.maxTXID)).toEqual([1, 2, 3]);
    expect(existsSync(b.log.entries[3]!.file)).toBe(false);
  });
});
