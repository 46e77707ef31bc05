// `litestream` (ours, apps/litestream) against the real Litestream v0.3.13 (npm
// @flydotio/litestream-linux-x64): the same config file, the same application process
// writing the same rows, the same replica kind (a directory, then S3 served by testkit's
// s3rver in a process of its own), one tool at a time, in the same run.
//
// 1. Replication (N runs per tool and replica, the tools alternating which goes first):
//    a writer commits single-row transactions at 200 tx/s for a fixed time, then
//    isolated commits each followed by 2–3 s of quiet. Measured: CPU seconds of the
//    replicator per 1,000 transactions and its peak RSS (/proc), commit-to-restorable
//    lag (replica/…: when the object covering the commit's WAL end appeared), objects
//    and requests written per second, replica bytes, and how long COMMIT took.
// 2. Restore: a ~200 MB database snapshotted by each tool, then 5,000 transactions;
//    `restore -o` timed (wall clock, both tools' default parallelism), checked with
//    PRAGMA integrity_check, and the restored tables compared with the source and with
//    the other tool's restore. From a directory, from S3 on loopback, and from the same
//    S3 replica through a shaped link (testkit's fault proxy: 60 MB/s per connection,
//    10 ms each way, what a real object store gives one GET stream).
// Method and figures: apps/litestream/README.md, "Benchmarks". `--quick`: 1 run, shorter
// load, a 32 MiB database.
import { execFileSync, fork } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { MiB, Rng } from "../lib/measure.mjs";
import { realisticDatabase } from "../lib/sqlite-data.mjs";
import { nowMs } from "./litestream/clock.mjs";
import { cpuSeconds, loadavg, machineBusySeconds, peakRssMiB } from "./litestream/proc.mjs";
import { classify, commitLags, DirectoryWatch, listReplica, s3ObjectWrites, s3RequestCounts, walGenerations } from "./litestream/replica.mjs";
import { missing, runRestore, startReplicate, tools, writeConfig } from "./litestream/tools.mjs";
import { INSERT, orderRow, SCHEMA } from "./litestream/workload.mjs";

const require = createRequire(import.meta.url);
const Database = require("better-sqlite3");
// The AWS SDK (our S3 listing here) otherwise warns that its 2027 releases need Node 22.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const here = join(dirname(fileURLToPath(import.meta.url)), "litestream");

const FULL = {
  runs: 3,
  seedRows: 20_000,
  rate: 200,
  loadSeconds: 15,
  isolated: 8,
  restoreDbBytes: 191 * MiB, // 200.3 MB
  restoreTx: 5_000,
  restoreRate: 1_000,
  restores: 3,
};
const QUICK = { ...FULL, runs: 1, seedRows: 5_000, loadSeconds: 6, isolated: 4, restoreDbBytes: 32 * MiB, restoreTx: 1_000, restores: 1 };
/** After the last commit of a phase: both tools have uploaded it by then (Litestream: ≤ 1 s monitor + 1 s sync). */
const SETTLE_MS = 3_000;
/** Quiet after each isolated commit: 2 s plus a seeded random 0–1 s, so commits fall at every phase of Litestream's 1 s tickers. */
const QUIET_MS = [2_000, 1_000];
const LOAD_WARNING = 1.5;
/** The shaped link of the "s3-shaped" restores (issue 12): per connection, and each way. */
const LINK = { mbps: 60, latencyMs: 10 };

