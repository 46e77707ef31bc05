// Issue 8's cases, end to end: a database replaced, deleted or overwritten under a running
// `replicate`; two writers on one replica; shutdown during an outage; the application's
// own TRUNCATE checkpoints. Every restore that succeeds must be a state the source really
// had (and pass integrity_check); what status, the log and /metrics say is checked too.
import { copyFileSync, existsSync, renameSync, rmSync } from "node:fs";
import Database from "better-sqlite3";
import { freePort, startFaultProxy, waitFor, type FaultProxy } from "@sqlrep/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  built,
  copyDatabase,
  e2eSuite,
  expectHistoryState,
  lastSyncedTxid,
  needsBuild,
  prefilledDatabase,
  replicaClient,
  restore,
  runCli,
  runRestore,
  s3Env,
  sleep,
  startReplicate,
  syncedLines,
  writeConfig,
  Writer,
} from "./harness.js";

const suite = e2eSuite("integrity", 100);
const { tmp, template } = suite;
let proxy: FaultProxy;
/** A second database with a longer history (another file with the same schema). */
let other: string;

beforeAll(async () => {
  if (!built) return;
  proxy = await startFaultProxy({ target: suite.s3.endpoint, seed: 8 });
  other = tmp.join("template", "other.db");
  await prefilledDatabase(other, 400);
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
});

interface LiveDatabase {
  path: string;
  state: string;
  lastError?: string | null;
  localTXID: number;
  replicas: { name: string; txid: number; lagMs: number; pendingTXIDs: number; lastError?: string | null }[];
}

async function live(port: number): Promise<LiveDatabase> {
  const body = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { databases: LiveDatabase[] };
  return body.databases[0]!;
}

async function metric(port: number, name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(" ").pop());
}

/** A config for one database and one replica URL, /metrics and /status on a free port. */
async function oneDatabase(dir: string, db: string, url: string, extra: Record<string, unknown> = {}): Promise<{ config: string; port: number }> {
  const port = await freePort();
  const config = writeConfig(tmp.join(dir, "litestream.yml"), {
    addr: `":${port}"`,
    ...extra,
    dbs: [{ path: db, "monitor-interval": "100ms", replicas: [{ url, "sync-interval": "100ms" }] }],
  });
  return { config, port };
}

