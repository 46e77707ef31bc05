// Write mode with LITESTREAM_LEASE_URL on a real etcd: two page servers (two buffers) write
// the same replica; the second is refused with SQLITE_BUSY before it writes, its server log
// naming the holder, and it writes once the first server has stopped and released the lease.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { etcdAvailable, etcdUnavailableReason, startEtcd, type EtcdServer } from "@sqlrep/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { built, fileRows, Host, litestreamRestore, replicate, serverPids, sleep, vfsEnv, vfsSuite, writer, type VfsSuite } from "./testing/harness.js";

const skip = !etcdAvailable() ? etcdUnavailableReason() : !built ? "needs a build (pnpm build): the hosts load dist/" : undefined;

describe.skipIf(skip !== undefined)(`write mode with a lease on etcd${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let suite: VfsSuite;
  let etcd: EtcdServer;
  let url: string;
  let restores = 0;

  beforeAll(async () => {
    suite = vfsSuite("lease");
    etcd = await startEtcd();
    const db = suite.tmp.join("app.db");
    await (await writer(db, 200, 200)).exited;
    url = `file://${suite.tmp.join("replica")}`;
    const rep = await replicate(db, url);
    await sleep(500);
    rep.signal("SIGTERM");
    await rep.exited;
  }, 60_000);
  afterAll(async () => {
    await etcd?.stop();
    suite?.cleanup();
  }, 30_000);

  async function restoredRows(): Promise<string> {
    const out = suite.tmp.join(`restore-${++restores}.db`);
    const r = await litestreamRestore(url, out);
    expect(r.code, r.stderr).toBe(0);
    return fileRows(out, "SELECT group_concat(v, ',') FROM (SELECT v FROM t WHERE v LIKE 'vfs%' ORDER BY id);");
  }

  async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
    for (const end = Date.now() + timeoutMs; Date.now() < end; await sleep(200)) {
      const v = await probe();
      if (v !== undefined) return v;
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  it("the second writer is refused before it writes while the first holds the lease, and writes once the first has stopped", async () => {
    const lease = `etcd://${etcd.clientUrl.replace(/^http:\/\//, "")}/sqlrep-test/vfs-writer?ttl=2s`;
    const env = (buffer: string) =>
      vfsEnv(suite, url, {
        LITESTREAM_WRITE_ENABLED: "true",
        LITESTREAM_SYNC_INTERVAL: "200ms",
        LITESTREAM_BUFFER_PATH: suite.tmp.join(buffer),
        LITESTREAM_LEASE_URL: lease,
        SQLREP_VFS_IDLE_TIMEOUT: "500ms",
      });
    const a = await Host.start(env("buffer-a"));
    await a.ok({ op: "run", sql: "INSERT INTO t (v) VALUES ('vfs-a')" });
    const b = await Host.start(env("buffer-b"));
    expect(serverPids(suite.runtime).length, "two page servers (two buffers)").toBe(2);

    const refused = await b.call({ op: "run", sql: "INSERT INTO t (v) VALUES ('vfs-b-refused')" });
    expect(refused.ok).toBe(false);
    expect(refused.error!.code).toBe("SQLITE_BUSY");
    const logs = () =>
      readdirSync(suite.runtime)
        .filter((f) => f.endsWith(".log"))
        .map((f) => readFileSync(join(suite.runtime, f), "utf8"))
        .join("\n");
    expect(logs()).toMatch(/the write lease etcd:\/\/\S+ is held by \S+:\d+ \(http:\/\/\S+litestream-vfs\?pid=\d+&socket=\S+\.sock\)/);
    await waitFor(async () => ((await restoredRows()).includes("vfs-a") ? true : undefined), "A's commit in the replica");

    // A's host goes; its page server stops when idle, uploads, and gives the lease back.
    await a.exit();
    await waitFor(() => (serverPids(suite.runtime).length === 1 ? true : undefined), "A's page server to stop");
    await waitFor(async () => ((await b.call({ op: "run", sql: "INSERT INTO t (v) VALUES ('vfs-b')" })).ok ? true : undefined), "B to take the lease and write");
    const rows = await waitFor(async () => {
      const r = await restoredRows();
      return r.includes("vfs-b") ? r : undefined;
    }, "B's commit in the replica");
    expect(rows.trim(), "A's row, then B's, and never the refused one").toBe("vfs-a,vfs-b");
    await b.exit();
  }, 90_000);
});