export default async function run(bench) {
  const cfg = bench.quick ? QUICK : FULL;
  const both = tools(bench.repo);
  for (const t of both) {
    const why = missing(t);
    if (why !== undefined) {
      bench.note(`skipped: ${why}`);
      return;
    }
  }
  const s3 = await startS3(join(bench.scratch, "s3"));
  try {
    bench.note(
      `workload: single-row transactions (payments row ~350 B, 2 indexes) by a separate better-sqlite3 process (synchronous=NORMAL, wal_autocheckpoint=0); same config for both tools (sync-interval 1s, min-checkpoint-page-count 1000, checkpoint-interval 1m, other keys at their defaults); N=${cfg.runs}, medians`,
    );
    bench.note(codeUnderTest(bench.repo));
    // BENCH_LITESTREAM_PARTS=restore (or replication) runs one half only, e.g. after a restore change.
    const parts = (process.env.BENCH_LITESTREAM_PARTS ?? "replication,restore").split(",");
    const runs = [];
    const seed = parts.includes("replication") ? seedDatabase(bench, cfg) : undefined;
    for (let rep = 1; seed !== undefined && rep <= cfg.runs; rep++) {
      for (const kind of ["dir", "s3"]) {
        const order = rep % 2 === 1 ? both : [...both].reverse();
        for (const tool of order) {
          const r = await replicationRun(bench, cfg, { tool, kind, rep, s3, seed });
          runs.push(r);
          bench.row("replication runs", runRow(r));
        }
      }
    }
    if (runs.length > 0) reportReplication(bench, cfg, both, runs);

    const restores = [];
    if (parts.includes("restore")) {
      const source = restoreSource(bench, cfg);
      for (const kind of ["dir", "s3"]) {
        for (const tool of both) {
          const r = await restoreScenario(bench, cfg, { tool, kind, s3, source });
          restores.push(...(r.shaped ? [r, r.shaped] : [r]));
        }
        for (const k of kind === "s3" ? ["s3", "s3-shaped"] : [kind]) if (restores.some((r) => r.kind === k)) compareRestores(bench, restores.filter((r) => r.kind === k));
      }
      reportRestore(bench, cfg, both, restores);
    }
    for (const r of [...runs, ...restores]) {
      if (r.load[0] > LOAD_WARNING) bench.note(`load ${r.load[0].toFixed(2)} > ${LOAD_WARNING} at ${r.tool} ${r.kind}${r.rep ? ` run ${r.rep}` : " restore"}: rerun when the machine is quieter`);
    }
  } finally {
    await s3.stop();
  }
}

// --- the pieces --------------------------------------------------------------------

/** Which sqlrep code was measured: the commit, and whether the packages behind `litestream` had uncommitted changes. */
function codeUnderTest(repo) {
  const paths = ["apps/litestream", "packages/backup", "packages/replica", "packages/replica-s3", "packages/ltx", "packages/wal", "packages/config"];
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: repo, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", ...paths], { cwd: repo, encoding: "utf8" });
    const changed = [...new Set(dirty.split("\n").filter(Boolean).map((l) => l.slice(3).split("/").slice(0, 2).join("/")))];
    return `sqlrep under test: commit ${head}${changed.length ? ` + uncommitted changes in ${changed.join(", ")}` : ""} (built dist/)`;
  } catch {
    return "sqlrep under test: not a git checkout";
  }
}

/** The S3 server in its own process; `take()` returns (and clears) its request log. */
async function startS3(directory) {
  mkdirSync(directory, { recursive: true });
  const env = { ...process.env, LINK_MBPS: String(LINK.mbps), LINK_LATENCY_MS: String(LINK.latencyMs) };
  const child = fork(join(here, "s3-server.mjs"), [directory], { stdio: ["ignore", "inherit", "inherit", "ipc"], env });
  const info = await reply(child, "ready");
  return {
    ...info,
    pid: child.pid,
    async take() {
      child.send({ type: "take" });
      return (await reply(child, "log")).requests;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.send({ type: "stop" });
      await Promise.race([exited, sleep(10_000).then(() => child.kill("SIGKILL"))]);
    },
  };
}

function reply(child, type) {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      if (m.type === type) done(() => resolve(m));
      else if (m.type === "failed") done(() => reject(new Error(m.message)));
    };
    const onExit = (code) => done(() => reject(new Error(`${child.spawnargs.join(" ")} exited with ${code} before "${type}"`)));
    const done = (fn) => {
      child.off("message", onMessage);
      child.off("exit", onExit);
      fn();
    };
    child.on("message", onMessage);
    child.on("exit", onExit);
  });
}

