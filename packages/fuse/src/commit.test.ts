// Commits through a real mount on a primary: every committed transaction is captured
// exactly once, in every journal mode, from better-sqlite3 and the sqlite3 shell in
// other processes; replaying the LTX log gives the database byte for byte.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fuseUnavailableReason } from "@sqlrep/testkit";
import { formatPosition } from "./virtual-files.js";
import { hasSqlite3Shell, sqlite3, sqliteChild, startTestDaemon, type TestDaemon } from "./testing/harness.js";
import { testDatabasePaths } from "./testing/ltx-log-backend.js";
import { replayLog } from "./testing/verify.js";

const skip = fuseUnavailableReason();

async function expectLogMatches(daemon: TestDaemon, name: string, transactions: number): Promise<void> {
  const replay = await replayLog(daemon.ltxDir, name);
  expect(replay.files).toBe(transactions);
  expect(replay.pos.txid).toBe(transactions);
  const paths = testDatabasePaths(daemon.dataDir, name);
  // the comparison below reads the database file alone: a WAL still holding frames would
  // make it differ for a reason that is not the capture's
  expect(existsSync(paths.wal) ? statSync(paths.wal).size : 0, `${name}: WAL not checkpointed`).toBe(0);
  const real = new Uint8Array(readFileSync(paths.database));
  expect(Buffer.compare(replay.bytes, real)).toBe(0);
  expect(readFileSync(join(daemon.mountpoint, `${name}-pos`), "utf8")).toBe(formatPosition(replay.pos.txid, replay.pos.postApplyChecksum));
}

describe.skipIf(skip)(`commits on a primary mount${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let daemon: TestDaemon;

  beforeAll(async () => {
    daemon = await startTestDaemon({ role: "primary" });
  }, 30_000);

  afterAll(async () => {
    await daemon?.stop();
  }, 30_000);

  // a new empty database switched to WAL writes page 1 once: one more transaction
  it.each([
    ["delete", "full", 41],
    ["delete", "normal", 41],
    ["truncate", "full", 41],
    ["persist", "normal", 41],
    ["wal", "normal", 42],
    ["wal", "full", 42],
  ])("better-sqlite3, journal_mode=%s synchronous=%s: each of %i transactions captured once", async (mode, sync, transactions) => {
    const name = `bs-${mode}-${sync}.db`;
    const [result] = await sqliteChild(["write", join(daemon.mountpoint, name), mode, sync, "40"]);
    expect(result).toMatchObject({ count: 40 });
    await expectLogMatches(daemon, name, transactions);
  });

  it.skipIf(!hasSqlite3Shell).each(["delete", "truncate", "persist", "wal"])("the sqlite3 shell, journal_mode=%s: explicit transactions and a rollback", async (mode) => {
    const name = `shell-${mode}.db`;
    const db = join(daemon.mountpoint, name);
    const run = sqlite3(
      db,
      `PRAGMA journal_mode=${mode};
         CREATE TABLE t(x);
         BEGIN; INSERT INTO t VALUES (1); INSERT INTO t VALUES (randomblob(9000)); COMMIT;
         BEGIN; INSERT INTO t VALUES (3); ROLLBACK;
         INSERT INTO t VALUES (4);
         SELECT count(*) FROM t;`,
    );
    expect(run.stderr).toBe("");
    expect(run.stdout.trim().split("\n").at(-1)).toBe("3");
    await expectLogMatches(daemon, name, mode === "wal" ? 4 : 3);
  });

  it("PRAGMA journal_mode=wal on a new empty database works, then writes (LiteFS #425)", async () => {
    const name = "prisma.db";
    const [result] = await sqliteChild(["write", join(daemon.mountpoint, name), "wal", "normal", "3"]);
    expect(result).toMatchObject({ count: 3 });
    await expectLogMatches(daemon, name, 5);
    const header = readFileSync(testDatabasePaths(daemon.dataDir, name).database).subarray(18, 20);
    expect([...header]).toEqual([2, 2]);
  });

  it("two processes writing the same WAL database at once: every transaction once", async () => {
    const name = "concurrent.db";
    const db = join(daemon.mountpoint, name);
    await sqliteChild(["write", db, "wal", "normal", "0"]);
    const results = await Promise.all([sqliteChild(["write", db, "wal", "normal", "30"]), sqliteChild(["write", db, "wal", "normal", "30"])]);
    expect(Math.max(...results.map((r) => r[0]!.count as number))).toBe(60);
    // Two connections closing together may each find the other still attached and both
    // skip the checkpoint-on-close (SQLite's rule, not the mount's), leaving the last
    // transactions in the WAL. One connection alone closes last and checkpoints, so the
    // database file can be compared with the log; it commits nothing.
    await sqliteChild(["write", db, "wal", "normal", "0"]);
    await expectLogMatches(daemon, name, 2 + 60);
  });

  it("a large transaction (a cache spill in rollback mode, many WAL frames)", async () => {
    for (const mode of ["delete", "wal"]) {
      const name = `big-${mode}.db`;
      const run = sqlite3(
        join(daemon.mountpoint, name),
        `PRAGMA journal_mode=${mode}; PRAGMA cache_size=10;
         CREATE TABLE t(x);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) INSERT INTO t SELECT randomblob(500) FROM n;
         UPDATE t SET x = randomblob(400) WHERE rowid % 3 = 0;
         DELETE FROM t WHERE rowid % 2 = 0;
         VACUUM;`,
      );
      expect(run.stderr).toBe("");
      await expectLogMatches(daemon, name, mode === "wal" ? 6 : 5);
    }
  });

  it("the daemon saw SQLite's locks (forwarded, not kept by the kernel)", async () => {
    const stats = await daemon.send<{ stats: Record<string, number> }>("stats");
    expect(stats.stats.setlk).toBeGreaterThan(100);
    expect(stats.stats.commit).toBeGreaterThan(100);
  });
});
