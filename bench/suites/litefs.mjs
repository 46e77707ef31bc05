// litefs (apps/litefs): the issue's §5 figures through the real daemon (`litefs mount`,
// the built dist/cli.js) next to a plain directory in the same run: single-row write
// transactions/s in WAL+NORMAL, WAL+FULL and DELETE+FULL (and the daemon's CPU per
// transaction), point reads on a warm replica against a plain copy, replica lag at a
// fixed commit rate, kill -9 of the primary → first write on a new primary (3 daemons,
// real etcd, TTL 3 s), and optionally a CPU profile of the daemon under the write load.
import { execFile, spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { etcdAvailable, etcdUnavailableReason, fuseUnavailableReason, startEtcd } from "@sqlrep/testkit";
import { fill, median, sqliteLoad } from "./fuse.mjs";
import { isPrimary, posTxid, startNode } from "./litefs/nodes.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const lagProbe = join(here, "litefs", "lag.mjs");
const run = promisify(execFile);
const TTL_MS = 3000;

export default async function suite(bench) {
  const skip = fuseUnavailableReason();
  if (skip) {
    bench.note(`litefs suite skipped: ${skip}`);
    return;
  }
  const parts = new Set((process.env.BENCH_LITEFS_PARTS ?? "writes,reads,lag,failover,profile").split(","));
  const runs = bench.quick ? 2 : 3;
  const ms = bench.quick ? 1000 : 2500;
  if (parts.has("writes") || parts.has("reads") || parts.has("lag")) {
    const root = join(bench.scratch, "pair");
    const primary = await startNode(bench.repo, root, "primary", ({ url }) => `lease: {type: static, hostname: primary, advertise-url: "${url}", candidate: true}`);
    let replica;
    try {
      replica = await startNode(bench.repo, root, "replica", () => `lease: {type: static, hostname: primary, advertise-url: "${primary.url}", candidate: false}`);
      if (parts.has("writes")) await writes(bench, primary, runs, ms);
      if (parts.has("reads")) await reads(bench, primary, replica, runs, ms);
      if (parts.has("lag")) await lag(bench, primary, replica, bench.quick ? 1 : 3, bench.quick ? 3000 : 5000);
    } finally {
      await replica?.stop();
      await primary.stop();
    }
  }
  if (parts.has("failover")) {
    if (!etcdAvailable()) bench.note(`failover skipped: ${etcdUnavailableReason()}`);
    else await failover(bench, runs);
  }
  if (parts.has("profile")) await profile(bench, ms);
}

/** utime + stime of a process (every thread) in ms, from /proc. */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
}

async function writes(bench, primary, runs, ms) {
  const plain = join(bench.scratch, "plain");
  mkdirSync(plain);
  const targets = [
    { name: "plain directory (the reference)", dir: plain },
    { name: "litefs mount (primary, one replica connected)", dir: primary.mnt, daemon: primary },
  ];
  for (const [mode, sync] of [
    ["wal", "normal"],
    ["wal", "full"],
    ["delete", "full"],
  ]) {
    const table = `single-row write transactions/s, journal_mode=${mode} synchronous=${sync} (writer in its own process, ${ms / 1000} s a run)`;
    const results = new Map(targets.map((t) => [t, []]));
    const cpu = [];
    for (let r = 0; r < runs; r++) {
      for (const target of targets) {
        const db = join(target.dir, `w-${mode}-${sync}.db`);
        const before = target.daemon ? cpuMs(target.daemon.process.pid) : 0;
        const { ops, seconds } = await sqliteLoad(["write", db, mode, sync, String(ms)]);
        results.get(target).push(ops / seconds);
        if (target.daemon) cpu.push(((cpuMs(target.daemon.process.pid) - before) * 1000) / ops);
        bench.log(`${mode}+${sync} ${target.name}: ${Math.round(ops / seconds)} tx/s`);
      }
    }
    const plainMedian = median(results.get(targets[0]));
    for (const target of targets) {
      const values = results.get(target);
      bench.row(table, {
        target: target.name,
        "tx/s median": median(values),
        "tx/s best": Math.max(...values),
        "× plain": median(values) / plainMedian,
        "daemon CPU µs/tx": target.daemon ? median(cpu) : "",
        "every run": values.map((v) => Math.round(v)).join(" "),
        runs: values.length,
      });
    }
  }
}

