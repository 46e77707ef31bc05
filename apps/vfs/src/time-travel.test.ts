// Time travel against an S3 replica (the testkit's s3rver) written by `litestream replicate`:
// `PRAGMA litestream_time = T` must land exactly where `litestream restore -timestamp T`
// lands — the same TXID, the same rows — before the first backup (the same error), in
// between, and after the last (the latest).
import { mkdirSync } from "node:fs";
import { startS3Server, type S3Server } from "@sqlrep/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { built, commits, fileRows, Host, litestreamRestore, needsBuild, replicate, s3Env, sleep, sqliteShell, vfsEnv, vfsSuite, writer, type VfsSuite } from "./testing/harness.js";

describe.skipIf(!built)(`time travel${needsBuild}`, () => {
  let suite: VfsSuite;
  let s3: S3Server;
  let url: string;
  let env: Record<string, string>;
  let times: number[] = [];

  beforeAll(async () => {
    suite = vfsSuite("time");
    s3 = await startS3Server();
    mkdirSync(suite.tmp.join("src"));
    const db = suite.tmp.join("src", "app.db");
    await (await writer(db, 1000, 50)).exited;
    url = s3.url("time/app.db");
    const rep = await replicate(db, url, s3Env(s3));
    const w = await writer(db, 30);
    await sleep(3000);
    w.signal("SIGTERM");
    await w.exited;
    times = commits(w).map((c) => c.at);
    await sleep(800);
    rep.signal("SIGTERM");
    await rep.exited;
    env = vfsEnv(suite, url, {}, s3);
  }, 90_000);
  afterAll(async () => {
    await suite?.cleanup();
    await s3?.stop();
  }, 30_000);

  /** Rows and TXID through the VFS at `at`, or its error. */
  async function throughVfs(at: string): Promise<{ rows: string; error: string }> {
    const r = await sqliteShell(env, `PRAGMA litestream_time = '${at}';\nSELECT count(*), max(id), sum(length(v)) FROM t;\nPRAGMA litestream_txid;`);
    return { rows: r.stdout, error: r.stderr };
  }

  /** Rows and TXID of `litestream restore -timestamp`, or its error. */
  async function throughRestore(at: string): Promise<{ rows: string; error: string }> {
    const out = suite.tmp.join(`restore-${Math.random().toString(36).slice(2)}.db`);
    const r = await litestreamRestore(url, out, ["-timestamp", at], s3Env(s3));
    if (r.code !== 0) return { rows: "", error: r.stderr };
    const txid = /TXID ([0-9a-f]{16})/.exec(r.stdout)![1];
    return { rows: `${fileRows(out, "SELECT count(*), max(id), sum(length(v)) FROM t;")}${txid}\n`, error: "" };
  }

  it("lands where `litestream restore -timestamp` lands, at every kind of time", async () => {
    expect(times.length).toBeGreaterThan(40);
    const first = times[0]!;
    const last = times[times.length - 1]!;
    const mid = times[Math.floor(times.length / 2)]!;
    const picks = [first + 150, mid, mid + 1, last - 300, last + 5000];
    const seen = new Set<string>();
    for (const t of picks) {
      const at = new Date(t).toISOString();
      const [vfs, restored] = await Promise.all([throughVfs(at), throughRestore(at)]);
      console.log(`[time travel] ${at}: vfs ${vfs.rows.trim().replace("\n", " txid ")} | restore ${restored.rows.trim().replace("\n", " txid ")}${restored.error}`);
      expect(restored.error).toBe("");
      expect(vfs.error).toBe("");
      expect(vfs.rows).toBe(restored.rows);
      seen.add(vfs.rows);
    }
    expect(seen.size).toBeGreaterThanOrEqual(3); // the picks land on different restore points
    // After the last backup: the latest state.
    const latest = await sqliteShell(env, "SELECT count(*), max(id), sum(length(v)) FROM t;\nPRAGMA litestream_txid;");
    expect((await throughVfs(new Date(last + 5000).toISOString())).rows).toBe(latest.stdout);
  }, 60_000);

  it("before the first backup: the same clear error as restore, and the connection keeps working", async () => {
    const at = new Date(times[0]! - 60_000).toISOString();
    const [vfs, restored] = await Promise.all([throughVfs(at), throughRestore(at)]);
    expect(restored.error).toContain("earliest restorable time");
    expect(vfs.error).toContain("earliest restorable time");
    console.log(`[time travel] before the first backup: restore says ${restored.error.trim()} / the VFS says ${vfs.error.trim()}`);
    const reason = /the earliest restorable time is \S+/.exec(restored.error)![0];
    expect(vfs.error).toContain(reason);
    const r = await sqliteShell(env, "PRAGMA litestream_time = '10 minutes ago';\n", { bail: false });
    expect(r.stderr).toContain("earliest restorable time");
    const ok = await sqliteShell(env, "PRAGMA litestream_time = '10 minutes ago';\nPRAGMA litestream_time = 'latest';\nSELECT count(*) > 0 FROM t;", { bail: false });
    expect(ok.stdout.trim()).toBe("1");
  }, 30_000);

  it("better-sqlite3: litestream_set_time() and litestream_time() per connection, RFC 3339 with fractions", async () => {
    const host = await Host.start(env);
    await host.ok({ op: "open", db: "other" });
    const mid = new Date(times[Math.floor(times.length / 2)]! + 123).toISOString().replace("Z", "456789Z");
    await host.rows(`SELECT litestream_set_time('${mid}')`);
    const [[time]] = (await host.rows("SELECT litestream_time()")) as [[string]];
    expect(time).toBe(mid.replace(/\d{6}Z$/, "Z").replace(/\.?0+Z$/, "Z"));
    const [[count]] = (await host.rows("SELECT count(*) FROM t")) as [[number]];
    const [[other]] = (await host.rows("SELECT count(*) FROM t", "other")) as [[number]];
    expect(count).toBeLessThan(other); // the other connection still reads the latest
    const restored = await throughRestore(mid);
    expect(restored.rows.split("|")[0]).toBe(String(count));
    await host.rows("SELECT litestream_set_time('LATEST')");
    expect(await host.rows("SELECT count(*) FROM t")).toEqual([[other]]);
    await host.exit();
  }, 30_000);
});
