/**
 * Tests of the rollback-journal codec against real SQLite: hot journals it left mid-transaction are
 * read as it reads them, and journals we encode are rolled back by SQLite exactly as rollbackJournal does.
 */
import { existsSync, readFileSync } from "node:fs";
import { tempDir } from "@sqlrep/testkit";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { concatBytes } from "./bytes.js";
import { decodeDatabaseHeader, lockPageNumber } from "./database-header.js";
import { isWalError } from "./errors.js";
import {
  decodeJournalHeader,
  encodeJournal,
  encodeJournalHeader,
  encodeJournalRecord,
  JOURNAL_MAGIC,
  journalChecksum,
  readJournal,
  readJournalSync,
  rollbackJournal,
  type JournalEnd,
  type JournalRecord,
} from "./journal.js";
import { copyDbFiles, hasSqliteShell, queryImage, rollbackWithSqlite, SQLITE3_SHELL, SqliteShell } from "./testing/sqlite.js";
import { FINGERPRINT_SQL } from "./testing/workload.js";

const tmp = tempDir("sqlrep-wal-journal-");
afterAll(() => tmp.remove());

function readAll(journal: Uint8Array, pageSize?: number): { records: JournalRecord[]; end: JournalEnd } {
  const records: JournalRecord[] = [];
  const it = readJournalSync(journal, { pageSize });
  let step = it.next();
  for (; step.done !== true; step = it.next()) records.push(step.value);
  return { records, end: step.value };
}

const fingerprintOf = (image: Uint8Array, name: string): string => queryImage(tmp.path, name, image, (c) => String(c.prepare(FINGERPRINT_SQL).pluck().get()));

/** Builds a rollback-mode database with table t (the shape FINGERPRINT_SQL reads). */
function createDb(path: string, pageSize: number, rows: number): void {
  const db = new Database(path);
  db.pragma(`page_size=${pageSize}`);
  db.pragma("journal_mode=DELETE");
  db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
  const insert = db.prepare("INSERT INTO t(v) VALUES (randomblob(?))");
  db.transaction(() => {
    for (let i = 0; i < rows; i++) insert.run(200 + (i % 13) * 20);
  })();
  db.close();
}

/** The statements of a transaction that rewrites, deletes and grows, so a cache spill journals many pages. */
const BIG_CHANGE = "UPDATE t SET v = randomblob(length(v) + 10) WHERE id % 3 = 0; DELETE FROM t WHERE id % 7 = 0; INSERT INTO t(v) SELECT randomblob(500) FROM t WHERE id < 300;";

/** Checks a captured hot journal against the database as it was before the transaction. */
function checkHotJournal(orig: Uint8Array, hotDb: Uint8Array, journal: Uint8Array, name: string): void {
  const pageSize = decodeDatabaseHeader(orig).pageSize;
  const { records, end } = readAll(journal);
  expect(end.header).toMatchObject({ offset: 0, pageSize, initialPages: orig.length / pageSize });
  const sectorSize = end.header?.sectorSize ?? 0;
  expect(sectorSize & (sectorSize - 1)).toBe(0);
  expect(end.segments).toBeGreaterThan(1); // every spill starts a new header block
  expect(records.length).toBeGreaterThan(0);
  expect(end.superJournal).toBeUndefined();
  // A record holds the page as it was before the transaction.
  for (const r of records) {
    expect(Buffer.compare(r.data, orig.subarray((r.pgno - 1) * pageSize, r.pgno * pageSize))).toBe(0);
  }
  const sqlite = rollbackWithSqlite(tmp.path, `${name}-sqlite.db`, hotDb, journal);
  const mine = rollbackJournal(hotDb, journal);
  expect(Buffer.compare(mine, sqlite)).toBe(0);
  expect(Buffer.compare(mine, orig)).toBe(0);
}

