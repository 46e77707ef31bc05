// `litestream restore -f` (apps/litestream, follow mode) behind a real `replicate`, both with
// their default intervals (sync 1 s, follow 1 s), while this process commits single-row
// transactions to the source at a steady rate and reads the followed copy in a loop.
// Measured, each next to its reference from the same run:
// - commit → visible in the copy (p50, p99, max), next to the configured floor: the two
//   intervals (a commit waits up to one sync interval for its upload, then up to one follow
//   interval for the poll);
// - the write lock per batch (how long new readers of the copy wait), next to SQLite's own
//   writer committing the same rows as one rollback-journal transaction on a copy of the file;
// - a batch's whole cost (download, checks, apply), next to a fresh `restore` of the replica
//   (the alternative: restoring again);
// - the reader's point-query latency while following, next to the same loop on the same
//   file once the follower has stopped.
// No Litestream peer: v0.3.13 has no follow mode and no v0.5 binary is installed here.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnProcess, stopAllProcesses } from "@sqlrep/testkit";
import Database from "better-sqlite3";
import { median, percentile } from "./litestream/stats.mjs";

const FULL = { seedRows: 50_000, rate: 20, seconds: 30 };
const QUICK = { seedRows: 10_000, rate: 20, seconds: 10 };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export default async function run(bench) {
  const cfg = bench.quick ? QUICK : FULL;
  const cli = join(bench.repo, "apps", "litestream", "dist", "litestream.js");
  const dir = join(bench.scratch, "follow");
  mkdirSync(dir);
  const source = join(dir, "app.db");
  const copy = join(dir, "copy.db");
  const replica = join(dir, "replica");
  const config = join(dir, "litestream.yml");
  writeFileSync(config, `dbs:\n  - path: ${source}\n    replica:\n      url: file://${replica}\n`);

  const db = new Database(source);
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
  db.transaction(() => {
    for (let i = 0; i < cfg.seedRows; i++) insert.run(`seed ${i} ${"s".repeat(180)}`);
  })();
  const mb = (db.pragma("page_count", { simple: true }) * 4096) / 1e6;
  bench.log(`source: ${cfg.seedRows} rows, ${mb.toFixed(1)} MB`);

  const rep = await spawnProcess(process.execPath, [cli, "replicate", "-config", config], {
    name: "replicate",
    env: { LOG_LEVEL: "" },
    ready: /msg="replication started"/,
    readyTimeoutMs: 60_000,
  });
  const follower = await spawnProcess(process.execPath, [cli, "restore", "-f", "-o", copy, `file://${replica}`], {
    name: "follow",
    env: { LITESTREAM_CONFIG: "/nonexistent/litestream.yml" },
    ready: /^following /,
    readyTimeoutMs: 60_000,
  });
  try {
    const reader = new Database(copy, { readonly: true, fileMustExist: true, timeout: 30_000 });
    const point = reader.prepare("SELECT v FROM t WHERE id = ?");
    const maxId = reader.prepare("SELECT coalesce(max(id), 0) FROM t").pluck();
    const committed = new Map(); // id → commit time
    const seen = new Map(); // id → first time the copy had it
    const queryMs = [];
    let seenUpTo = maxId.get();
    const firstId = seenUpTo + 1;

    // Writer and reader share the event loop: the writer on a timer, the reader in between.
    const total = cfg.rate * cfg.seconds;
    let written = 0;
    const writer = setInterval(() => {
      if (written >= total) return;
      const id = insert.run(`live ${written} ${"l".repeat(180)}`).lastInsertRowid;
      committed.set(Number(id), performance.now());
      written++;
    }, 1000 / cfg.rate);
    const deadline = performance.now() + cfg.seconds * 1000 + 15_000;
    while (seenUpTo < firstId + total - 1 && performance.now() < deadline) {
      const t0 = performance.now();
      point.get(1 + Math.floor(Math.random() * cfg.seedRows));
      const top = maxId.get();
      const t1 = performance.now();
      queryMs.push(t1 - t0);
      for (let id = seenUpTo + 1; id <= top; id++) seen.set(id, t1);
      seenUpTo = Math.max(seenUpTo, top);
      await sleep(5);
    }
    clearInterval(writer);
    const lags = [...seen].filter(([id]) => committed.has(id)).map(([id, t]) => t - committed.get(id));
    const floor = 2000;
    bench.row("commit → visible in the followed copy (ms; lower is better)", {
      case: `${cfg.rate} tx/s for ${cfg.seconds} s`,
      p50: median(lags),
      p99: percentile(lags, 0.99),
      max: Math.max(...lags),
      "floor (sync 1 s + follow 1 s)": floor,
      "p50 × floor": median(lags) / floor,
      rows: lags.length,
    });

    // Batches as the follower logged them.
    const batches = follower
      .output()
      .map((l) => /^applied TXID .*: (\d+) LTX files .*, (\d+) pages, (\d+) ms \((\d+) ms holding the write lock, (\d+) ms waiting/.exec(l))
      .filter(Boolean)
      .map((m) => ({ files: Number(m[1]), pages: Number(m[2]), ms: Number(m[3]), held: Number(m[4]) }));
    const perBatch = Math.max(1, Math.round(written / Math.max(1, batches.length)));

    // The reference writer: the same number of rows per batch, one rollback-journal transaction, synchronous=FULL, on a copy of the file.
    follower.signal("SIGINT");
    await follower.exited;
    const ref = join(dir, "sqlite-ref.db");
    copyFileSync(copy, ref);
    const refDb = new Database(ref);
    refDb.pragma("synchronous = FULL");
    const refInsert = refDb.prepare("INSERT INTO t (v) VALUES (?)");
    const refMs = [];
    for (let b = 0; b < Math.max(5, batches.length); b++) {
      const t0 = performance.now();
      refDb.transaction(() => {
        for (let i = 0; i < perBatch; i++) refInsert.run(`ref ${b} ${i} ${"r".repeat(180)}`);
      })();
      refMs.push(performance.now() - t0);
    }
    refDb.close();
    const held = batches.map((b) => b.held);
    bench.row("write lock per batch (ms; lower is better): new readers of the copy wait this long", {
      case: `${batches.length} batches, ~${perBatch} rows, median ${median(batches.map((b) => b.pages))} pages`,
      "follow p50": median(held),
      "follow max": Math.max(...held),
      "SQLite commit p50": median(refMs),
      "SQLite commit max": Math.max(...refMs),
      "p50 × SQLite": median(held) / median(refMs),
    });

    // A batch's whole cost against restoring the copy afresh.
    const restores = [];
    for (let i = 0; i < 3; i++) {
      const out = join(dir, `fresh-${i}.db`);
      const t0 = performance.now();
      execFileSync(process.execPath, [cli, "restore", "-integrity-check", "none", "-o", out, `file://${replica}`], {
        env: { ...process.env, LITESTREAM_CONFIG: "/nonexistent/litestream.yml" },
      });
      restores.push(performance.now() - t0);
    }
    const batchMs = batches.map((b) => b.ms);
    bench.row("a batch against a fresh restore (ms; lower is better)", {
      case: `${mb.toFixed(0)} MB database`,
      "batch p50": median(batchMs),
      "batch max": Math.max(...batchMs),
      "fresh restore (best of 3)": Math.min(...restores),
      "p50 × restore": median(batchMs) / Math.min(...restores),
    });

    // The reader's loop on the same file with nothing following it.
    const idleMs = [];
    const idleEnd = performance.now() + Math.min(10_000, cfg.seconds * 1000);
    while (performance.now() < idleEnd) {
      const t0 = performance.now();
      point.get(1 + Math.floor(Math.random() * cfg.seedRows));
      maxId.get();
      idleMs.push(performance.now() - t0);
      await sleep(5);
    }
    reader.close();
    bench.row("reader point query + max(id) on the copy (ms; lower is better)", {
      case: "while following / idle",
      "following p50": median(queryMs),
      "following p99": percentile(queryMs, 0.99),
      "following max": Math.max(...queryMs),
      "idle p50": median(idleMs),
      "idle p99": percentile(idleMs, 0.99),
      "idle max": Math.max(...idleMs),
      queries: queryMs.length,
    });
    bench.note("lag, lock and batch figures come from one follow run; the write-lock row's reference commits the same rows per batch with SQLite itself");
  } finally {
    db.close();
    rep.signal("SIGTERM");
    await rep.exited;
    await stopAllProcesses();
  }
}
