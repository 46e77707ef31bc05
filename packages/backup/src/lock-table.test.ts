/** Tests of the `/proc/locks` reader: fresh after its sharing window, shared within it. */
import { existsSync, statSync } from "node:fs";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "@sqlrep/testkit";
import { readLockTable, readLockTableAsync } from "./lock-table.js";

const tmp = tempDir("sqlrep-backup-locktable-");
afterAll(() => tmp.remove());
const lockTable = existsSync("/proc/locks");

describe.skipIf(!lockTable)(`readLockTable${lockTable ? "" : " (skipped: this system has no /proc/locks)"}`, () => {
  it("re-reads the kernel's table from one descriptor: a lock appears and disappears; within 20 ms the text is shared", () => {
    const path = tmp.join("t.db");
    const t0 = performance.now() + 1_000_000;
    const needle = () => `:${statSync(`${path}-shm`).ino} `;
    const db = new Database(path);
    db.pragma("journal_mode = wal");
    db.exec("CREATE TABLE t (x)"); // opens the WAL: the connection now holds a shared lock on the -shm
    const shm = needle();
    expect(readLockTable(t0)).toContain(shm);
    db.close(); // the last connection removes the -shm and its locks
    expect(readLockTable(t0 + 5)).toContain(shm); // shared: the same read
    expect(readLockTable(t0 + 25)).not.toContain(shm); // fresh: read again
  });

  it("reads on libuv's pool the same way, concurrent callers sharing one read", async () => {
    const path = tmp.join("a.db");
    const t0 = performance.now() + 2_000_000;
    const db = new Database(path);
    db.pragma("journal_mode = wal");
    db.exec("CREATE TABLE t (x)");
    const shm = `:${statSync(`${path}-shm`).ino} `;
    const [a, b] = [readLockTableAsync(t0), readLockTableAsync(t0 + 1)];
    expect(a).toBe(b);
    expect(await a).toContain(shm);
    db.close();
    expect(await readLockTableAsync(t0 + 5)).toContain(shm); // shared
    expect(await readLockTableAsync(t0 + 25)).not.toContain(shm); // fresh
  });
});