/** The application: writer.mjs on `db`. */
async function startWriter(db) {
  const child = fork(join(here, "writer.mjs"), [db], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  await reply(child, "ready");
  return {
    pid: child.pid,
    async commit(first, count, intervalsMs) {
      child.send({ type: "run", first, count, intervalsMs });
      return (await reply(child, "done")).commits;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      if (child.connected) child.disconnect();
      await Promise.race([exited, sleep(10_000).then(() => child.kill("SIGKILL"))]);
    },
  };
}

/** The database every replication run starts from: `seedRows` payments, WAL mode, the WAL checkpointed away. */
function seedDatabase(bench, cfg) {
  const path = join(bench.scratch, "seed.db");
  const db = new Database(path);
  try {
    db.pragma("page_size = 4096");
    db.pragma("journal_mode = WAL");
    db.exec(SCHEMA);
    const insert = db.prepare(INSERT);
    db.transaction(() => {
      for (let k = 1; k <= cfg.seedRows; k++) insert.run(orderRow(k));
    })();
    db.pragma("wal_checkpoint(TRUNCATE)");
  } finally {
    db.close();
  }
  bench.log(`seed database: ${cfg.seedRows} rows, ${(statSync(path).size / 1e6).toFixed(1)} MB`);
  return { path, next: cfg.seedRows + 1 };
}

function replicaFor(kind, dir, name, s3) {
  return kind === "dir" ? { kind, path: join(dir, "replica") } : { kind, s3, prefix: name };
}

/**
 * Replica objects (key relative to the replica; temp files left out) → when they
 * appeared: inotify for a directory, the S3 server's log for S3.
 */
function appearances(replica, watch, requests) {
  const map = new Map();
  const add = (key, t) => {
    if (classify(key).kind !== "other" && !map.has(key)) map.set(key, t);
  };
  if (replica.kind === "dir") for (const [key, t] of watch.firstSeen) add(key, t);
  else {
    for (const w of s3ObjectWrites(requests, replica.s3.bucket)) {
      if (w.key.startsWith(`${replica.prefix}/`)) add(w.key.slice(replica.prefix.length + 1), w.t);
    }
  }
  return map;
}

/** How many objects of each kind appeared in (from, to]. */
function appearedBetween(appeared, from, to) {
  const counts = { total: 0, snapshot: 0, incremental: 0, compacted: 0 };
  for (const [key, t] of appeared) {
    if (t <= from || t > to) continue;
    counts.total++;
    counts[classify(key).kind]++;
  }
  return counts;
}

/** One tool, one replica kind: startup snapshot, sustained load, isolated commits. */
async function replicationRun(bench, cfg, { tool, kind, rep, s3, seed }) {
  const name = `run${rep}-${kind}-${tool.id}`;
  const dir = join(bench.scratch, name);
  mkdirSync(dir, { recursive: true });
  const db = join(dir, "app.db");
  copyFileSync(seed.path, db);
  const replica = replicaFor(kind, dir, name, s3);
  if (kind === "dir") mkdirSync(replica.path);
  const config = writeConfig(join(dir, "litestream.yml"), { db, replica });
  const watch = kind === "dir" ? new DirectoryWatch(replica.path).start() : undefined;
  await s3.take();
  const load = loadavg();
  bench.log(`${tool.label}, ${kind}, run ${rep} (load ${load.join(" ")})`);
  const writer = await startWriter(db);
  let proc;
  try {
    proc = await startReplicate(tool, config);
    const { pid, readyMs } = proc;
    let k = seed.next;
    // Warm-up: the replica's folders exist and the tool has settled before anything is measured.
    await writer.commit(k, 5, [5]);
    k += 5;
    await sleep(SETTLE_MS);

    const count = cfg.rate * cfg.loadSeconds;
    const before = { tool: cpuSeconds(pid), writer: cpuSeconds(writer.pid), s3: cpuSeconds(s3.pid), self: process.cpuUsage(), busy: machineBusySeconds() };
    const t0 = nowMs();
    const sustained = await writer.commit(k, count, [1000 / cfg.rate]);
    k += count;
    await sleep(SETTLE_MS);
    const t1 = nowMs();
    const self = process.cpuUsage(before.self);
    const cpu = cpuSeconds(pid) - before.tool;
    const ours = cpu + (cpuSeconds(writer.pid) - before.writer) + (cpuSeconds(s3.pid) - before.s3) + (self.user + self.system) / 1e6;
    const othersCores = (machineBusySeconds() - before.busy - ours) / ((t1 - t0) / 1000);
    const rssAfterLoad = peakRssMiB(pid);
    const afterLoad = await listReplica(replica);
    const loadRequests = await s3.take();

    const rng = new Rng(0x150 + rep);
    const intervals = Array.from({ length: cfg.isolated }, () => QUIET_MS[0] + rng.below(QUIET_MS[1]));
    const t2 = nowMs();
    const isolated = await writer.commit(k, cfg.isolated, intervals);
    await sleep(QUIET_MS[0] + QUIET_MS[1]);
    const t3 = nowMs();
    const peakRss = peakRssMiB(pid);
    await proc.handle.stop(30_000);
    const checkpointMs = proc.handle.output().flatMap((l) => (/msg=checkpoint .* ms=(\d+)/.exec(l)?.slice(1) ?? []).map(Number));
    proc = undefined;
    const quietRequests = await s3.take();
    const requests = [...loadRequests, ...quietRequests];

    const objects = await listReplica(replica, { withRanges: true });
    const appeared = appearances(replica, watch, requests);
    const inWindow = appearedBetween(appeared, t0, t1);
    const sustainedLag = commitLags(sustained, objects, appeared);
    const wals = walGenerations(objects, appeared, t0, t1, 4096);
    const isolatedLag = commitLags(isolated, objects, appeared);
    const windowRequests = s3RequestCounts(loadRequests.filter((r) => r.t > t0 && r.t <= t1));
    const quiet = s3RequestCounts(quietRequests.filter((r) => r.t > t2 && r.t <= t3));
    const quietSeconds = (t3 - t2) / 1000;
    const loadSeconds = (sustained.at(-1).t - sustained[0].t) / 1000;
    const bytes = sumBy(afterLoad);
    return {
      tool: tool.id,
      kind,
      rep,
      load,
      othersCores,
      startupMs: readyMs,
      tx: sustained.length,
      achievedRate: (sustained.length - 1) / loadSeconds,
      cpuPer1000: cpu / (sustained.length / 1000),
      cpuSeconds: cpu,
      rssAfterLoad,
      peakRss,
      objectsPerSec: inWindow.total / cfg.loadSeconds,
      objectsInWindow: inWindow,
      writeRequestsPerSec: kind === "s3" ? windowRequests.write / cfg.loadSeconds : inWindow.total / cfg.loadSeconds,
      requestsPerSec: kind === "s3" ? windowRequests.total / cfg.loadSeconds : undefined,
      requests: kind === "s3" ? windowRequests : undefined,
      quietRequestsPerMin: kind === "s3" ? (quiet.total / quietSeconds) * 60 : undefined,
      quietListsPerMin: kind === "s3" ? (quiet.list / quietSeconds) * 60 : undefined,
      quietRequests: kind === "s3" ? quiet : undefined,
      replicaBytes: bytes.total,
      snapshotBytes: bytes.snapshot,
      incrementalBytes: bytes.incremental,
      compactedBytes: bytes.compacted,
      lag: summarize(sustainedLag.lags),
      walRestarts: wals.wals - 1,
      framesAtRestart: median(wals.framesAtRestart),
      uncovered: sustainedLag.uncovered + isolatedLag.uncovered,
      isolatedLags: isolatedLag.lags,
      commitMs: summarize(sustained.map((c) => c.ms)),
      checkpointMs: checkpointMs.length ? summarize(checkpointMs) : undefined,
    };
  } finally {
    if (proc !== undefined) await proc.handle.stop(10_000);
    await writer.stop();
    watch?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function sumBy(objects) {
  const sums = { total: 0, snapshot: 0, incremental: 0, compacted: 0 };
  for (const o of objects) {
    sums.total += o.size;
    if (o.kind in sums) sums[o.kind] += o.size;
  }
  return sums;
}

/** The restore scenario's starting point: a realistic database (bench/lib/sqlite-data.mjs) of ~200 MB with the payments table, in WAL mode. */
function restoreSource(bench, cfg) {
  const built = realisticDatabase(bench.cache, cfg.restoreDbBytes, bench.log);
  const path = join(bench.scratch, "restore-seed.db");
  copyFileSync(built, path);
  const db = new Database(path);
  try {
    db.pragma("journal_mode = WAL");
    db.exec(SCHEMA);
    db.pragma("wal_checkpoint(TRUNCATE)");
  } finally {
    db.close();
  }
  const tables = userTables(path);
  return { path, tables, bytes: statSync(path).size };
}

function userTables(path) {
  const db = new Database(path, { readonly: true });
  try {
    return db
      .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_litestream\\_%' ESCAPE '\\' ORDER BY name")
      .pluck()
      .all();
  } finally {
    db.close();
  }
}

/** SHA3 of each listed table's content (the sqlite3 shell's `.sha3sum`), as "table=hash …". */
function tableHashes(path, tables) {
  const out = execFileSync("sqlite3", [path, ...tables.map((t) => `.sha3sum ${t}`)], { encoding: "utf8" });
  return out.trim().split("\n").join(" ");
}

function integrityCheck(path) {
  const db = new Database(path, { readonly: true });
  try {
    return db.pragma("integrity_check").map((r) => r.integrity_check).join("; ");
  } finally {
    db.close();
  }
}

/** One tool, one replica kind: snapshot of the ~200 MB database, 5,000 transactions, stop, then `restore` N times. */
async function restoreScenario(bench, cfg, { tool, kind, s3, source }) {
  const name = `restore-${kind}-${tool.id}`;
  const dir = join(bench.scratch, name);
  mkdirSync(dir, { recursive: true });
  const db = join(dir, "app.db");
  copyFileSync(source.path, db);
  const replica = replicaFor(kind, dir, name, s3);
  const config = writeConfig(join(dir, "litestream.yml"), { db, replica });
  const load = loadavg();
  bench.log(`${tool.label}, ${kind}: snapshot of ${(source.bytes / 1e6).toFixed(0)} MB, ${cfg.restoreTx} transactions, ${cfg.restores} restores (load ${load.join(" ")})`);
  const writer = await startWriter(db);
  let proc;
  try {
    proc = await startReplicate(tool, config, { readyTimeoutMs: 300_000 });
    const snapshot = { seconds: proc.readyMs / 1000, cpu: proc.cpuAtReady, rss: peakRssMiB(proc.pid) };
    await writer.commit(1_000_000_001, cfg.restoreTx, [1000 / cfg.restoreRate]);
    await sleep(SETTLE_MS);
    const replicatePeakRss = peakRssMiB(proc.pid);
    await proc.handle.stop(60_000);
    proc = undefined;
    await writer.stop();
    const replicaBytes = sumBy(await listReplica(replica));
    const sourceHash = tableHashes(db, source.tables);
    const base = { tool: tool.id, kind, load, snapshot, replicatePeakRss, replicaBytes };
    const result = { ...base, ...(await timedRestores(cfg, { tool, config, db, dir, s3, source, sourceHash })) };
    if (kind === "s3" && s3.proxyEndpoint) {
      // The same replica through the shaped link: only the endpoint differs.
      const shapedConfig = join(dir, "litestream-shaped.yml");
      writeFileSync(shapedConfig, readFileSync(config, "utf8").replace(`endpoint: ${s3.endpoint}`, `endpoint: ${s3.proxyEndpoint}`));
      result.shaped = { ...base, kind: "s3-shaped", load: loadavg(), ...(await timedRestores(cfg, { tool, config: shapedConfig, db, dir, s3, source, sourceHash })) };
    }
    return result;
  } finally {
    if (proc !== undefined) await proc.handle.stop(10_000);
    await writer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `restore` N times under GNU time: wall clock, CPU, peak RSS, S3 requests; the first output checked and hashed. */
async function timedRestores(cfg, { tool, config, db, dir, s3, source, sourceHash }) {
  const times = [];
  let check;
  await s3.take();
  for (let i = 0; i < cfg.restores; i++) {
    const out = join(dir, `restored-${i}.db`);
    const load1 = loadavg()[0];
    const before = { busy: machineBusySeconds(), s3: cpuSeconds(s3.pid), self: process.cpuUsage() };
    const r = await runRestore(tool, config, db, out);
    const self = process.cpuUsage(before.self);
    const ours = r.cpuSeconds + cpuSeconds(s3.pid) - before.s3 + (self.user + self.system) / 1e6;
    const othersCores = (machineBusySeconds() - before.busy - ours) / (r.ms / 1000);
    const bytes = statSync(out).size;
    const requests = s3RequestCounts(await s3.take());
    times.push({ ms: r.ms, mbps: bytes / 1e3 / r.ms, peakRss: r.peakRssMiB, cpu: r.cpuSeconds, bytes, requests: requests.total, othersCores, load1 });
    if (i === 0) {
      const hash = tableHashes(out, source.tables);
      check = { integrity: integrityCheck(out), sameAsSource: hash === sourceHash, hash };
    }
    for (const suffix of ["", "-wal", "-shm"]) rmSync(out + suffix, { force: true });
  }
  return {
    dbBytes: times[0].bytes,
    restoreMs: median(times.map((t) => t.ms)),
    restoreMBps: median(times.map((t) => t.mbps)),
    restoreBestMBps: Math.max(...times.map((t) => t.mbps)),
    restorePeakRss: median(times.map((t) => t.peakRss)),
    restoreCpu: median(times.map((t) => t.cpu)),
    restoreRequests: median(times.map((t) => t.requests)),
    restoreRuns: times,
    ...check,
  };
}

function compareRestores(bench, pair) {
  const [a, b] = pair;
  const same = a.hash === b.hash;
  a.sameAsOther = b.sameAsOther = same;
  if (!same || !a.sameAsSource || !b.sameAsSource || a.integrity !== "ok" || b.integrity !== "ok") {
    bench.note(`restore check failed (${a.kind}): ${pair.map((r) => `${r.tool}: integrity ${r.integrity}, same as its source ${r.sameAsSource}`).join("; ")}; same as each other ${same}`);
  }
}

// --- reporting ---------------------------------------------------------------------

function median(values) {
  const v = values.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const m = v.length >> 1;
  return v.length % 2 === 1 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Percentile by linear interpolation between closest ranks. */
function percentile(values, p) {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const x = (v.length - 1) * p;
  const lo = Math.floor(x);
  return v[lo] + (v[Math.min(lo + 1, v.length - 1)] - v[lo]) * (x - lo);
}

function summarize(values) {
  return { n: values.length, p50: percentile(values, 0.5), p99: percentile(values, 0.99), max: values.length ? Math.max(...values) : undefined };
}

function runRow(r) {
  return {
    tool: r.tool,
    replica: r.kind,
    run: r.rep,
    load1: r.load[0],
    "others' cores": r.othersCores,
    "tx/s": r.achievedRate,
    "CPU s/1k tx": r.cpuPer1000,
    "peak RSS MiB": r.peakRss,
    "lag p50 ms": r.lag.p50,
    "lag p99 ms": r.lag.p99,
    "isolated p50 ms": percentile(r.isolatedLags, 0.5),
    "objects/s": r.objectsPerSec,
    "objects inc/cmp/snap": `${r.objectsInWindow.incremental}/${r.objectsInWindow.compacted}/${r.objectsInWindow.snapshot}`,
    "WAL restarts": r.walRestarts,
    "frames at restart": r.framesAtRestart,
    "S3 req/s": r.requestsPerSec,
    "S3 req w/l/r/o": r.requests && `${r.requests.write}/${r.requests.list}/${r.requests.read}/${r.requests.other}`,
    "S3 req/min quiet": r.quietRequestsPerMin,
    "quiet req w/l/r/o": r.quietRequests && `${r.quietRequests.write}/${r.quietRequests.list}/${r.quietRequests.read}/${r.quietRequests.other}`,
    "replica MB": r.replicaBytes / 1e6,
    "commit p99 ms": r.commitMs.p99,
    "commit max ms": r.commitMs.max,
    "checkpoints logged (max ms)": r.checkpointMs && `${r.checkpointMs.n} (${Math.round(r.checkpointMs.max)})`,
    uncovered: r.uncovered,
  };
}

/** Metrics where more is better (rates); every other one is a cost or a time: lower is better. */
const HIGHER_IS_BETTER = /MB\/s$/;

function comparisonRow(replica, metric, ours, theirs, target, met, runs) {
  return {
    replica,
    metric,
    ours,
    "Litestream v0.3.13": theirs,
    "× Litestream": ours !== undefined && theirs ? ours / theirs : undefined,
    better: HIGHER_IS_BETTER.test(metric) ? "higher" : "lower",
    target: target ?? "",
    met: met === undefined ? "" : met ? "yes" : "NO",
    runs,
  };
}

function reportReplication(bench, cfg, both, runs) {
  const table = `replication at ${cfg.rate} tx/s for ${cfg.loadSeconds} s, then isolated commits (median of ${cfg.runs} runs; × Litestream = ours / Litestream's, see "better")`;
  for (const kind of ["dir", "s3"]) {
    const of = (id) => runs.filter((r) => r.tool === id && r.kind === kind);
    const m = (fn) => both.map((t) => median(of(t.id).map(fn)));
    const pooled = (p) => both.map((t) => percentile(of(t.id).flatMap((r) => r.isolatedLags), p));
    const row = (metric, [o, t], target, met) => bench.row(table, comparisonRow(kind, metric, o, t, target, met?.(o, t), cfg.runs));
    const le = (o, t) => o <= t;
    row("CPU s per 1,000 tx", m((r) => r.cpuPer1000), "≤ Litestream", le);
    row("peak RSS MiB (VmHWM)", m((r) => r.peakRss));
    row(`lag p50 ms at ${cfg.rate} tx/s`, m((r) => r.lag.p50), "< 100 (issue 3)", (o) => o < 100);
    row(`lag p99 ms at ${cfg.rate} tx/s`, m((r) => r.lag.p99));
    const n = cfg.runs * cfg.isolated;
    row(`lag p50 ms, isolated commit (${n} pooled)`, pooled(0.5), "< 100 (DESIGN)", (o) => o < 100);
    row(`lag p99 ms, isolated commit (${n} pooled)`, pooled(0.99));
    row(`objects written/s at ${cfg.rate} tx/s`, m((r) => r.objectsPerSec), "≤ Litestream", le);
    if (kind === "s3") {
      row(`S3 write requests/s (PUT+POST)`, m((r) => r.writeRequestsPerSec), "≤ Litestream", le);
      row(`S3 requests/s, all`, m((r) => r.requestsPerSec));
      row(`S3 requests/min, isolated commits every 2–3 s`, m((r) => r.quietRequestsPerMin));
      row(`  of which LIST`, m((r) => r.quietListsPerMin));
    }
    row("replica MB after the load", m((r) => r.replicaBytes / 1e6), "≤ Litestream", le);
    row("  of which snapshot MB", m((r) => r.snapshotBytes / 1e6));
    row("  of which incremental MB", m((r) => r.incrementalBytes / 1e6));
    row("  of which compacted MB", m((r) => r.compactedBytes / 1e6));
    row("WAL restarts (checkpoints) during the load", m((r) => r.walRestarts));
    row("WAL frames when restarted (median)", m((r) => r.framesAtRestart));
    row("writer COMMIT p99 ms", m((r) => r.commitMs.p99));
    row("writer COMMIT max ms", m((r) => r.commitMs.max));
    row("commits no object covers", m((r) => r.uncovered), "0", (o, t) => o === 0 && t === 0);
  }
}

function reportRestore(bench, cfg, both, restores) {
  const table = `restore of a ${(restores[0].dbBytes / 1e6).toFixed(0)} MB database with ${cfg.restoreTx} transactions after its snapshot (restores: median of ${cfg.restores}; × Litestream = ours / Litestream's, see "better")`;
  for (const kind of ["dir", "s3", "s3-shaped"]) {
    const of = (id) => restores.find((r) => r.tool === id && r.kind === kind);
    if (both.some((t) => of(t.id) === undefined)) continue;
    const pair = (fn) => both.map((t) => fn(of(t.id)));
    const rowOf = (runs) => (metric, [o, t], target, met) => bench.row(table, comparisonRow(kind, metric, o, t, target, met?.(o, t), runs));
    const row = rowOf(cfg.restores);
    const once = rowOf(1);
    // Issue 12: ≥ 3× on the shaped link, ≥ 1× on loopback S3 and from a directory; RSS ≤ 1.5×.
    const speedTarget = kind === "s3-shaped" ? 3 : 1;
    row("restore s (wall clock)", pair((r) => r.restoreMs / 1000));
    row("restore MB/s", pair((r) => r.restoreMBps), `≥ ${speedTarget}× Litestream`, (o, t) => o >= speedTarget * t);
    row("restore MB/s, best run", pair((r) => r.restoreBestMBps));
    row("restore CPU s (user + sys)", pair((r) => r.restoreCpu));
    row("restore peak RSS MiB", pair((r) => r.restorePeakRss), "≤ 1.5× Litestream", (o, t) => o <= 1.5 * t);
    if (kind !== "dir") row("restore S3 requests", pair((r) => r.restoreRequests));
    if (kind === "s3-shaped") continue;
    once("replicate: start to snapshot written, s", pair((r) => r.snapshot.seconds));
    once("replicate: CPU s to snapshot written", pair((r) => r.snapshot.cpu));
    once("replicate: peak RSS MiB", pair((r) => r.replicatePeakRss));
    once("replica MB", pair((r) => r.replicaBytes.total / 1e6), "≤ Litestream", (o, t) => o <= t);
    once("  of which snapshot MB", pair((r) => r.replicaBytes.snapshot / 1e6));
    once("  of which incremental MB", pair((r) => r.replicaBytes.incremental / 1e6));
    once("  of which compacted MB", pair((r) => r.replicaBytes.compacted / 1e6));
    const checks = both.map((t) => of(t.id));
    bench.row(table, {
      replica: kind,
      metric: "integrity_check; same tables as source; same as each other",
      ours: `${checks[0].integrity}; ${checks[0].sameAsSource}; ${checks[0].sameAsOther}`,
      "Litestream v0.3.13": `${checks[1].integrity}; ${checks[1].sameAsSource}; ${checks[1].sameAsOther}`,
    });
  }
  for (const r of restores) {
    bench.row("restore runs", {
      tool: r.tool,
      replica: r.kind,
      load1: r.load[0],
      MB: r.dbBytes / 1e6,
      "runs s": r.restoreRuns.map((x) => (x.ms / 1000).toFixed(2)).join(" "),
      "runs MiB RSS": r.restoreRuns.map((x) => x.peakRss.toFixed(0)).join(" "),
      "load1 at each": r.restoreRuns.map((x) => x.load1.toFixed(2)).join(" "),
      "others' cores": r.restoreRuns.map((x) => x.othersCores.toFixed(2)).join(" "),
    });
  }
}
