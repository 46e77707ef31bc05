/** Unit tests of StagingJournal: appending changes, reading page copies, replay after a crash. */
import { closeSync, openSync, readFileSync, statSync, truncateSync, writeFileSync, writeSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { pageChecksum } from "@sqlrep/ltx";
import { tempDir } from "@sqlrep/testkit";
import { StagingJournal, walMarkOf, type StagedChange } from "./staging-journal.js";
import { PAGE_SIZE, pageData } from "./testing/memory-db.js";

const tmp = tempDir("sqlrep-shipper-journal-");
afterAll(() => tmp.remove());

const HEADER = 32;
const PAGE_RECORD = 13 + PAGE_SIZE;
const COMMIT_RECORD = 61;

let n = 0;
function journalPath(): string {
  return tmp.join(`journal-${n++}`);
}

type Meta = Omit<StagedChange, "pages" | "postApply">;
function meta(i: number, extra: Partial<Meta> = {}): Meta {
  return { commit: 10 + i, timestamp: 1_700_000_000_000 + i, walOffset: 32 + i * 1000, walSize: 1000, salt1: 7, salt2: 9, transactions: i, ...extra };
}
function pages(pgnos: number[], version: number) {
  return pgnos.map((pgno) => ({ pgno, data: pageData(pgno, version) }));
}

/** Three changes: pages 1,2 / 2,3,5 / 1. */
function writeThree(path: string): StagingJournal {
  const j = StagingJournal.create(path, PAGE_SIZE, 0x8000_0000_0000_00aan);
  j.append({ ...meta(1), postApply: 0x8000_0000_0000_0001n }, pages([1, 2], 1));
  j.append({ ...meta(2), postApply: () => 0x8000_0000_0000_0002n }, pages([2, 3, 5], 2));
  j.append({ ...meta(3), postApply: 0x8000_0000_0000_0003n }, pages([1], 3));
  return j;
}

describe("StagingJournal", () => {
  it("appends changes and reads back each copy of a page by its offset", () => {
    const path = journalPath();
    const j = writeThree(path);
    expect(j.staged).toHaveLength(3);
    expect(j.bytes).toBe(HEADER + 6 * PAGE_RECORD + 3 * COMMIT_RECORD);
    expect(statSync(path).size).toBe(j.bytes);
    const [a, b, c] = j.staged;
    expect([...a!.pages.keys()]).toEqual([1, 2]);
    expect([...b!.pages.keys()]).toEqual([2, 3, 5]);
    expect(b!.postApply).toBe(0x8000_0000_0000_0002n);
    expect(j.readPage(a!.pages.get(2)!)).toEqual(pageData(2, 1));
    expect(j.readPage(b!.pages.get(2)!)).toEqual(pageData(2, 2));
    expect(j.readPage(c!.pages.get(1)!)).toEqual(pageData(1, 3));
    expect(c).toMatchObject(meta(3));
    j.close();
  });

  it("asks for the post-apply checksum only after every page was read", () => {
    const j = StagingJournal.create(journalPath(), PAGE_SIZE, 0x8000_0000_0000_0001n);
    const order: string[] = [];
    function* gen() {
      for (const p of pages([4, 7], 1)) {
        order.push(`page ${p.pgno}`);
        yield p;
      }
    }
    j.append({ ...meta(1), postApply: () => (order.push("post"), 0x8000_0000_0000_0042n) }, gen());
    expect(order).toEqual(["page 4", "page 7", "post"]);
    expect(j.staged[0]!.postApply).toBe(0x8000_0000_0000_0042n);
    j.close();
  });

  it("leaves nothing of a change whose pages throw half-way, and stays usable", () => {
    const path = journalPath();
    const j = StagingJournal.create(path, PAGE_SIZE, 0x8000_0000_0000_0001n);
    j.append({ ...meta(1), postApply: 0x8000_0000_0000_0002n }, pages([1], 1));
    const before = j.bytes;
    function* failing() {
      yield* pages([2, 3], 2);
      throw new Error("the WAL changed while reading");
    }
    expect(() => j.append({ ...meta(2), postApply: 0x8000_0000_0000_0003n }, failing())).toThrow("the WAL changed");
    expect(j.staged).toHaveLength(1);
    expect(statSync(path).size).toBe(before);
    j.append({ ...meta(3), postApply: 0x8000_0000_0000_0004n }, pages([2], 3));
    j.close();
    const reopened = StagingJournal.open(path)!;
    expect(reopened.staged.map((c) => c.postApply)).toEqual([0x8000_0000_0000_0002n, 0x8000_0000_0000_0004n]);
    expect(reopened.readPage(reopened.staged[1]!.pages.get(2)!)).toEqual(pageData(2, 3));
    reopened.close();
  });

  it("reuses given page checksums (and a wrong one is caught on replay)", () => {
    const path = journalPath();
    const j = StagingJournal.create(path, PAGE_SIZE, 0x8000_0000_0000_0001n);
    j.append({ ...meta(1), postApply: 0x8000_0000_0000_0002n }, [{ pgno: 1, data: pageData(1, 1), checksum: pageChecksum(1, pageData(1, 1)) }]);
    j.append({ ...meta(2), postApply: 0x8000_0000_0000_0003n }, [{ pgno: 2, data: pageData(2, 1), checksum: 0x8000_0000_0000_0badn }]);
    j.close();
    // The second change's page does not verify: replay keeps the first only.
    const reopened = StagingJournal.open(path)!;
    expect(reopened.staged).toHaveLength(1);
    reopened.close();
  });

  it("replays every verified change after a reopen, with the header's page size and pre-apply checksum", () => {
    const path = journalPath();
    writeThree(path).close();
    const j = StagingJournal.open(path)!;
    expect(j.pageSize).toBe(PAGE_SIZE);
    expect(j.preApply).toBe(0x8000_0000_0000_00aan);
    expect(j.staged.map((c) => c.postApply)).toEqual([0x8000_0000_0000_0001n, 0x8000_0000_0000_0002n, 0x8000_0000_0000_0003n]);
    expect(j.staged.map((c) => [...c.pages.keys()])).toEqual([[1, 2], [2, 3, 5], [1]]);
    expect(j.staged[1]).toMatchObject(meta(2));
    expect(j.readPage(j.staged[1]!.pages.get(5)!)).toEqual(pageData(5, 2));
    // Appending after a replay continues the file.
    j.append({ ...meta(4), postApply: 0x8000_0000_0000_0004n }, pages([9], 4));
    j.close();
    const again = StagingJournal.open(path)!;
    expect(again.staged).toHaveLength(4);
    expect(again.readPage(again.staged[3]!.pages.get(9)!)).toEqual(pageData(9, 4));
    again.close();
  });

  it("discards a half-written change: cut inside a page, after its pages, or inside its commit record", () => {
    const full = HEADER + 6 * PAGE_RECORD + 3 * COMMIT_RECORD;
    const thirdStart = full - COMMIT_RECORD - PAGE_RECORD;
    for (const cut of [thirdStart + 5, thirdStart + PAGE_RECORD, full - 1]) {
      const path = journalPath();
      writeThree(path).close();
      truncateSync(path, cut);
      const j = StagingJournal.open(path)!;
      expect(j.staged).toHaveLength(2);
      // The file is cut back to the last complete change.
      expect(statSync(path).size).toBe(thirdStart);
      expect(j.bytes).toBe(thirdStart);
      j.close();
    }
  });

  it("stops replay at a damaged page, a damaged commit record or garbage", () => {
    const secondStart = HEADER + 2 * PAGE_RECORD + COMMIT_RECORD;
    const cases: [what: string, offset: number, keep: number][] = [
      ["a byte of the second change's second page", secondStart + PAGE_RECORD + 13 + 100, 1],
      ["the page number of the second change's first page", secondStart + 4, 1],
      ["the third change's commit record", HEADER + 6 * PAGE_RECORD + 2 * COMMIT_RECORD + 9, 2],
      ["the first record's tag", HEADER, 0],
    ];
    for (const [what, offset, keep] of cases) {
      const path = journalPath();
      writeThree(path).close();
      const fd = openSync(path, "r+");
      const byte = new Uint8Array(1);
      byte[0] = readFileSync(path)[offset]! ^ 0x5a;
      writeSync(fd, byte, 0, 1, offset);
      closeSync(fd);
      const j = StagingJournal.open(path)!;
      expect(j.staged.length, what).toBe(keep);
      j.close();
    }
    // Garbage appended after the last change is cut off.
    const path = journalPath();
    writeThree(path).close();
    const size = statSync(path).size;
    writeFileSync(path, new Uint8Array(300).fill(0x50), { flag: "a" });
    const j = StagingJournal.open(path)!;
    expect(j.staged).toHaveLength(3);
    expect(statSync(path).size).toBe(size);
    j.close();
  });

  it("refuses a missing file or a damaged header", () => {
    expect(StagingJournal.open(tmp.join("absent"))).toBeUndefined();
    const path = journalPath();
    writeThree(path).close();
    const fd = openSync(path, "r+");
    writeSync(fd, new Uint8Array([0xff]), 0, 1, 12);
    closeSync(fd);
    expect(StagingJournal.open(path)).toBeUndefined();
    writeFileSync(path, "not a journal at all, but long enough to hold a header");
    expect(StagingJournal.open(path)).toBeUndefined();
  });

  it("reset() empties the journal onto a new state and the file follows", () => {
    const path = journalPath();
    const j = writeThree(path);
    j.reset(1024, 0x8000_0000_0000_0777n);
    expect(j.staged).toHaveLength(0);
    expect(j.bytes).toBe(HEADER);
    expect(statSync(path).size).toBe(HEADER);
    j.append({ ...meta(5), postApply: 0x8000_0000_0000_0778n }, [{ pgno: 3, data: pageData(3, 5, 1024) }]);
    j.close();
    const reopened = StagingJournal.open(path)!;
    expect(reopened.pageSize).toBe(1024);
    expect(reopened.preApply).toBe(0x8000_0000_0000_0777n);
    expect(reopened.staged).toHaveLength(1);
    expect(reopened.readPage(reopened.staged[0]!.pages.get(3)!)).toEqual(pageData(3, 5, 1024));
    reopened.remove();
    expect(() => statSync(path)).toThrow();
  });

  it("names the WAL position after a change, none for a change not from a WAL", () => {
    expect(walMarkOf({ walOffset: 4128, walSize: 1056, salt1: 1, salt2: 2 })).toEqual({ offset: 5184, salt1: 1, salt2: 2 });
    expect(walMarkOf({ walOffset: 0, walSize: 0, salt1: 0, salt2: 0 })).toBeUndefined();
  });
});
