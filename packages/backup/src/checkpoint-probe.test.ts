/** Tests of the lock-table probe: the `/proc/locks` parser, its self-check, and a real checkpoint seen waiting on a reader. */
import { existsSync, statSync } from "node:fs";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir, waitFor } from "@sqlrep/testkit";
import { CheckpointProbe, locksOnInode } from "./checkpoint-probe.js";
import { pinnedWalDatabase, startAppCheckpoint } from "./testing/app-checkpoint.js";

const tmp = tempDir("sqlrep-backup-probe-");
afterAll(() => tmp.remove());

const TABLE = [
  "1: POSIX  ADVISORY  WRITE 4177 fe:00:2146590 120 121",
  "1: -> POSIX  ADVISORY  WRITE 4200 fe:00:2146590 121 121",
  "2: POSIX  ADVISORY  READ 4177 fe:00:2146590 128 128",
  "3: POSIX  ADVISORY  READ 4177 fe:00:12146590 121 121",
  "4: OFDLCK ADVISORY  WRITE -1 00:2e:2146590 0 EOF",
  "5: FLOCK  ADVISORY  WRITE 99 fe:00:777 0 EOF",
  "",
].join("\n");

describe("locksOnInode", () => {
  it("reads holders, waiters and open-ended ranges of one inode, and not an inode that merely ends in the same digits", () => {
    expect(locksOnInode(TABLE, 2146590)).toEqual([
      { pid: 4177, inode: 2146590, start: 120, end: 121, waiting: false },
      { pid: 4200, inode: 2146590, start: 121, end: 121, waiting: true },
      { pid: 4177, inode: 2146590, start: 128, end: 128, waiting: false },
      { pid: -1, inode: 2146590, start: 0, end: Number.POSITIVE_INFINITY, waiting: false },
    ]);
    expect(locksOnInode(TABLE, 777)).toEqual([{ pid: 99, inode: 777, start: 0, end: Number.POSITIVE_INFINITY, waiting: false }]);
    expect(locksOnInode(TABLE, 5)).toEqual([]);
    expect(locksOnInode("garbage :5 here\n1: POSIX ADVISORY WRITE x fe:00:5 a b\n", 5)).toEqual([]);
  });
});

describe("CheckpointProbe's self-check", () => {
  it("cannot tell (undefined) without a lock table, or when the table does not show our own connection's lock", () => {
    const path = tmp.join("self.db");
    const db = new Database(path);
    db.pragma("journal_mode = wal");
    db.exec("CREATE TABLE t (x)");
    try {
      const missing = new CheckpointProbe(`${path}-shm`, () => {
        throw new Error("ENOENT: /proc/locks");
      });
      expect(missing.running()).toBeUndefined();
      expect(missing.works()).toBe(false);
      // A table that shows a checkpoint but not us: not trusted (a file system whose locks it does not list).
      const notUs = new CheckpointProbe(`${path}-shm`, () => TABLE.replaceAll("2146590", "1"), 12345);
      expect(notUs.running()).toBeUndefined();
      expect(new CheckpointProbe(tmp.join("none.db-shm"), () => TABLE).running()).toBeUndefined();
    } finally {
      db.close();
    }
  });
});

describe("CheckpointProbe's interval", () => {
  it("stays at the base where the table reads fast, stretches where it reads slowly, up to the cap", () => {
    const path = tmp.join("interval.db");
    const db = new Database(path);
    db.pragma("journal_mode = wal");
    db.exec("CREATE TABLE t (x)");
    try {
      // A table showing our own connection's lock on this -shm, so the probe trusts it.
      const table = `1: POSIX  ADVISORY  READ 4177 fe:00:${statSync(`${path}-shm`).ino} 128 128\n`;
      const fast = new CheckpointProbe(`${path}-shm`, () => table, 4177);
      expect(fast.running()).toBe(false);
      expect(fast.interval(100, 250)).toBe(100);
      const slow = (ms: number) =>
        new CheckpointProbe(
          `${path}-shm`,
          () => {
            const until = performance.now() + ms;
            while (performance.now() < until);
            return table;
          },
          4177,
        );
      const stretched = slow(1.6);
      expect(stretched.running()).toBe(false);
      expect(stretched.interval(100, 250)).toBeGreaterThanOrEqual(160);
      const capped = slow(5);
      capped.running();
      expect(capped.interval(100, 250)).toBe(250);
    } finally {
      db.close();
    }
  });
});

const lockTable = existsSync("/proc/locks");
describe.skipIf(!lockTable)(`CheckpointProbe on this kernel${lockTable ? "" : " (skipped: this system has no /proc/locks)"}`, () => {
  it("sees another process's TRUNCATE checkpoint while it waits for our reader, and not before or after", async () => {
    const path = tmp.join("real.db");
    // Our reader pins the WAL at its current end; the other process commits past it and
    // then checkpoints with TRUNCATE, which must wait for the reader to move on.
    const pinned = pinnedWalDatabase(path);
    const probe = new CheckpointProbe(`${path}-shm`);
    expect(probe.works()).toBe(true);
    expect(probe.running()).toBe(false);
    const app = startAppCheckpoint(path);
    try {
      // The child prints "committed" and takes the checkpoint lock moments apart: the probe
      // can see the lock before that line is read from the pipe (a CI run did), so wait
      // for the line first, then for the probe.
      await app.committed();
      await waitFor(() => probe.running() === true, { timeoutMs: 15_000, message: "the probe seeing the waiting checkpoint" });
      expect(await probe.runningAsync()).toBe(true); // the engine's probe, read on libuv's pool
      expect(app.done).toBe(false);
      pinned.reader.exec("COMMIT");
      expect((await app.finished()).busy).toBe(0);
      expect(probe.running()).toBe(false);
      await new Promise((r) => setTimeout(r, 25)); // past the 20 ms a read is shared
      expect(await probe.runningAsync()).toBe(false);
    } finally {
      app.kill();
      pinned.close();
    }
  }, 30_000);
});
