// Write mode end to end, from better-sqlite3 hosts: commits reach the replica and
// `litestream restore` gives them back (checksum verified); a kill -9 of the host or of
// the page server between COMMIT and the upload loses nothing; two writers: one is refused.
import { mkdirSync, readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { built, fileRows, Host, killServers, litestreamRestore, needsBuild, replicate, serverPids, sleep, vfsEnv, vfsSuite, writer, type VfsSuite } from "./testing/harness.js";

describe.skipIf(!built)(`write mode${needsBuild}`, () => {
  let suite: VfsSuite;
  let url: string;
  let restores = 0;

  beforeAll(async () => {
    suite = vfsSuite("write");
    mkdirSync(suite.tmp.join("src"));
    const db = suite.tmp.join("src", "app.db");
    await (await writer(db, 5000, 300)).exited;
    url = `file://${suite.tmp.join("replica")}`;
    // The replica is written by `litestream replicate` once; from then on the VFS is its only writer.
    const rep = await replicate(db, url);
    await sleep(500);
    rep.signal("SIGTERM");
    await rep.exited;
  }, 60_000);
  afterAll(() => suite?.cleanup(), 30_000);

  /** The rows and summary of `litestream restore` (latest). */
  async function restored(): Promise<{ rows: string; stdout: string }> {
    const out = suite.tmp.join(`restore-${++restores}.db`);
    const r = await litestreamRestore(url, out);
    expect(r.code, r.stderr).toBe(0);
    return { rows: fileRows(out, "SELECT count(*), max(id), group_concat(v, ',') FROM (SELECT * FROM t WHERE v LIKE 'vfs%' ORDER BY id);"), stdout: r.stdout };
  }

  async function waitRestored(predicate: (rows: string) => boolean, what: string): Promise<string> {
    for (let i = 0; i < 100; i++) {
      const { rows } = await restored();
      if (predicate(rows)) return rows;
      await sleep(200);
    }
    throw new Error(`the replica never showed ${what}`);
  }

  it("commits become one level-0 file per sync interval that `litestream restore` verifies", async () => {
    const env = vfsEnv(suite, url, { LITESTREAM_WRITE_ENABLED: "true", LITESTREAM_SYNC_INTERVAL: "300ms", LITESTREAM_BUFFER_PATH: suite.tmp.join("buffer-a") });
    const host = await Host.start(env);
    expect((await host.ok({ op: "pragma", sql: "litestream_write_enabled" })).value).toBe("1");
    await host.ok({ op: "run", sql: "INSERT INTO t (v) VALUES ('vfs-1')" });
    await host.ok({ op: "exec", sql: "BEGIN; INSERT INTO t (v) VALUES ('vfs-2'); INSERT INTO t (v) VALUES ('vfs-3'); COMMIT;" });
    await host.ok({ op: "exec", sql: "CREATE TABLE extra (x); INSERT INTO extra VALUES (42);" });
    const seen = await host.rows("SELECT count(*), max(id), group_concat(v, ',') FROM (SELECT * FROM t WHERE v LIKE 'vfs%' ORDER BY id)");
    const rows = await waitRestored((r) => r.includes("vfs-3"), "vfs-3");
    expect(rows.trim()).toBe(seen[0]!.join("|"));
    const { stdout } = await restored();
    expect(stdout).toContain("database checksum verified");
    await host.exit();
  }, 60_000);

  it("kill -9 of the host right after COMMIT: the page server still uploads it", async () => {
    const env = vfsEnv(suite, url, { LITESTREAM_WRITE_ENABLED: "true", LITESTREAM_SYNC_INTERVAL: "2s", LITESTREAM_BUFFER_PATH: suite.tmp.join("buffer-a") });
    const host = await Host.start(env);
    await host.ok({ op: "run", sql: "INSERT INTO t (v) VALUES ('vfs-host-killed')" });
    host.handle.kill();
    await host.handle.exited;
    await waitRestored((r) => r.includes("vfs-host-killed"), "the commit of the killed host");
  }, 60_000);

  it("kill -9 of the page server between COMMIT and the upload: the next open uploads the durable buffer", async () => {
    const env = vfsEnv(suite, url, { LITESTREAM_WRITE_ENABLED: "true", LITESTREAM_SYNC_INTERVAL: "1m", LITESTREAM_BUFFER_PATH: suite.tmp.join("buffer-b") });
    const host = await Host.start(env);
    await host.ok({ op: "run", sql: "INSERT INTO t (v) VALUES ('vfs-server-killed')" });
    await host.ok({ op: "run", sql: "INSERT INTO t (v) VALUES ('vfs-server-killed-2')" });
    expect(killServers(suite.runtime).length).toBeGreaterThan(0);
    expect((await restored()).rows).not.toContain("vfs-server-killed");
    await host.exit();
    // A new process: a new page server finds the commits in the buffer; it uploads them when it stops.
    const next = await Host.start({ ...env, SQLREP_VFS_IDLE_TIMEOUT: "500ms" });
    expect(JSON.stringify(await next.rows("SELECT v FROM t WHERE v LIKE 'vfs-server-killed%' ORDER BY id"))).toBe('[["vfs-server-killed"],["vfs-server-killed-2"]]');
    await next.exit();
    await waitRestored((r) => r.includes("vfs-server-killed-2"), "the commits of the killed server");
  }, 60_000);

  it("two writers: inside one page server the second waits (busy); across servers the one whose base moved is refused", async () => {
    const envA = vfsEnv(suite, url, { LITESTREAM_WRITE_ENABLED: "true", LITESTREAM_SYNC_INTERVAL: "200ms", LITESTREAM_BUFFER_PATH: suite.tmp.join("buffer-c") });
    const a1 = await Host.start(envA);
    const a2 = await Host.start(envA);
    await a1.ok({ op: "exec", sql: "BEGIN IMMEDIATE" });
    const busy = await a2.call({ op: "run", sql: "INSERT INTO t (v) VALUES ('vfs-never')" });
    expect(busy.ok).toBe(false);
    expect(busy.error!.code).toBe("SQLITE_BUSY");
    await a1.ok({ op: "exec", sql: "INSERT INTO t (v) VALUES ('vfs-a1'); COMMIT" });

    // Another configuration: its own page server and buffer, a slow sync: its commit waits locally.
    const envB = vfsEnv(suite, url, { LITESTREAM_WRITE_ENABLED: "true", LITESTREAM_SYNC_INTERVAL: "1m", LITESTREAM_BUFFER_PATH: suite.tmp.join("buffer-d") });
    await waitRestored((r) => r.includes("vfs-a1"), "vfs-a1");
    const b = await Host.start(envB);
    await b.ok({ op: "run", sql: "INSERT INTO t (v) VALUES ('vfs-b')" });
    await a2.ok({ op: "run", sql: "INSERT INTO t (v) VALUES ('vfs-a2')" });
    await waitRestored((r) => r.includes("vfs-a2"), "vfs-a2");
    expect(serverPids(suite.runtime).length).toBe(2);
    // B's next poll sees A's file under its local commit: conflict, B's commit set aside.
    let refused: Awaited<ReturnType<typeof b.call>> | undefined;
    for (let i = 0; i < 50; i++) {
      refused = await b.call({ op: "run", sql: "INSERT INTO t (v) VALUES ('vfs-b2')" });
      if (!refused.ok) break;
      await sleep(200);
    }
    expect(refused!.ok).toBe(false);
    expect(refused!.error!.code).toBe("SQLITE_READONLY_DBMOVED");
    expect(b.messages().join("\n")).toContain("another writer");
    const final = await restored();
    expect(final.rows).toContain("vfs-a2");
    expect(final.rows).not.toContain("vfs-b");
    expect(readdirSync(suite.tmp.path).some((f) => f.startsWith("buffer-d.conflict-"))).toBe(true);
    for (const h of [a1, a2, b]) await h.exit();
  }, 90_000);
});
