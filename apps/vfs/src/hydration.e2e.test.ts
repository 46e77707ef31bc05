// Hydration end to end: the hydrated file equals `litestream restore` of the same replica,
// and after a kill -9 of the page server it resumes from its .meta instead of restoring again.
import { mkdirSync, readFileSync } from "node:fs";
import type { ProcessHandle } from "@sqlrep/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { built, Host, killServers, litestreamRestore, needsBuild, replicate, serverLog, sleep, vfsEnv, vfsSuite, writer, type VfsSuite } from "./testing/harness.js";

describe.skipIf(!built)(`hydration${needsBuild}`, () => {
  let suite: VfsSuite;
  let db: string;
  let url: string;

  beforeAll(async () => {
    suite = vfsSuite("hydrate");
    mkdirSync(suite.tmp.join("src"));
    db = suite.tmp.join("src", "app.db");
    await (await writer(db, 5000, 1500)).exited;
    url = `file://${suite.tmp.join("replica")}`;
  }, 60_000);
  afterAll(() => suite?.cleanup(), 30_000);

  /** Replicates while the writer adds rows for `ms`, then stops both (everything uploaded). */
  async function writeFor(ms: number): Promise<void> {
    const rep: ProcessHandle = await replicate(db, url);
    const w = await writer(db, 50);
    await sleep(ms);
    w.signal("SIGTERM");
    await w.exited;
    rep.signal("SIGTERM");
    await rep.exited;
  }

  async function until(host: Host, txid: string): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const progress = (await host.ok({ op: "pragma", sql: "litestream_hydration_progress" })).value;
      const now = (await host.ok({ op: "pragma", sql: "litestream_txid" })).value;
      if (progress === "100.0" && now === txid) return;
      await sleep(100);
    }
    throw new Error(`hydration did not reach TXID ${txid}:\n${serverLog(suite.runtime)}`);
  }

  async function restoredTxid(out: string): Promise<string> {
    const r = await litestreamRestore(url, out);
    expect(r.code, r.stderr).toBe(0);
    return /TXID ([0-9a-f]{16})/.exec(r.stdout)![1]!;
  }

  it("the hydrated file equals `litestream restore`; after kill -9 it resumes from its .meta", async () => {
    await writeFor(1000);
    const path = suite.tmp.join("hydrated.db");
    const env = vfsEnv(suite, url, { LITESTREAM_HYDRATION_ENABLED: "true", LITESTREAM_HYDRATION_PATH: path });
    const host = await Host.start(env);
    const first = suite.tmp.join("restore-1.db");
    const txid1 = await restoredTxid(first);
    await until(host, txid1);
    expect((await host.ok({ op: "pragma", sql: "litestream_hydration_file" })).value).toBe(path);
    expect(readFileSync(path).equals(readFileSync(first))).toBe(true);
    expect(readFileSync(`${path}.meta`, "utf8").split("\n")[0]).toBe(String(Number.parseInt(txid1, 16)));

    // A crash of the page server, then more transactions while nothing hydrates.
    expect(killServers(suite.runtime)).toHaveLength(1);
    await writeFor(800);
    const before = serverLog(suite.runtime).length;
    const again = await Host.start(env);
    const second = suite.tmp.join("restore-2.db");
    const txid2 = await restoredTxid(second);
    expect(txid2 > txid1).toBe(true);
    await until(again, txid2);
    const log = serverLog(suite.runtime).slice(before);
    expect(log).toMatch(/msg="resuming hydration"/);
    expect(log).not.toMatch(/msg=hydrated/);
    expect(readFileSync(path).equals(readFileSync(second))).toBe(true);
    // Reads come from the file and match it.
    const rows = await again.rows("SELECT count(*), max(id), sum(length(v)) FROM t");
    expect(rows[0]![0]).toBe(rows[0]![1]);
    await again.exit();
    await host.exit();
  }, 120_000);
});