describe.skipIf(!built)(`a database replaced or deleted under replicate${needsBuild}`, () => {
  it.each(["file", "s3"] as const)(
    "%s: replaced with another file (mv, WAL removed): a new lineage with a snapshot; restores are states of one file or the other, never a mix",
    async (kind) => {
      const dir = `replaced-${kind}`;
      const db = tmp.join(dir, "app.db");
      copyDatabase(template, db);
      const url = kind === "file" ? `file://${tmp.join(dir, "replica")}` : suite.s3.url(dir);
      const env = s3Env(suite.s3);
      const { config, port } = await oneDatabase(dir, db, url);
      const proc = await startReplicate(["-config", config], { env, ready: "started" });
      let writer = await Writer.start(db, { rate: 100, count: 45 });
      expect((await writer.handle.exited).code).toBe(0);
      // The replica's TXID once everything is uploaded (from /status: the log lines arrive through a pipe, later).
      const before = (
        await waitFor(
          async () => {
            const s = await live(port);
            return s.replicas[0]!.lagMs === 0 && s.replicas[0]!.txid > 1 ? s : undefined;
          },
          { message: "caught up before the replacement" },
        )
      ).replicas[0]!.txid;

      // What the issue did: another database moved over the path, the old WAL and -shm removed.
      const replacement = tmp.join(dir, "new.db");
      copyFileSync(other, replacement);
      renameSync(replacement, db);
      rmSync(`${db}-wal`, { force: true });
      rmSync(`${db}-shm`, { force: true });
      writer = await Writer.start(db, { rate: 100, count: 30 });
      const last = await writer.handle.exited.then(() => Number(/last=(\d+)/.exec(writer.handle.output().find((l) => l.startsWith("writer done"))!)![1]));

      await proc.waitForLine(/msg="database replaced"/, 15_000);
      const status = await waitFor(
        async () => {
          const s = await live(port);
          return s.replicas[0]!.lagMs === 0 && s.replicas[0]!.txid > before && s.lastError ? s : undefined;
        },
        { timeoutMs: 20_000, message: "the new lineage replicated, with the replacement in /status" },
      );
      expect(status.state).toBe("replicating");
      expect(status.lastError).toMatch(/replaced/);
      expect(await metric(port, "litestream_db_lineage_total")).toBeGreaterThanOrEqual(1);
      proc.signal("SIGTERM");
      expect((await proc.exited).code).toBe(0);

      // The latest restore is the new file with every commit made to it…
      const latest = await restore(tmp.join(dir), url, { env });
      expect(latest.checksumVerified).toBe(true);
      expect(expectHistoryState(latest.output, "latest restore")).toBe(last);
      expect(last).toBeGreaterThan(400);
      // …and the state before the replacement is still the old file, whole.
      const earlier = await restore(tmp.join(dir), url, { env, txid: before });
      expect(expectHistoryState(earlier.output, `restore -txid ${before}`)).toBe(145);
      // The snapshot starting the new lineage is above every TXID of the old one.
      const log = proc.output();
      const snapshots = syncedLines(log).filter((s) => s.kind === "snapshot");
      expect(snapshots.at(-1)!.txid).toBeGreaterThan(before);
    },
    120_000,
  );

  it("file: deleted and created again at the same path: a new lineage; deleted and not recreated: reported, nothing uploaded", async () => {
    const dir = "deleted";
    const db = tmp.join(dir, "app.db");
    copyDatabase(template, db);
    const url = `file://${tmp.join(dir, "replica")}`;
    const { config, port } = await oneDatabase(dir, db, url);
    const proc = await startReplicate(["-config", config], { ready: "started" });
    let writer = await Writer.start(db, { rate: 100, count: 20 });
    await writer.handle.exited;
    await waitFor(async () => (await live(port)).replicas[0]!.lagMs === 0, { message: "caught up" });

    // Deleted: status says so, /metrics too, and no file is uploaded while it is gone.
    for (const suffix of ["", "-wal", "-shm"]) rmSync(db + suffix, { force: true });
    const missing = await waitFor(
      async () => {
        const s = await live(port);
        return s.state === "missing" ? s : undefined;
      },
      { timeoutMs: 10_000, message: "state missing in /status" },
    );
    expect(missing.lastError).toMatch(/was deleted/);
    expect(await metric(port, "litestream_db_missing")).toBe(1);
    await proc.waitForLine(/msg="database deleted"/, 5000);
    const txidWhileMissing = missing.replicas[0]!.txid;
    await sleep(1500);
    expect((await live(port)).replicas[0]!.txid, "nothing uploaded while the database is gone").toBe(txidWhileMissing);

    // Created again (an application starting over): replicated as a new lineage.
    writer = await Writer.start(db, { rate: 100, count: 25 });
    await writer.handle.exited;
    const back = await waitFor(
      async () => {
        const s = await live(port);
        return s.state === "replicating" && s.replicas[0]!.txid > txidWhileMissing && s.replicas[0]!.lagMs === 0 ? s : undefined;
      },
      { timeoutMs: 20_000, message: "replicating again" },
    );
    expect(await metric(port, "litestream_db_missing")).toBe(0);
    proc.signal("SIGTERM");
    expect((await proc.exited).code).toBe(0);
    const latest = await restore(tmp.join(dir), url);
    expect(latest.txid).toBeGreaterThanOrEqual(back.replicas[0]!.txid);
    expect(expectHistoryState(latest.output, "restore of the recreated database")).toBe(25);
  }, 90_000);

  it("file: overwritten in place (same inode) while idle: noticed from page 1, a new lineage; the restore is the new content", async () => {
    const dir = "overwritten";
    const db = tmp.join(dir, "app.db");
    copyDatabase(template, db);
    const url = `file://${tmp.join(dir, "replica")}`;
    const { config, port } = await oneDatabase(dir, db, url);
    const proc = await startReplicate(["-config", config], { ready: "started" });
    await waitFor(async () => (await live(port)).replicas[0]!.txid > 0, { message: "the initial snapshot" });
    // cp over a live database: the same inode, other bytes (what "never cp into place" warns of).
    copyFileSync(other, db);
    await proc.waitForLine(/msg="the database changed under the replicator"|msg="database changed outside the replicated history"/, 10_000);
    await waitFor(
      async () => {
        const s = await live(port);
        return s.replicas[0]!.txid > 1 && s.replicas[0]!.lagMs === 0 ? s : undefined;
      },
      { timeoutMs: 15_000, message: "the new lineage uploaded" },
    );
    proc.signal("SIGTERM");
    await proc.exited;
    const latest = await restore(tmp.join(dir), url);
    expect(expectHistoryState(latest.output, "restore after the overwrite")).toBe(400);
  }, 60_000);
});

