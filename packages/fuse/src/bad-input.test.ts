// What users do wrong on a mount, and what they get: EXCLUSIVE locking mode, a
// database copied in with cp, names the mount reserves, subdirectories, a full disk.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fuseUnavailableReason, tempDir } from "@sqlrep/testkit";
import { hasSqlite3Shell, sqlite3, sqliteChild, startTestDaemon, type TestDaemon } from "./testing/harness.js";
import { testDatabasePaths } from "./testing/ltx-log-backend.js";
import { replayLog } from "./testing/verify.js";

const skip = fuseUnavailableReason();

describe.skipIf(skip)(`bad input on a primary mount${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let daemon: TestDaemon;
  const work = tempDir("sqlrep-fuse-bad-");
  const real = (name: string) => new Uint8Array(readFileSync(testDatabasePaths(daemon.dataDir, name).database));

  beforeAll(async () => {
    daemon = await startTestDaemon({ role: "primary" });
  }, 30_000);

  afterAll(async () => {
    await daemon?.stop();
    work.remove();
  }, 30_000);

  it.skipIf(!hasSqlite3Shell)("WAL with locking_mode=EXCLUSIVE is refused, with the reason in the daemon's log", async () => {
    const db = join(daemon.mountpoint, "exclusive.db");
    expect(sqlite3(db, "PRAGMA journal_mode=wal; CREATE TABLE t(x); INSERT INTO t VALUES (1);").stderr).toBe("");
    const run = sqlite3(db, "PRAGMA locking_mode=EXCLUSIVE; INSERT INTO t VALUES (2);");
    expect(run.stderr).toMatch(/disk I\/O error/);
    await daemon.waitForWarning(["exclusive.db", "locking_mode=EXCLUSIVE is not supported"]);
    // nothing half-captured: the log still describes the database SQLite has
    expect(sqlite3(db, "SELECT count(*) FROM t; PRAGMA integrity_check;").stdout).toBe("1\nok\n");
    const replay = await replayLog(daemon.ltxDir, "exclusive.db");
    expect(replay.files).toBe(3);
  });

  it.skipIf(!hasSqlite3Shell)("a rollback journal with locking_mode=EXCLUSIVE works: its commits are captured", async () => {
    const db = join(daemon.mountpoint, "exclusive-rollback.db");
    const run = sqlite3(db, "PRAGMA locking_mode=EXCLUSIVE; CREATE TABLE t(x); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); SELECT count(*) FROM t;");
    expect(run.stdout.trim()).toBe("exclusive\n2");
    const replay = await replayLog(daemon.ltxDir, "exclusive-rollback.db");
    expect(replay.files).toBe(3);
    expect(Buffer.compare(replay.bytes, real("exclusive-rollback.db"))).toBe(0);
  });

  it("a database copied in with cp becomes one transaction carrying every page", async () => {
    const source = work.join("source.db");
    const db = new Database(source);
    db.pragma("journal_mode=delete");
    db.exec("CREATE TABLE t(x); INSERT INTO t SELECT randomblob(700) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) SELECT i FROM n)");
    db.close();
    execFileSync("cp", [source, join(daemon.mountpoint, "copied.db")]);
    const replay = await replayLog(daemon.ltxDir, "copied.db");
    expect(replay.files).toBe(1);
    expect(Buffer.compare(replay.bytes, new Uint8Array(readFileSync(source)))).toBe(0);
    // and again over it, while nothing has it open: a second transaction
    const other = new Database(source);
    other.exec("DELETE FROM t WHERE rowid % 2 = 0");
    other.close();
    execFileSync("cp", [source, join(daemon.mountpoint, "copied.db")]);
    const again = await replayLog(daemon.ltxDir, "copied.db");
    expect(again.files).toBe(2);
    expect(Buffer.compare(again.bytes, new Uint8Array(readFileSync(source)))).toBe(0);
    expect(sqliteChildCount(join(daemon.mountpoint, "copied.db"))).toBe(150);
  });

  it("a file that is not a SQLite database cannot be copied in", async () => {
    const junk = work.join("junk.txt");
    writeFileSync(junk, "hello, this is not a database\n".repeat(500));
    const cp = spawnSync("cp", [junk, join(daemon.mountpoint, "junk.db")], { encoding: "utf8" });
    expect(cp.status).not.toBe(0);
    expect(cp.stderr).toMatch(/Invalid argument/);
    await daemon.waitForWarning(["junk.db", "not a SQLite database"]);
  });

  it("subdirectories: mkdir, databases inside, rmdir only when empty", async () => {
    const dir = join(daemon.mountpoint, "tenants", "eu");
    mkdirSync(dir, { recursive: true });
    const [result] = await sqliteChild(["write", join(dir, "a.db"), "wal", "normal", "3"]);
    expect(result).toMatchObject({ count: 3 });
    const replay = await replayLog(daemon.ltxDir, "tenants/eu/a.db");
    expect(replay.files).toBe(5);
    expect(readdirSync(dir).sort()).toEqual(["a.db", "a.db-pos"]);
    expect(() => rmdirSync(join(daemon.mountpoint, "tenants"))).toThrow(/ENOTEMPTY/);
    mkdirSync(join(daemon.mountpoint, "empty"));
    rmdirSync(join(daemon.mountpoint, "empty"));
    expect(existsSync(join(daemon.mountpoint, "empty"))).toBe(false);
  });

  it("the virtual files: -pos listed and read-only, -lock found but not listed, writes to it fail", () => {
    const names = readdirSync(daemon.mountpoint);
    expect(names).toContain("exclusive.db-pos");
    expect(names).toContain(".lag");
    expect(names).not.toContain(".primary");
    expect(names.some((n) => n.endsWith("-lock"))).toBe(false);
    expect(statSync(join(daemon.mountpoint, "exclusive.db-lock")).size).toBe(0);
    expect(statSync(join(daemon.mountpoint, "exclusive.db-pos")).size).toBe(34);
    expect(() => writeFileSync(join(daemon.mountpoint, "exclusive.db-lock"), "x")).toThrow(/EIO/);
    expect(() => writeFileSync(join(daemon.mountpoint, "exclusive.db-pos"), "x")).toThrow(/EACCES/);
    expect(() => unlinkSync(join(daemon.mountpoint, "exclusive.db-pos"))).toThrow(/EPERM/);
    expect(() => writeFileSync(join(daemon.mountpoint, ".primary"), "me")).toThrow(/EPERM/);
  });

  it("deleting a database drops it from the backend", async () => {
    await sqliteChild(["write", join(daemon.mountpoint, "doomed.db"), "delete", "normal", "1"]);
    unlinkSync(join(daemon.mountpoint, "doomed.db"));
    expect(existsSync(join(daemon.mountpoint, "doomed.db"))).toBe(false);
    expect(existsSync(testDatabasePaths(daemon.dataDir, "doomed.db").database)).toBe(false);
    const state = await daemon.send<{ databases: { name: string }[] }>("state");
    expect(state.databases.map((d) => d.name)).not.toContain("doomed.db");
  });
});

function sqliteChildCount(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare("SELECT count(*) AS c FROM t").get() as { c: number }).c;
  } finally {
    db.close();
  }
}

const tmpfsSkip = skip ?? (spawnSync("mount", ["--version"]).status === 0 ? undefined : "mount(8) is missing");

describe.skipIf(tmpfsSkip)(`a full data directory${tmpfsSkip ? ` (skipped: ${tmpfsSkip})` : ""}`, () => {
  let daemon: TestDaemon | undefined;
  const disk = tempDir("sqlrep-fuse-full-");
  const ballast = join(disk.path, "ballast");

  beforeAll(async () => {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", disk.path]);
    daemon = await startTestDaemon({ role: "primary", dataDir: join(disk.path, "data"), ltxDir: join(disk.path, "ltx") });
  }, 30_000);

  afterAll(async () => {
    await daemon?.stop();
    spawnSync("umount", [disk.path]);
    disk.remove();
  }, 30_000);

  it.each(["delete", "wal"])("journal_mode=%s: a full disk fails writes, never the log's agreement with the database", async (mode) => {
    const name = `full-${mode}.db`;
    const path = join(daemon!.mountpoint, name);
    // room to fill, and room to give back: the WAL checkpoint at close needs space to grow the database
    writeFileSync(ballast, new Uint8Array(2 * 1024 * 1024));
    try {
      await fillThenCheck(name, path, mode);
    } finally {
      rmSync(ballast, { force: true });
      rmSync(path, { force: true });
    }
  });

  async function fillThenCheck(name: string, path: string, mode: string): Promise<void> {
    const db = new Database(path, { timeout: 5_000 });
    db.pragma(`journal_mode=${mode}`);
    db.exec("CREATE TABLE t(x)");
    let failure: { code?: string } | undefined;
    for (let i = 0; i < 200 && !failure; i++) {
      try {
        db.prepare("INSERT INTO t VALUES (randomblob(50000))").run();
      } catch (error) {
        failure = error as { code?: string };
      }
    }
    db.close();
    expect(failure?.code).toMatch(/^SQLITE_(FULL|IOERR)/);
    // with room again the database opens intact (a hot journal rolls back) and its
    // log replays to exactly what SQLite has
    unlinkSync(ballast);
    const check = new Database(path, { timeout: 5_000 });
    expect(check.pragma("integrity_check", { simple: true })).toBe("ok");
    const rows = (check.prepare("SELECT count(*) AS c FROM t").get() as { c: number }).c;
    expect(rows).toBeGreaterThan(5);
    check.close();
    const replay = await replayLog(join(disk.path, "ltx"), name);
    const real = new Uint8Array(readFileSync(testDatabasePaths(join(disk.path, "data"), name).database));
    expect(Buffer.compare(replay.bytes, real)).toBe(0);
  }
});
