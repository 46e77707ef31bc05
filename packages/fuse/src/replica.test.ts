// A replica mount applying a primary's LTX log while SQLite reads it from other
// processes: whole transactions only, never a stale page after an apply, SQLite's
// locks respected, writes refused as SQLITE_READONLY, the files litefs-js reads.
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { getInstanceInfo, getTxNumber } from "litefs-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fuseUnavailableReason } from "@sqlrep/testkit";
import { hasSqlite3Shell, lockClient, sqlite3, sqliteChild, startSqliteChild, startTestDaemon, type TestDaemon } from "./testing/harness.js";
import { testDatabasePaths } from "./testing/ltx-log-backend.js";

const skip = fuseUnavailableReason();
const PRIMARY = "primary-host";

describe.skipIf(skip)(`a replica mount${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let primary: TestDaemon;
  let replica: TestDaemon;
  const pos = (daemon: TestDaemon, name: string) => readFileSync(join(daemon.mountpoint, `${name}-pos`), "utf8");
  const sync = () => replica.send<{ applied: number }>("sync");
  const sameBytes = (name: string) =>
    Buffer.compare(readFileSync(testDatabasePaths(primary.dataDir, name).database), readFileSync(testDatabasePaths(replica.dataDir, name).database));

  beforeAll(async () => {
    primary = await startTestDaemon({ role: "primary", name: "primary" });
    replica = await startTestDaemon({ role: "replica", name: "replica", ltxDir: primary.ltxDir, primaryHostname: PRIMARY });
  }, 30_000);

  afterAll(async () => {
    await replica?.stop();
    await primary?.stop();
  }, 30_000);

  it("before its first sync: .lag is int32 max and there is no .primary; after it, both as LiteFS writes them", async () => {
    expect(readFileSync(join(replica.mountpoint, ".lag"), "utf8")).toBe("+2147483647\n");
    expect(() => readFileSync(join(replica.mountpoint, ".primary"))).toThrow(/ENOENT/);
    expect(readFileSync(join(primary.mountpoint, ".lag"), "utf8")).toBe("+000000000\n");
    await sqliteChild(["write", join(primary.mountpoint, "app.db"), "delete", "full", "5"]);
    expect((await sync()).applied).toBe(6);
    expect(readFileSync(join(replica.mountpoint, ".primary"), "utf8")).toBe(`${PRIMARY}\n`);
    expect(readFileSync(join(replica.mountpoint, ".lag"), "utf8")).toMatch(/^\+0000\d{5}\n$/);
    expect(pos(replica, "app.db")).toBe(pos(primary, "app.db"));
    expect(pos(replica, "app.db")).toMatch(/^0000000000000006\/[0-9a-f]{16}\n$/);
    expect(sameBytes("app.db")).toBe(0);
  });

  it("litefs-js reads what it reads on LiteFS: getInstanceInfo and getTxNumber", async () => {
    expect(await getInstanceInfo(primary.mountpoint)).toEqual({ primaryInstance: hostname(), currentInstance: hostname(), currentIsPrimary: true });
    expect(await getInstanceInfo(replica.mountpoint)).toEqual({ primaryInstance: PRIMARY, currentInstance: hostname(), currentIsPrimary: false });
    expect(await getTxNumber(primary.mountpoint, "app.db")).toBe(6);
    expect(await getTxNumber(replica.mountpoint, "app.db")).toBe(6);
  });

  it.each(["delete", "wal"])("journal_mode=%s: a long-open reader sees every apply whole and never a stale page", async (mode) => {
    const name = `bank-${mode}.db`;
    await sqliteChild(["bank", join(primary.mountpoint, name), mode, "normal", "0"]);
    await sync();
    const reader = await startSqliteChild(["read-loop", join(replica.mountpoint, name), "200"]);
    let writing = true;
    const writer = sqliteChild(["bank", join(primary.mountpoint, name), mode, "normal", "300"]).finally(() => (writing = false));
    let applies = 0;
    while (writing) applies += (await sync()).applied;
    await writer;
    applies += (await sync()).applied;
    expect(applies).toBe(300);
    // no more applies from here: a reader still seeing an older state would be stale
    await reader.waitForLine(/^\{"n":300\}$/, 10_000);
    reader.stdin!.write("stop\n");
    const summary = JSON.parse(await reader.waitForLine(/"done":true/, 10_000)) as Record<string, number>;
    const problems = reader.output().filter((l) => /^\{"(torn|backwards|integrity)":/.test(l));
    expect(problems).toEqual([]);
    expect(summary).toMatchObject({ bad: 0, last: 300 });
    expect(summary.distinct).toBeGreaterThan(3);
    expect(summary.integrityChecks).toBeGreaterThan(0);
    expect(pos(replica, name)).toBe(pos(primary, name));
    expect(sameBytes(name)).toBe(0);
  });

  it.each(["delete", "wal"])("journal_mode=%s: an apply waits for a reader's open transaction (the daemon sees SQLite's locks)", async (mode) => {
    const name = `held-${mode}.db`;
    await sqliteChild(["write", join(primary.mountpoint, name), mode, "normal", "1"]);
    await sync();
    const before = pos(replica, name);
    const holder = await startSqliteChild(["hold-read", join(replica.mountpoint, name)]);
    await sqliteChild(["write", join(primary.mountpoint, name), mode, "normal", "1"]);
    let synced = false;
    const pending = sync().then((r) => ((synced = true), r));
    await sleep(700);
    expect(synced).toBe(false);
    expect(pos(replica, name)).toBe(before);
    holder.stdin!.write("release\n");
    expect((await pending).applied).toBe(1);
    expect(pos(replica, name)).toBe(pos(primary, name));
    await holder.exited;
  });

  it.each(["delete", "wal"])("journal_mode=%s: a write on the replica fails as SQLITE_READONLY and the daemon logs the pid", async (mode) => {
    const name = `ro-${mode}.db`;
    await sqliteChild(["write", join(primary.mountpoint, name), mode, "normal", "2"]);
    await sync();
    const [result] = await sqliteChild(["try-write", join(replica.mountpoint, name)]);
    expect(result!.code).toMatch(/^SQLITE_READONLY/);
    expect(result!.message).toBe("attempt to write a readonly database");
    expect(replica.warnings().some((l) => l.includes(`pid ${result!.pid as number} `) && l.includes(name))).toBe(true);
    if (hasSqlite3Shell) {
      const shell = sqlite3(join(replica.mountpoint, name), "INSERT INTO t(v) VALUES ('shell');");
      expect(shell.stderr).toMatch(/attempt to write a readonly database/);
      expect(shell.stderr).not.toMatch(/disk I\/O error/);
    }
    expect(pos(replica, name)).toBe(pos(primary, name));
  });

  it("the halt lock: an OFD F_SETLKW write lock on byte 72 of <db>-lock reaches the backend with the pid", async () => {
    const lockFile = join(replica.mountpoint, "app.db-lock");
    const first = await lockClient(lockFile);
    const second = await lockClient(lockFile);
    try {
      expect(await first.run("open append")).toBe("ok");
      expect(await second.run("open rw")).toBe("ok");
      expect(await first.run("F_OFD_SETLKW w 72 1")).toBe("ok");
      expect(await second.run("F_OFD_SETLK w 72 1")).toBe("err 11");
      expect(await second.run("ofd-getlk w 72 1")).toMatch(/^getlk w 72 1 /);
      expect(await second.run("F_OFD_SETLKW w 73 1")).toBe("err 22");
      second.start("F_OFD_SETLKW w 72 1"); // waits for the first to let go
      await sleep(200);
      expect(await first.run("close")).toBe("ok");
      expect(await second.answer()).toBe("ok");
      expect(await second.run("F_OFD_SETLK u 72 1")).toBe("ok");
      const state = await replica.send<{ halts: { name: string; kind: string; pid: number }[] }>("state");
      expect(state.halts.filter((h) => h.name === "app.db")).toEqual([
        { name: "app.db", kind: "halt", pid: first.pid },
        { name: "app.db", kind: "unhalt", pid: 0 },
        { name: "app.db", kind: "halt", pid: second.pid },
        { name: "app.db", kind: "unhalt", pid: 0 },
      ]);
    } finally {
      await first.stop();
      await second.stop();
    }
  });
});