describe.skipIf(!built)(`two writers on one replica${needsBuild}`, () => {
  it("a second replicate of the same database is refused, naming the process that holds it", async () => {
    const db = tmp.join("lock", "app.db");
    copyDatabase(template, db);
    const first = await startReplicate([db, `file://${tmp.join("lock", "replica")}`], { ready: "started" });
    const second = await runCli(["replicate", db, `file://${tmp.join("lock", "replica-2")}`], { timeoutMs: 30_000 });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(
      new RegExp(`error: ${db.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is already being replicated by process ${first.pid} on \\S+ \\(since [^)]+\\): one replicator per database`),
    );
    first.signal("SIGTERM");
    expect((await first.exited).code).toBe(0);
    // Once the first is gone (even by kill -9: the kernel drops the lock), another may start.
    const third = await startReplicate([db, `file://${tmp.join("lock", "replica")}`], { ready: "started" });
    third.signal("SIGKILL");
    await third.exited;
    const fourth = await startReplicate([db, `file://${tmp.join("lock", "replica")}`], { ready: "started" });
    fourth.signal("SIGTERM");
    expect((await fourth.exited).code).toBe(0);
  }, 60_000);

  it("two databases of a config on one replica path are refused at start, naming both entries", async () => {
    const config = writeConfig(tmp.join("shared", "litestream.yml"), {
      dbs: [
        { path: tmp.join("shared", "a.db"), replicas: [{ url: `file://${tmp.join("shared", "replica")}` }] },
        { path: tmp.join("shared", "b.db"), replicas: [{ path: tmp.join("shared", "replica") }] },
      ],
    });
    const r = await runCli(["replicate", "-config", config]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /dbs\[1\]\.replicas\[0\]\.path: dbs\[1\]\.replicas\[0\] \("file" of \S+b\.db\) is the same replica location as dbs\[0\]\.replicas\[0\] \(replica "file" of \S+a\.db\)/,
    );
  });

  it("another database's replicate wrote to our replica path meanwhile: ours never continues its chain, it snapshots above it; every restore is one database's state", async () => {
    const dir = "foreign";
    const mine = tmp.join(dir, "mine.db");
    const theirs = tmp.join(dir, "theirs.db");
    copyDatabase(template, mine);
    copyDatabase(other, theirs);
    const url = `file://${tmp.join(dir, "replica")}`;
    // 1. Ours replicates, then stops.
    let proc = await startReplicate([mine, url], { ready: "started" });
    let w = await Writer.start(mine, { rate: 200, count: 20 });
    await w.handle.exited;
    await sleep(500);
    proc.signal("SIGTERM");
    expect((await proc.exited).code).toBe(0);
    const oursStopped = lastSyncedTxid(proc.output());
    // 2. Another database is replicated to the same path (another config, another host).
    const intruder = await startReplicate([theirs, url], { ready: "started", name: "intruder" });
    w = await Writer.start(theirs, { rate: 200, count: 20 });
    await w.handle.exited;
    await sleep(500);
    intruder.signal("SIGTERM");
    expect((await intruder.exited).code).toBe(0);
    const theirsStopped = lastSyncedTxid(intruder.output());
    expect(theirsStopped).toBeGreaterThan(oursStopped);
    // 3. Ours starts again: the replica's tip is not its own, so it snapshots above it.
    proc = await startReplicate([mine, url], { ready: "started" });
    w = await Writer.start(mine, { rate: 200, count: 10 });
    await w.handle.exited;
    await sleep(500);
    proc.signal("SIGTERM");
    expect((await proc.exited).code).toBe(0);
    expect(proc.output().join("\n")).toMatch(/msg="the replica's files are not ours to continue"/);
    const snapshot = syncedLines(proc.output()).find((s) => s.kind === "snapshot");
    expect(snapshot?.txid, "the new snapshot is above every file the other writer made").toBeGreaterThan(theirsStopped);
    const latest = await restore(tmp.join(dir), url);
    expect(expectHistoryState(latest.output, "latest: ours")).toBe(130);
    // Every snapshot and file end restores to a whole state of one database or the other.
    const client = replicaClient(url);
    for (const level of [0, 9]) {
      for await (const f of client.ltxFiles(level)) {
        const r = await runRestore(tmp.join(dir), url, { txid: f.maxTXID });
        if (r.result.code === 0) expectHistoryState(r.output, `restore -txid ${f.maxTXID}`);
        else expect(r.result.stderr, `restore -txid ${f.maxTXID} fails loudly, never silently wrong`).toMatch(/^error: /);
      }
    }
  }, 120_000);
});

