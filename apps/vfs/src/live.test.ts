// Reading a replica that `litestream replicate` is writing right now, from the stock sqlite3
// shell, better-sqlite3 and Debian's python3, each in its own process.
import { join } from "node:path";
import type { ProcessHandle } from "@sqlrep/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { built, commits, Host, needsBuild, python, pythonUnusable, replicate, serverPids, sleep, sqliteShell, vfsEnv, vfsSuite, writer, type VfsSuite } from "./testing/harness.js";

const noPython = pythonUnusable();

describe.skipIf(!built)(`live replica${needsBuild}`, () => {
  let suite: VfsSuite;
  let write: ProcessHandle;
  let env: Record<string, string>;

  beforeAll(async () => {
    suite = vfsSuite("live");
    const db = suite.tmp.join("src", "app.db");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(join(suite.tmp.path, "src"));
    await (await writer(db, 1000, 200)).exited;
    const url = `file://${suite.tmp.join("replica")}`;
    await replicate(db, url);
    write = await writer(db, 25);
    env = vfsEnv(suite, url);
  }, 60_000);
  afterAll(() => suite?.cleanup(), 30_000);

  it("sqlite3: loads, reads every committed row, answers the pragmas and SQL functions", async () => {
    const r = await sqliteShell(
      env,
      [
        "SELECT count(*) >= 200, count(*) = max(id) FROM t;",
        "PRAGMA litestream_txid;",
        "SELECT litestream_txid() = (SELECT litestream_txid());",
        "PRAGMA litestream_lag;",
        "SELECT litestream_lag() BETWEEN 0 AND 5;",
        "PRAGMA litestream_time;",
        "PRAGMA litestream_write_enabled;",
        "PRAGMA litestream_hydration_progress;",
        "PRAGMA journal_mode;",
      ].join("\n"),
    );
    expect(r.stderr).toBe("");
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe("1|1");
    expect(lines[1]).toMatch(/^[0-9a-f]{16}$/);
    expect(lines[2]).toBe("1");
    expect(Number(lines[3])).toBeGreaterThanOrEqual(0);
    expect(lines[4]).toBe("1");
    expect(lines[5]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(lines[6]).toBe("0");
    expect(lines[7]).toBe("0.0");
    expect(lines[8]).toBe("delete");
  });

  it.skipIf(noPython !== undefined)(`python3: the same rows${noPython ? ` (skipped: ${noPython})` : ""}`, async () => {
    const r = await python(env, "print(db.execute('SELECT count(*) >= 200, count(*) = max(id) FROM t').fetchone(), db.execute('PRAGMA litestream_txid').fetchone()[0])");
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^\(1, 1\) [0-9a-f]{16}\n$/);
  });

  it("better-sqlite3: new transactions appear within the poll interval; a long read transaction sees one snapshot", async () => {
    const host = await Host.start(env);
    // A commit of the writer, then how long until a new transaction of the host sees it.
    const lags: number[] = [];
    for (let i = 0; i < 5; i++) {
      await sleep(300);
      const target = commits(write).at(-1)!;
      for (;;) {
        const [[max]] = (await host.rows("SELECT max(id) FROM t")) as [[number]];
        if (max >= target.id) break;
        await sleep(20);
      }
      lags.push(Date.now() - target.at);
    }
    console.log(`[live] commit → visible through the VFS (ms): ${lags.join(", ")} (replicate sync 100 ms, VFS poll 1 s)`);
    expect(Math.max(...lags)).toBeLessThan(3000); // poll interval 1 s + the writer's 100 ms sync + slack for a busy machine

    await host.ok({ op: "exec", sql: "BEGIN" });
    const [[count, sum]] = (await host.rows("SELECT count(*), sum(length(v)) FROM t")) as [[number, number]];
    const before = commits(write).at(-1)!.id;
    // Long enough for the writer's rows to reach the replica and several polls to run.
    while (commits(write).at(-1)!.id < before + 40) await sleep(100);
    await sleep(2500);
    const again = await host.rows("SELECT count(*), sum(length(v)) FROM t");
    expect(again).toEqual([[count, sum]]);
    await host.ok({ op: "exec", sql: "COMMIT" });
    const [[after]] = (await host.rows("SELECT count(*) FROM t")) as [[number]];
    expect(after).toBeGreaterThanOrEqual(before + 40);
    await host.exit();
  }, 60_000);

  it("one page server serves every process of the same user and configuration", async () => {
    const a = await Host.start(env);
    const b = await Host.start(env);
    await a.rows("SELECT count(*) FROM t");
    await b.rows("SELECT count(*) FROM t");
    const shell = await sqliteShell(env, "SELECT count(*) > 0 FROM t;");
    expect(shell.stdout.trim()).toBe("1");
    expect(serverPids(suite.runtime)).toHaveLength(1);
    await a.exit();
    await b.exit();
  }, 60_000);
});