async function reads(bench, primary, replica, runs, ms) {
  const rows = 20_000;
  const plainDir = join(bench.scratch, "plain-reads");
  mkdirSync(plainDir, { recursive: true });
  for (const mode of ["wal", "delete"]) {
    const name = `r-${mode}.db`;
    fill(join(primary.mnt, name), mode, rows);
    await waitFor(() => posTxid(replica.mnt, name) > 0 && posTxid(replica.mnt, name) === posTxid(primary.mnt, name), `${name} on the replica`);
    // the same rows on a plain directory, in the same journal mode
    const plainDb = join(plainDir, name);
    await run("sqlite3", [join(replica.mnt, name), `VACUUM INTO '${plainDb}'`]);
    await run("sqlite3", [plainDb, `PRAGMA journal_mode=${mode}`]);
    const table = `point reads/s on a warm replica, journal_mode=${mode}, ${rows} rows, one read a transaction (reader in its own process, ${ms / 1000} s a run)`;
    const results = { plain: [], replica: [] };
    for (let r = 0; r < runs; r++) {
      for (const [key, db] of [
        ["plain", plainDb],
        ["replica", join(replica.mnt, name)],
      ]) {
        const { ops, seconds } = await sqliteLoad(["read", db, String(ms), String(rows), "1"]);
        results[key].push(ops / seconds);
      }
    }
    for (const key of ["plain", "replica"]) {
      const values = results[key];
      bench.row(table, {
        target: key === "plain" ? "plain copy (the reference)" : "litefs replica mount",
        "reads/s median": median(values),
        "reads/s best": Math.max(...values),
        "cost × plain": median(results.plain) / median(values),
        "every run": values.map((v) => Math.round(v)).join(" "),
        runs: values.length,
      });
    }
  }
}

async function lag(bench, primary, replica, runs, ms) {
  const rate = 200;
  const name = "lag.db";
  const table = `replica lag at ${rate} tx/s (commit returns on the primary → the replica's ${name}-pos shows its TXID, polled every ~1 ms; ${ms / 1000} s a run)`;
  const p50s = [];
  const p99s = [];
  for (let r = 0; r < runs; r++) {
    const watcher = probe(["watch", join(replica.mnt, `${name}-pos`), String(ms + 3000)], /^watching/);
    await watcher.ready;
    const { commits } = await probe(["write", join(primary.mnt, name), String(rate), String(ms)]).done;
    const { seen } = await watcher.done;
    const at = new Map(seen);
    const lags = [];
    let missing = 0;
    for (const [txid, committed] of commits) {
      const shown = at.get(txid);
      if (shown === undefined) missing++;
      else lags.push(Math.max(0, shown - committed));
    }
    lags.sort((a, b) => a - b);
    const p = (q) => lags[Math.min(lags.length - 1, Math.floor(q * lags.length))];
    p50s.push(p(0.5));
    p99s.push(p(0.99));
    bench.row(`${table}: every run`, {
      run: r + 1,
      commits: commits.length,
      "tx/s": commits.length / (ms / 1000),
      "p50 ms": p(0.5),
      "p99 ms": p(0.99),
      "max ms": lags.at(-1),
      "not seen": missing,
    });
  }
  bench.row(table, { "p50 ms median": median(p50s), "p50 ms best": Math.min(...p50s), "p99 ms median": median(p99s), "p99 ms best": Math.min(...p99s), "target p50 ms": 20, runs });
}

/** Runs the lag probe in its own process; `ready` resolves on a line matching `readyLine`; `quiet` drops its stderr. */
function probe(args, readyLine, quiet = false) {
  const child = spawn(process.execPath, [lagProbe, ...args], { stdio: ["ignore", "pipe", quiet ? "ignore" : "inherit"], cwd: here });
  let out = "";
  let onReady;
  const ready = new Promise((r) => (onReady = r));
  child.stdout.on("data", (chunk) => {
    out += chunk;
    if (readyLine && readyLine.test(out)) onReady();
  });
  const done = new Promise((resolve, reject) =>
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out.trim().split("\n").at(-1))) : reject(new Error(`lag probe ${args.join(" ")} exited with ${code}`)))),
  );
  return { ready, done };
}