describe.skipIf(!built)(`shutdown during an outage${needsBuild}`, () => {
  it("S3 down, commits, SIGTERM: retries until shutdown-sync-timeout, exits 1 saying how many transactions are left; the next start uploads them", async () => {
    const dir = "outage";
    const db = tmp.join(dir, "app.db");
    copyDatabase(template, db);
    const prefix = dir;
    const viaProxy = `s3://${suite.s3.bucket}/${prefix}?endpoint=${proxy.url}&region=${suite.s3.region}&force-path-style=true`;
    const { config, port } = await oneDatabase(dir, db, viaProxy, { "shutdown-sync-timeout": "3s" });
    const env = s3Env(suite.s3);
    proxy.clear();
    let proc = await startReplicate(["-config", config], { env, ready: "started" });
    await waitFor(async () => (await live(port)).replicas[0]!.txid > 0, { message: "the initial snapshot" });
    proxy.setFaults({ failRate: 1, errorStatus: 500 });
    const w = await Writer.start(db, { rate: 0, count: 10 });
    await w.handle.exited;
    await waitFor(async () => (await live(port)).replicas[0]!.lastError, { timeoutMs: 15_000, message: "the outage in /status" });
    const t = Date.now();
    proc.signal("SIGTERM");
    const exit = await proc.exited;
    const took = Date.now() - t;
    expect(exit.code, "commits left behind: not a clean exit").toBe(1);
    expect(took, "retried for the shutdown sync timeout").toBeGreaterThanOrEqual(2500);
    const stderr = proc.output().join("\n");
    if (!/error: 10 transactions/.test(stderr)) console.log(proc.output().slice(-15).join("\n"));
    expect(stderr).toMatch(
      /error: 10 transactions \(\d+ TXIDs?\) of \S+app\.db did not reach replica "s3" within the shutdown sync timeout \(3s\): .*; they are kept in the local log and uploaded at the next start/,
    );

    // Back up: the next start uploads what the last one could not, and nothing is lost.
    proxy.clear();
    proc = await startReplicate(["-config", config], { env, ready: "started" });
    await waitFor(
      async () => {
        const s = await live(port);
        return s.replicas[0]!.lagMs === 0 && s.replicas[0]!.pendingTXIDs === 0 ? s : undefined;
      },
      { timeoutMs: 20_000, message: "the left-over transactions uploaded" },
    );
    proc.signal("SIGTERM");
    expect((await proc.exited).code).toBe(0);
    const latest = await restore(tmp.join(dir), suite.s3.url(prefix), { env });
    expect(expectHistoryState(latest.output, "restore after the outage")).toBe(110);
  }, 90_000);

  it("the store comes back during the shutdown window: everything is uploaded, exit 0; after an outage the next upload follows within seconds", async () => {
    const dir = "outage-recovers";
    const db = tmp.join(dir, "app.db");
    copyDatabase(template, db);
    const prefix = dir;
    const viaProxy = `s3://${suite.s3.bucket}/${prefix}?endpoint=${proxy.url}&region=${suite.s3.region}&force-path-style=true`;
    const { config, port } = await oneDatabase(dir, db, viaProxy, { "shutdown-sync-timeout": "20s" });
    const env = s3Env(suite.s3);
    proxy.clear();
    const proc = await startReplicate(["-config", config], { env, ready: "started" });
    await waitFor(async () => (await live(port)).replicas[0]!.txid > 0, { message: "the initial snapshot" });
    // A long outage: the back-off grows past 10 s; the probe must still see the recovery.
    proxy.setFaults({ failRate: 1, errorStatus: 500 });
    let w = await Writer.start(db, { rate: 0, count: 5 });
    await w.handle.exited;
    await sleep(12_000);
    proxy.clear();
    const recovered = Date.now();
    const at = proc.output().length;
    await proc.waitForLine(/msg="replica sync"/, 30_000, at);
    const firstUploadMs = Date.now() - recovered;
    expect(firstUploadMs, "the first upload after the outage does not wait out the back-off").toBeLessThan(5000);
    // Then an outage that ends while the shutdown is retrying.
    proxy.setFaults({ failRate: 1, errorStatus: 500 });
    w = await Writer.start(db, { rate: 0, count: 5 });
    await w.handle.exited;
    await sleep(500);
    proc.signal("SIGTERM");
    await sleep(2000);
    proxy.clear();
    expect((await proc.exited).code).toBe(0);
    const latest = await restore(tmp.join(dir), suite.s3.url(prefix), { env });
    expect(expectHistoryState(latest.output, "restore")).toBe(110);
    console.log(`[outage] first upload ${firstUploadMs} ms after the store came back`);
    void port;
  }, 90_000);
});

