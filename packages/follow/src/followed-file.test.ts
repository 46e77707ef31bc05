/**
 * Tests of the followed copy's in-place writes: the rollback journal SQLite plays back after a
 * crash mid-batch, and a committed batch read by a connection that was open before it.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { addRows, createDatabase, readDatabase, tempDir } from "@sqlrep/testkit";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { FollowedFile, followJournal, physicalPage1 } from "./followed-file.js";

const tmp = tempDir("sqlrep-follow-file-");
afterAll(() => tmp.remove());

const PAGE = 4096;
const pagesOf = (bytes: Uint8Array) => Array.from({ length: bytes.length / PAGE }, (_, i) => bytes.subarray(i * PAGE, (i + 1) * PAGE));

/** A database in the rollback-journal format with `rows` rows, and a later state of it (more rows, some deleted). */
function twoStates(name: string, rows: number): { path: string; before: Buffer; after: Buffer } {
  const path = tmp.join(`${name}.db`);
  createDatabase(path, rows);
  const before = readFileSync(path);
  const db = new Database(path);
  addRows(db, 300);
  db.exec("DELETE FROM t WHERE id % 3 = 0");
  db.close();
  const after = readFileSync(path);
  writeFileSync(path, before);
  return { path, before, after };
}

describe("the followed copy's rollback journal", () => {
  it("is played back by SQLite after a crash mid-batch: the copy is the state before the batch, integrity ok", () => {
    const { path, before, after } = twoStates("crash", 20);
    const old = pagesOf(before);
    const next = pagesOf(after);
    expect(next.length).toBeGreaterThan(old.length);
    const journal = old.map((data, i) => ({ pgno: i + 1, data })).filter(({ pgno }) => pgno <= next.length);
    writeFileSync(`${path}-journal`, followJournal(journal, old.length, PAGE));
    // The crash: page 1 and half of the new pages written, the file grown, nothing else.
    const torn = Buffer.alloc(after.length);
    before.copy(torn);
    after.copy(torn, 0, 0, PAGE);
    for (let i = 1; i < next.length; i += 2) after.copy(torn, i * PAGE, i * PAGE, (i + 1) * PAGE);
    writeFileSync(path, torn);

    const db = new Database(path, { fileMustExist: true });
    const rows = db.prepare("SELECT count(*) FROM t").pluck().get();
    db.close();
    expect(rows).toBe(20);
    expect(existsSync(`${path}-journal`)).toBe(false);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(readDatabase(path).integrity).toBe("ok");
  });

  it("restores pages a batch cut off (a shrinking database)", () => {
    const { path, before, after } = twoStates("shrink", 20);
    // Played the other way: the journal holds the larger state, the file was cut to the smaller one.
    writeFileSync(path, after);
    const big = pagesOf(after);
    writeFileSync(
      `${path}-journal`,
      followJournal(
        big.map((data, i) => ({ pgno: i + 1, data })),
        big.length,
        PAGE,
      ),
    );
    writeFileSync(path, before);
    // A read-only connection cannot play a hot journal back: it refuses to read (never a torn state).
    expect(() => readDatabase(path)).toThrow(/readonly/);
    const db = new Database(path, { fileMustExist: true });
    expect(db.prepare("SELECT count(*) FROM t").pluck().get()).toBe(320 - Math.floor(320 / 3)); // played back by a read-write one
    db.close();
    expect(readFileSync(path).equals(after)).toBe(true);
  });
});

describe("FollowedFile", () => {
  it("commits a batch that a connection opened before it sees in full, with the file in rollback-journal mode", async () => {
    const { path, before, after } = twoStates("commit", 10);
    const logical = before.subarray(0, PAGE);
    writeFileSync(path, Buffer.concat([physicalPage1(logical, 1, before.length / PAGE), before.subarray(PAGE)]));
    const reader = new Database(path, { readonly: true, fileMustExist: true });
    expect(reader.prepare("SELECT count(*) FROM t").pluck().get()).toBe(10);

    const file = await FollowedFile.open(path, logical);
    const staged = await file.stage();
    for (const [i, data] of pagesOf(after).entries()) await staged.writePage(i + 1, data);
    const done = await file.commit(staged, new AbortController().signal);
    await file.close();

    expect(done.journaledPages).toBe(before.length / PAGE);
    expect(existsSync(`${path}-journal`)).toBe(false);
    expect(reader.prepare("SELECT count(*) FROM t").pluck().get()).toBe(310 - Math.floor(310 / 3));
    expect(reader.pragma("integrity_check", { simple: true })).toBe("ok");
    reader.close();
    const bytes = readFileSync(path);
    expect([bytes[18], bytes[19]]).toEqual([1, 1]);
    // Everything but the header fields this copy owns is the replica's state.
    expect(bytes.subarray(PAGE).equals(after.subarray(PAGE))).toBe(true);
  });
});