async function waitFor(check, what, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function failover(bench, runs) {
  const etcd = await startEtcd();
  const root = join(bench.scratch, "etcd");
  const nodes = [];
  try {
    const lease =
      (name) =>
      ({ url }) =>
        `lease:\n  type: etcd\n  hostname: ${name}\n  advertise-url: ${url}\n  candidate: true\n  etcd: {endpoints: ["${etcd.clientUrl}"], key: /litefs/bench, ttl: 3s}`;
    for (const name of ["node1", "node2", "node3"]) nodes.push(await startNode(bench.repo, root, name, lease(name)));
    const db = "failover.db";
    const times = [];
    for (let r = 0; r < runs; r++) {
      let primary;
      await waitFor(async () => {
        for (const node of nodes) if (await isPrimary(node)) primary = node;
        return primary !== undefined;
      }, "a primary");
      await run("sqlite3", [join(primary.mnt, db), "PRAGMA journal_mode=wal; CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t(v) VALUES ('before');"]);
      for (const node of nodes) await waitFor(() => posTxid(node.mnt, db) === posTxid(primary.mnt, db), `${db} on ${node.name}`);
      // a writer at 100 tx/s on the primary while it dies
      const load = probe(["write", join(primary.mnt, db), "100", "60000"], undefined, true); // dies with the mount
      load.done.catch(() => {});
      await new Promise((r) => setTimeout(r, 500));
      const killed = performance.now();
      primary.process.kill();
      const others = nodes.filter((n) => n !== primary);
      let took;
      while (took === undefined && performance.now() - killed < 20_000) {
        for (const node of others) {
          if (!(await isPrimary(node))) continue;
          try {
            await run("sqlite3", [join(node.mnt, db), `PRAGMA busy_timeout=200; INSERT INTO t(v) VALUES ('after ${r}');`]);
            took = { node, ms: performance.now() - killed };
            break;
          } catch {
            // not writable yet
          }
        }
        if (took === undefined) await new Promise((res) => setTimeout(res, 20));
      }
      if (took === undefined) throw new Error("no node took a write within 20 s of the kill");
      times.push(took.ms);
      bench.log(`failover run ${r + 1}: ${Math.round(took.ms)} ms (${primary.name} → ${took.node.name})`);
      await primary.process.exited;
      await primary.restart(); // rejoins as a replica
    }
    bench.row("kill -9 of the primary (writing at 100 tx/s) → first write on a new primary, 3 daemons on etcd, TTL 3 s", {
      "ms median": median(times),
      "ms best": Math.min(...times),
      "ms worst": Math.max(...times),
      "target ms (TTL + 1 s)": TTL_MS + 1000,
      "× target": median(times) / (TTL_MS + 1000),
      "every run": times.map((t) => Math.round(t)).join(" "),
      runs: times.length,
    });
  } finally {
    for (const node of nodes) await node.stop().catch(() => {});
    await etcd.stop();
  }
}

/** One primary under `--cpu-prof` with WAL+FULL writes; self time summed by where the code lives. */
async function profile(bench, ms) {
  const root = join(bench.scratch, "profile");
  const profDir = join(root, "prof");
  const node = await startNode(bench.repo, root, "profiled", ({ url }) => `lease: {type: static, hostname: profiled, advertise-url: "${url}", candidate: true}`, {
    nodeArgs: ["--cpu-prof", "--cpu-prof-dir", profDir],
  });
  let txs = 0;
  let exitAt = 0;
  node.process.exited.then(() => (exitAt = performance.now()));
  const loadStart = performance.now();
  let loadEnd = loadStart;
  try {
    const { ops } = await sqliteLoad(["write", join(node.mnt, "p.db"), "wal", "full", String(Math.max(ms, 3000))]);
    txs = ops;
    loadEnd = performance.now();
  } finally {
    await node.stop();
  }
  const file = readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) {
    bench.note("profile: the daemon wrote no .cpuprofile");
    return;
  }
  const prof = JSON.parse(readFileSync(join(profDir, file), "utf8"));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const buckets = new Map();
  const functions = new Map();
  const deltas = prof.timeDeltas;
  // only the samples taken under the load: not the daemon's start, nor its stop
  // (the profile ends when the process exits; the times are µs on its own clock)
  const from = prof.endTime - (exitAt - loadStart) * 1000;
  const to = prof.endTime - (exitAt - loadEnd) * 1000;
  let at = prof.startTime;
  prof.samples.forEach((id, i) => {
    at += deltas[i] ?? 0;
    if (at < from || at > to) return;
    const frame = byId.get(id).callFrame;
    const bucket = bucketOf(frame);
    const msSample = (deltas[i + 1] ?? 0) / 1000; // the time until the next sample
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + msSample);
    const fn = `${frame.functionName || "(anonymous)"} ${frame.url ? `${frame.url.split("/").slice(-2).join("/")}:${frame.lineNumber + 1}` : ""}`.trim();
    functions.set(fn, (functions.get(fn) ?? 0) + msSample);
  });
  for (const [fn, msSelf] of [...functions]
    .filter(([fn]) => !fn.startsWith("(idle)"))
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)) {
    bench.row("daemon CPU profile: the 12 functions with the most self time", { function: fn, ms: msSelf, "µs/tx": (msSelf * 1000) / txs });
  }
  const busy = [...buckets].filter(([b]) => b !== "(idle)").reduce((s, [, v]) => s + v, 0);
  for (const [bucket, msSelf] of [...buckets].sort((a, b) => b[1] - a[1])) {
    bench.row(`daemon CPU profile (main thread self time, samples under the load only) under WAL+FULL writes, ${txs} transactions`, {
      where: bucket,
      ms: msSelf,
      "µs/tx": (msSelf * 1000) / txs,
      "% of busy": bucket === "(idle)" ? "" : (100 * msSelf) / busy,
    });
  }
  rmSync(profDir, { recursive: true, force: true });
}

function bucketOf(frame) {
  const url = frame.url ?? "";
  const m = url.match(/\/(packages|apps)\/([^/]+)\//);
  if (m) return `${m[1]}/${m[2]}`;
  if (url.includes("node_modules")) return `node_modules/${url.split("node_modules/").at(-1).split("/")[0]}`;
  if (url.startsWith("node:")) return "node internals";
  if (!url) return frame.functionName.startsWith("(") ? frame.functionName : "native/builtins";
  return "other";
}