describe.skipIf(!built)(`the application's own checkpoints${needsBuild}`, () => {
  it("commit + wal_checkpoint(TRUNCATE) 200 times while replicate runs: every checkpoint completes (busy=0), nothing lost", async () => {
    const dir = "app-truncate";
    const db = tmp.join(dir, "app.db");
    copyDatabase(template, db);
    const url = `file://${tmp.join(dir, "replica")}`;
    const proc = await startReplicate([db, url], { ready: "started" });
    const w = await Writer.start(db, { rate: 0, count: 200, checkpointEvery: 1, checkpointMode: "TRUNCATE", quiet: true });
    expect((await w.handle.exited).code).toBe(0);
    const summary = w.handle.output().find((l) => l.startsWith("checkpoints "))!;
    const m = /count=(\d+) busy=(\d+) totalMs=([\d.]+) maxMs=([\d.]+)/.exec(summary)!;
    expect(Number(m[1])).toBe(200);
    expect(Number(m[2]), "TRUNCATE checkpoints that returned busy").toBe(0);
    console.log(`[app TRUNCATE] 200 × commit + TRUNCATE with replicate running: checkpoints ${m[3]} ms in all, max ${m[4]} ms`);
    proc.signal("SIGTERM");
    expect((await proc.exited).code).toBe(0);
    const latest = await restore(tmp.join(dir), url);
    expect(expectHistoryState(latest.output, "restore")).toBe(300);
    expect(existsSync(tmp.join(dir, "replica"))).toBe(true);
  }, 120_000);

  it("a 100 MB transaction while replicate runs: the commits after it never wait on our checkpoints (SQLite's write lock held briefly), every row restored", async () => {
    const dir = "big-transaction";
    const db = tmp.join(dir, "app.db");
    copyDatabase(template, db);
    const url = `file://${tmp.join(dir, "replica")}`;
    // TRUNCATE past 10,000 WAL pages: the 100 MB transaction (~25,000 pages) crosses it.
    const config = writeConfig(tmp.join(dir, "litestream.yml"), {
      dbs: [{ path: db, "monitor-interval": "100ms", "truncate-page-n": 10_000, replicas: [{ url, "sync-interval": "200ms" }] }],
    });
    const proc = await startReplicate(["-config", config], { ready: "started" });
    const big = new Database(db);
    big.pragma("busy_timeout = 10000");
    big.exec("CREATE TABLE IF NOT EXISTS big (id INTEGER PRIMARY KEY, b BLOB)");
    const insert = big.prepare("INSERT INTO big (b) VALUES (randomblob(4000))");
    big.transaction(() => {
      for (let i = 0; i < 25_000; i++) insert.run();
    })();
    big.close();
    // Small commits right after it, while replicate stages, uploads and checkpoints the 100 MB.
    const w = await Writer.start(db, { rate: 50, count: 150 });
    expect((await w.handle.exited).code).toBe(0);
    const waits = w.handle
      .output()
      .filter((l) => l.startsWith("commit "))
      .map((l) => {
        const [, , started, returned] = l.split(" ");
        return Number(returned) - Number(started);
      });
    expect(waits.length).toBe(150);
    // The engine stages and copies the 100 MB meanwhile: its TRUNCATE checkpoint may end after the writer.
    await waitFor(() => proc.output().some((l) => l.includes("msg=checkpoint ") && l.includes("mode=TRUNCATE")), { timeoutMs: 60_000, message: "our TRUNCATE checkpoint" });
    const checkpoints = proc.output().filter((l) => l.includes("msg=checkpoint "));
    const lockMs = checkpoints.map((l) => Number(/writeLockMs=(\d+)/.exec(l)?.[1] ?? NaN));
    console.log(`[100 MB transaction] writer COMMIT max ${Math.max(...waits).toFixed(1)} ms; our checkpoints: ${checkpoints.length}, write lock held ${lockMs.join(", ")} ms`);
    // Before the fix the engine held the write lock for seconds (uploads under it). The
    // precise check is the lock hold our checkpoints report (below); the writers' waits
    // only catch a gross regression, with room for a busy machine's slow fsyncs (a CI run
    // at load ~20 saw 3.6 s with every hold under 500 ms).
    expect(Math.max(...waits), "the longest a small commit waited").toBeLessThan(8000);
    expect(
      checkpoints.some((l) => l.includes("mode=TRUNCATE")),
      "a TRUNCATE checkpoint ran",
    ).toBe(true);
    for (const ms of lockMs) expect(ms, "SQLite's write lock held by one of our checkpoints").toBeLessThan(500);
    proc.signal("SIGTERM");
    expect((await proc.exited).code).toBe(0);
    const latest = await restore(tmp.join(dir), url);
    expect(expectHistoryState(latest.output, "restore")).toBe(250);
    const restored = new Database(latest.output, { readonly: true });
    expect((restored.prepare("SELECT count(*) AS n FROM big").get() as { n: number }).n).toBe(25_000);
    restored.close();
  }, 180_000);
});