describe("real hot journals", () => {
  for (const pageSize of [1024, 4096, 65536]) {
    it(`better-sqlite3 mid-transaction with a cache spill, page size ${pageSize}`, () => {
      const path = tmp.join(`hot-${pageSize}.db`);
      createDb(path, pageSize, pageSize === 65536 ? 3000 : 1500);
      const orig = new Uint8Array(readFileSync(path));
      const db = new Database(path);
      try {
        db.pragma("cache_size=4");
        db.exec(`BEGIN; ${BIG_CHANGE}`);
        expect(existsSync(`${path}-journal`)).toBe(true);
        copyDbFiles(path, tmp.join(`hot-${pageSize}-copy.db`));
        db.exec("ROLLBACK");
      } finally {
        db.close();
      }
      const hotDb = new Uint8Array(readFileSync(tmp.join(`hot-${pageSize}-copy.db`)));
      expect(Buffer.compare(hotDb, orig)).not.toBe(0); // the spill wrote into the database file
      checkHotJournal(orig, hotDb, new Uint8Array(readFileSync(tmp.join(`hot-${pageSize}-copy.db-journal`))), `hot-${pageSize}`);
    });
  }

  it.skipIf(!hasSqliteShell)(`the sqlite3 shell mid-transaction (a second SQLite build)${hasSqliteShell ? "" : ` — needs ${SQLITE3_SHELL}`}`, async () => {
    const path = tmp.join("hot-shell.db");
    createDb(path, 4096, 1500);
    const orig = new Uint8Array(readFileSync(path));
    const shell = new SqliteShell(path);
    try {
      await shell.exec(`PRAGMA journal_mode=DELETE; PRAGMA cache_size=4; BEGIN; ${BIG_CHANGE}`);
      copyDbFiles(path, tmp.join("hot-shell-copy.db"));
      await shell.exec("ROLLBACK");
    } finally {
      await shell.close();
    }
    const copy = tmp.join("hot-shell-copy.db");
    checkHotJournal(orig, new Uint8Array(readFileSync(copy)), new Uint8Array(readFileSync(`${copy}-journal`)), "hot-shell");
  });

  it("journal_mode=PERSIST: after commit the header is zeroed, so nothing is hot", () => {
    const path = tmp.join("persist.db");
    createDb(path, 1024, 300);
    const db = new Database(path);
    db.pragma("journal_mode=PERSIST");
    db.exec("UPDATE t SET v = x'00' WHERE id < 100");
    const during = new Database(path); // a second connection sees the committed state
    during.close();
    db.close();
    const journal = new Uint8Array(readFileSync(`${path}-journal`));
    expect(journal.length).toBeGreaterThan(1024); // the records are still there
    expect([...journal.subarray(0, 28)].every((b) => b === 0)).toBe(true);
    const { records, end } = readAll(journal);
    expect(records).toEqual([]);
    expect(end).toMatchObject({ header: undefined, segments: 0, stop: { offset: 0, reason: "no-header" } });
    const current = new Uint8Array(readFileSync(path));
    expect(Buffer.compare(rollbackJournal(current, journal), current)).toBe(0);
  });

  it("journal_mode=PERSIST mid-transaction: a valid header over the previous transaction's leftovers", () => {
    const path = tmp.join("persist-hot.db");
    createDb(path, 1024, 1500);
    const db = new Database(path);
    try {
      db.pragma("journal_mode=PERSIST");
      db.exec("UPDATE t SET v = x'01' WHERE id < 1000"); // leaves a long persisted journal behind
      const orig = new Uint8Array(readFileSync(path));
      db.pragma("cache_size=4");
      db.exec("BEGIN; UPDATE t SET v = randomblob(300) WHERE id > 1200;");
      copyDbFiles(path, tmp.join("persist-hot-copy.db"));
      db.exec("ROLLBACK");
      const copy = tmp.join("persist-hot-copy.db");
      checkHotJournal(orig, new Uint8Array(readFileSync(copy)), new Uint8Array(readFileSync(`${copy}-journal`)), "persist-hot");
    } finally {
      db.close();
    }
  });
});

describe("journal encoding", () => {
  it("header round trip, padded to the sector size", () => {
    const bytes = encodeJournalHeader({ recordCount: 7, nonce: 0xfeedface, initialPages: 99, pageSize: 65536, sectorSize: 4096 });
    expect(bytes.length).toBe(4096);
    expect([...bytes.subarray(0, 8)]).toEqual([...JOURNAL_MAGIC]);
    expect([...bytes.subarray(28)].every((b) => b === 0)).toBe(true);
    expect(decodeJournalHeader(bytes)).toEqual({ offset: 0, recordCount: 7, nonce: 0xfeedface, initialPages: 99, sectorSize: 4096, pageSize: 65536 });
  });

  it("the checksum is the nonce plus every 200th byte counted back from the page end, excluding byte 0", () => {
    const page = new Uint8Array(1024);
    page[0] = 100; // never sampled
    page[24] = 1;
    page[224] = 2;
    page[824] = 3;
    page[825] = 50; // not sampled
    expect(journalChecksum(10, page)).toBe(16);
    expect(journalChecksum(0xffffffff, page)).toBe(5); // wraps modulo 2^32
    const p512 = new Uint8Array(512).fill(1);
    expect(journalChecksum(0, p512)).toBe(2); // offsets 312 and 112
    expect(journalChecksum(0, new Uint8Array(65536).fill(1))).toBe(327);
    const record = encodeJournalRecord(5, page, 10);
    expect(new DataView(record.buffer).getUint32(0, false)).toBe(5);
    expect(new DataView(record.buffer).getUint32(1028, false)).toBe(16);
  });

  it("rejects headers SQLite calls corrupt", () => {
    const code = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (err) {
        if (isWalError(err)) return err.code;
        throw err;
      }
      return undefined;
    };
    const good = encodeJournalHeader({ recordCount: 1, nonce: 1, initialPages: 1, pageSize: 1024 });
    const set = (at: number, v: number): Uint8Array => {
      const b = good.slice();
      new DataView(b.buffer).setUint32(at, v, false);
      return b;
    };
    expect(code(() => decodeJournalHeader(set(0, 0)))).toBe("invalid-magic");
    expect(code(() => decodeJournalHeader(set(24, 1000)))).toBe("invalid-header");
    expect(code(() => decodeJournalHeader(set(20, 16)))).toBe("invalid-header");
    expect(code(() => decodeJournalHeader(set(20, 0x20000)))).toBe("invalid-header");
    expect(code(() => decodeJournalHeader(good.subarray(0, 27)))).toBe("truncated");
    expect(code(() => [...readJournalSync(set(24, 3))])).toBe("invalid-header");
  });
});

