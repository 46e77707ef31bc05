// The committed image of a database read from its real files while SQLite writes: the
// WAL's captured frames laid over the file, a hot journal's originals restored, and a
// state that adds up to no committed one refused.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { isClusterError } from "@sqlrep/cluster";
import { encodeJournal } from "@sqlrep/wal";
import { afterAll, describe, expect, it } from "vitest";
import { imageChecksum, memoryView, readCommittedImage } from "./committed-image.js";

const dir = mkdtempSync(join(tmpdir(), "litefs-image-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("readCommittedImage", () => {
  it("lays the WAL's committed frames over the database file, up to the mark", () => {
    const path = join(dir, "wal.db");
    const db = new Database(path);
    db.pragma("journal_mode = wal");
    db.pragma("wal_autocheckpoint = 0");
    db.exec("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('a');");
    db.pragma("wal_checkpoint(TRUNCATE)");
    for (let i = 0; i < 20; i++) db.prepare("INSERT INTO t VALUES (?)").run("x".repeat(300) + i);
    const walFile = readFileSync(`${path}-wal`);
    // a copy of the files as they are, with every transaction in the WAL only
    copyFileSync(path, join(dir, "w.database"));
    writeFileSync(join(dir, "w.wal"), walFile);
    db.close();
    const files = { database: join(dir, "w.database"), journal: join(dir, "w.journal"), wal: join(dir, "w.wal") };
    const pageSize = 4096;
    // expected state: the WAL replayed by SQLite (open a copy with its WAL)
    copyFileSync(files.database, join(dir, "e.db"));
    writeFileSync(join(dir, "e.db-wal"), walFile);
    const e = new Database(join(dir, "e.db"));
    e.pragma("wal_checkpoint(TRUNCATE)");
    e.close();
    const full = readFileSync(join(dir, "e.db"));
    const commit = full.length / pageSize;
    const state = { txid: 21, checksum: imageChecksum(full, pageSize, commit), pageSize, commit, timestamp: 0 };
    // no mark (a restart): every committed prefix is tried, newest first
    expect(Buffer.compare(readCommittedImage("w", files, state, undefined), full)).toBe(0);
    const view = memoryView(state, readCommittedImage("w", files, state, undefined));
    const page = new Uint8Array(pageSize);
    view.read(commit, 1, page);
    expect(Buffer.compare(page, full.subarray((commit - 1) * pageSize))).toBe(0);
    // an older state (the base file alone) is found too
    const base = readFileSync(files.database);
    const baseState = { ...state, txid: 1, checksum: imageChecksum(base, pageSize, base.length / pageSize), commit: base.length / pageSize };
    expect(Buffer.compare(readCommittedImage("w", files, baseState, undefined), base)).toBe(0);
  });

  it("restores a hot journal's original pages over a transaction in progress", () => {
    const path = join(dir, "rollback.db");
    const db = new Database(path);
    db.exec("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('committed');");
    db.close();
    const committed = readFileSync(path);
    const pageSize = 4096;
    const commit = committed.length / pageSize;
    const state = { txid: 2, checksum: imageChecksum(committed, pageSize, commit), pageSize, commit, timestamp: 0 };
    // SQLite in the middle of a transaction: page 2 rewritten in the file, its original in the journal
    const torn = new Uint8Array(committed);
    torn.fill(0x55, pageSize, 2 * pageSize);
    writeFileSync(join(dir, "r.database"), torn);
    writeFileSync(
      join(dir, "r.journal"),
      encodeJournal({ pageSize, initialPages: commit, segments: [{ records: [{ pgno: 2, data: committed.subarray(pageSize, 2 * pageSize) }] }] }),
    );
    const files = { database: join(dir, "r.database"), journal: join(dir, "r.journal"), wal: join(dir, "r.wal") };
    expect(Buffer.compare(readCommittedImage("r", files, state, undefined), committed)).toBe(0);
    // without the journal the torn file adds up to nothing committed: refused, never served
    rmSync(files.journal);
    let error: unknown;
    try {
      readCommittedImage("r", files, state, undefined);
    } catch (err) {
      error = err;
    }
    expect(isClusterError(error, "corrupt")).toBe(true);
    expect((error as Error).message).toContain("r.database");
  });
});
