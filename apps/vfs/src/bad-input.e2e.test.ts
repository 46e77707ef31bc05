// Bad input: no URL, an unreachable endpoint, an empty replica, a corrupted or a missing
// LTX file. Each is a SQLite error (and a message naming the URL or file on the host's
// stderr, as Litestream's VFS logs there); the host process survives; no wrong rows.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deadPort } from "@sqlrep/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { built, Host, needsBuild, replicate, run, sleep, sqliteShell, EXTENSION, vfsEnv, vfsSuite, writer, type VfsSuite } from "./testing/harness.js";

describe.skipIf(!built)(`bad input${needsBuild}`, () => {
  let suite: VfsSuite;
  let replicaDir: string;

  beforeAll(async () => {
    suite = vfsSuite("bad");
    mkdirSync(suite.tmp.join("src"));
    const db = suite.tmp.join("src", "app.db");
    // Big enough that the snapshot is read by ranges (over 256 KiB), then small transactions.
    await (await writer(db, 5000, 200)).exited;
    await run("sqlite3", [db, "INSERT INTO t (v) SELECT hex(randomblob(400)) FROM generate_series(1, 1500);"], {});
    replicaDir = suite.tmp.join("replica");
    const rep = await replicate(db, `file://${replicaDir}`);
    const w = await writer(db, 40);
    await sleep(1500);
    w.signal("SIGTERM");
    await w.exited;
    rep.signal("SIGTERM");
    await rep.exited;
  }, 60_000);
  afterAll(() => suite?.cleanup(), 30_000);

  /** A copy of the good replica to damage. */
  function copyReplica(name: string): string {
    const dir = suite.tmp.join(name);
    for (const level of readdirSync(join(replicaDir, "ltx"))) {
      mkdirSync(join(dir, "ltx", level), { recursive: true });
      for (const f of readdirSync(join(replicaDir, "ltx", level))) writeFileSync(join(dir, "ltx", level, f), readFileSync(join(replicaDir, "ltx", level, f)));
    }
    return dir;
  }

  it("no LITESTREAM_REPLICA_URL: the load fails and says why", async () => {
    const r = await run("sqlite3", ["-bail"], { SQLREP_VFS_RUNTIME_DIR: suite.runtime, LITESTREAM_REPLICA_URL: "" }, `.load ${EXTENSION.replace(/\.so$/, "")}\nSELECT 1;\n`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("LITESTREAM_REPLICA_URL is not set");
    const host = await Host.start({ SQLREP_VFS_RUNTIME_DIR: suite.runtime, LITESTREAM_REPLICA_URL: "" }, { load: false });
    const load = await host.call({ op: "load" });
    expect(load.ok).toBe(false);
    expect(load.error!.message).toContain("LITESTREAM_REPLICA_URL is not set");
    await host.exit();
  });

  it("an unreachable endpoint: SQLITE_CANTOPEN, the endpoint named, the host lives on", async () => {
    const port = await deadPort();
    const url = `s3://bucket/db?endpoint=http://127.0.0.1:${port}&region=us-east-1&force-path-style=true`;
    const host = await Host.start(vfsEnv(suite, url, { LITESTREAM_ACCESS_KEY_ID: "x", LITESTREAM_SECRET_ACCESS_KEY: "y" }), { open: false });
    const open = await host.call({ op: "open" }, 60_000);
    expect(open.ok).toBe(false);
    expect(open.error!.code).toBe("SQLITE_CANTOPEN");
    expect(host.messages().join("\n")).toMatch(new RegExp(`s3://bucket/db.*(ECONNREFUSED|127\\.0\\.0\\.1:${port})`));
    expect((await host.call({ op: "load" })).ok).toBe(true); // still answering
    await host.exit();
  }, 90_000);

  it("an empty replica: an error saying there is nothing to read", async () => {
    const empty = suite.tmp.join("empty");
    mkdirSync(empty);
    // (The shell goes on with an in-memory database after a failed .open.)
    const r = await sqliteShell(vfsEnv(suite, `file://${empty}`), "SELECT 1;");
    expect(r.stderr).toContain(`replica ${empty} holds no LTX files`);
    expect(r.stderr).toContain("unable to open database");
  });

  it("a corrupted level-0 file: the open fails naming it; its bytes are never served", async () => {
    const dir = copyReplica("corrupt-l0");
    const level0 = readdirSync(join(dir, "ltx", "0")).sort();
    const victim = level0[Math.floor(level0.length / 2)]!;
    const bytes = readFileSync(join(dir, "ltx", "0", victim));
    bytes[Math.floor(bytes.length / 2)]! ^= 0x20;
    writeFileSync(join(dir, "ltx", "0", victim), bytes);
    const host = await Host.start(vfsEnv(suite, `file://${dir}`), { open: false });
    const open = await host.call({ op: "open" });
    expect(open.ok).toBe(false);
    expect(host.messages().join("\n")).toContain(victim);
    await host.exit();
  }, 30_000);

  it("a corrupted snapshot (read by ranges): the query fails naming the file, never other rows", async () => {
    const dir = copyReplica("corrupt-snapshot");
    const [snapshot] = readdirSync(join(dir, "ltx", "9"));
    const path = join(dir, "ltx", "9", snapshot!);
    const bytes = readFileSync(path);
    expect(bytes.length).toBeGreaterThan(256 * 1024);
    // The size field of the frame of some page in the middle of the file.
    const r0 = await sqliteShell(vfsEnv(suite, `file://${replicaDir}`), "SELECT count(*), sum(length(v)) FROM t;");
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 100;
    for (let i = 0; i < 200 && at < bytes.length / 2; i++) at += 10 + view.getUint32(at + 6);
    bytes[at + 6]! ^= 0x7f;
    writeFileSync(path, bytes);
    const r = await sqliteShell(vfsEnv(suite, `file://${dir}`), "SELECT count(*), sum(length(v)) FROM t;");
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(snapshot);
    expect(r.stderr).toMatch(/disk I\/O error|malformed/);
    expect(r0.stdout).not.toBe("");
  }, 30_000);

  it("a missing level-0 file: the gap is named by its TXIDs", async () => {
    const dir = copyReplica("missing-l0");
    const level0 = readdirSync(join(dir, "ltx", "0")).sort();
    const victim = level0[Math.floor(level0.length / 2)]!;
    rmSync(join(dir, "ltx", "0", victim));
    const r = await sqliteShell(vfsEnv(suite, `file://${dir}`), "SELECT count(*) FROM t;");
    expect(r.code).not.toBe(0);
    const txid = victim.slice(0, 16);
    expect(r.stderr).toContain(`TXIDs ${txid}…${txid} are missing`);
  }, 30_000);
});