describe("SQLite rolls back journals written by our encoder, exactly as rollbackJournal does", () => {
  const pageSize = 1024;
  const base = tmp.join("enc-base.db");
  createDb(base, pageSize, 400);
  const orig = new Uint8Array(readFileSync(base));
  const origPages = orig.length / pageSize;
  const fingerprint = fingerprintOf(orig, "enc-orig-check.db");
  // The same database after a committed transaction that rewrote pages and grew the file.
  const changedPath = tmp.join("enc-changed.db");
  copyDbFiles(base, changedPath);
  const conn = new Database(changedPath);
  conn.exec("UPDATE t SET v = randomblob(250) WHERE id % 2 = 0; INSERT INTO t(v) SELECT randomblob(300) FROM t WHERE id < 200;");
  conn.close();
  const changed = new Uint8Array(readFileSync(changedPath));
  const dirty = Array.from({ length: origPages }, (_, i) => i + 1).filter(
    (pgno) => Buffer.compare(orig.subarray((pgno - 1) * pageSize, pgno * pageSize), changed.subarray((pgno - 1) * pageSize, pgno * pageSize)) !== 0,
  );
  const oldPage = (pgno: number): { pgno: number; data: Uint8Array } => ({ pgno, data: orig.subarray((pgno - 1) * pageSize, pgno * pageSize) });
  const thirds = [dirty.slice(0, 3), dirty.slice(3, 8), dirty.slice(8)];

  function compare(name: string, journal: Uint8Array): { sqlite: Uint8Array; end: JournalEnd } {
    const sqlite = rollbackWithSqlite(tmp.path, `enc-${name}.db`, changed, journal);
    expect(Buffer.compare(rollbackJournal(changed, journal), sqlite)).toBe(0);
    return { sqlite, end: readAll(journal).end };
  }

  it("the database grew and changed (the precondition)", () => {
    expect(changed.length).toBeGreaterThan(orig.length);
    expect(dirty.length).toBeGreaterThan(10);
  });

  for (const sectorSize of [512, 4096]) {
    it(`three header blocks, sector size ${sectorSize}: SQLite restores the old pages and truncates`, () => {
      const journal = encodeJournal({ pageSize, sectorSize, initialPages: origPages, segments: thirds.map((s) => ({ records: s.map(oldPage) })) });
      const { sqlite, end } = compare(`three-${sectorSize}`, journal);
      expect(end).toMatchObject({ segments: 3, records: dirty.length, stop: { reason: "end-of-file" } });
      expect(Buffer.compare(sqlite, orig)).toBe(0);
      expect(fingerprintOf(sqlite, "enc-check.db")).toBe(fingerprint);
    });
  }

  it("record count 0xFFFFFFFF: the records run to the end of the file", () => {
    const journal = encodeJournal({ pageSize, initialPages: origPages, segments: [{ records: dirty.map(oldPage), recordCount: 0xffffffff }] });
    const { sqlite, end } = compare("to-eof", journal);
    expect(end.records).toBe(dirty.length);
    expect(Buffer.compare(sqlite, orig)).toBe(0);
  });

  it("record count 0 in a hot journal: no records, the next header is looked for right after", () => {
    const journal = encodeJournal({ pageSize, initialPages: origPages, segments: [{ records: dirty.map(oldPage), recordCount: 0 }] });
    const { sqlite, end } = compare("zero", journal);
    expect(end).toMatchObject({ records: 0, segments: 1, stop: { offset: 512, reason: "no-header" } });
    expect(sqlite.length).toBe(orig.length); // only the truncation happened
  });

  it("a bad checksum stops the rollback there, in SQLite and here", () => {
    const journal = encodeJournal({ pageSize, initialPages: origPages, segments: thirds.map((s) => ({ records: s.map(oldPage) })) });
    const { records } = readAll(journal);
    const victim = records[5] as JournalRecord;
    const sampled = victim.offset + 4 + (pageSize - 400); // a byte the checksum samples
    journal[sampled] = (journal[sampled] as number) ^ 0xff;
    const { sqlite, end } = compare("bad-checksum", journal);
    expect(end).toMatchObject({ records: 5, stop: { offset: victim.offset, reason: "checksum-mismatch" } });
    expect(Buffer.compare(sqlite, orig)).not.toBe(0);
  });

  it("records past the initial size are skipped without a checksum check; page 0 stops", () => {
    const garbage = { pgno: origPages + 5, data: new Uint8Array(pageSize).fill(7) };
    const records = dirty.map(oldPage);
    const withSkip = concatBytes([
      encodeJournalHeader({ recordCount: records.length + 1, nonce: 3, initialPages: origPages, pageSize }),
      ...records.slice(0, 4).map((r) => encodeJournalRecord(r.pgno, r.data, 3)),
      encodeJournalRecord(garbage.pgno, garbage.data, 999), // wrong nonce: would fail a checksum check
      ...records.slice(4).map((r) => encodeJournalRecord(r.pgno, r.data, 3)),
    ]);
    const skipped = compare("skip", withSkip);
    expect(skipped.end).toMatchObject({ records: records.length, skipped: 1 });
    expect(Buffer.compare(skipped.sqlite, orig)).toBe(0);

    const zero = withSkip.slice();
    const zeroAt = 512 + 6 * (pageSize + 8);
    zero.set([0, 0, 0, 0], zeroAt);
    const stopped = compare("pgno-zero", zero);
    expect(stopped.end).toMatchObject({ records: 5, stop: { offset: zeroAt, reason: "invalid-page-number" } });
  });

  it("a torn last record ends the rollback there", () => {
    const journal = encodeJournal({ pageSize, initialPages: origPages, segments: [{ records: dirty.map(oldPage) }] });
    const torn = journal.subarray(0, journal.length - 300);
    const { sqlite, end } = compare("torn", torn);
    expect(end).toMatchObject({ records: dirty.length - 1, stop: { reason: "partial-record" } });
    expect(sqlite.length).toBe(orig.length);
  });

  it("a half-written page 1 (garbage database header) is restored: the rollback does not read it", () => {
    expect(dirty[0]).toBe(1);
    const journal = encodeJournal({ pageSize, initialPages: origPages, segments: [{ records: dirty.map(oldPage) }] });
    const torn = changed.slice();
    torn.fill(0xee, 0, 100);
    expect(Buffer.compare(rollbackJournal(torn, journal), orig)).toBe(0);
    expect(Buffer.compare(rollbackWithSqlite(tmp.path, "enc-torn-page1.db", torn, journal), orig)).toBe(0);
  });

  it("a super-journal name that does not exist means committed: SQLite does not roll back", () => {
    const journal = encodeJournal({ pageSize, initialPages: origPages, segments: [{ records: dirty.map(oldPage) }] });
    const name = new TextEncoder().encode(tmp.join("gone-mj01234567"));
    const trailer = new Uint8Array(4 + name.length + 16);
    const view = new DataView(trailer.buffer);
    view.setUint32(0, lockPageNumber(pageSize), false);
    trailer.set(name, 4);
    view.setUint32(4 + name.length, name.length, false);
    view.setUint32(
      8 + name.length,
      name.reduce((s, b) => s + b, 0),
      false,
    );
    trailer.set(JOURNAL_MAGIC, 12 + name.length);
    const withSuper = concatBytes([journal, trailer]);
    const { end } = readAll(withSuper);
    expect(end.superJournal).toBe(tmp.join("gone-mj01234567"));
    expect(end.records).toBe(dirty.length);
    const sqlite = rollbackWithSqlite(tmp.path, "enc-super.db", changed, withSuper);
    expect(Buffer.compare(sqlite, changed)).toBe(0);
  });

  it("the async reader yields the same records", async () => {
    const journal = encodeJournal({ pageSize, initialPages: origPages, segments: thirds.map((s) => ({ records: s.map(oldPage) })) });
    const source = { size: journal.length, readAt: async (o: number, l: number) => journal.slice(o, o + l) };
    const got: number[] = [];
    for await (const r of readJournal(source)) got.push(r.pgno);
    expect(got).toEqual(dirty);
  });
});
