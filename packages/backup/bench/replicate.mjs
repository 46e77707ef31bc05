// The backup engine next to Litestream v0.3.13 (the real Go binary from npm
// @flydotio/litestream-linux-x64), same workload, same kind of replica (a directory),
// each replicator in its own process, the writer in a third:
//   - latency: a commit after a quiet spell (1.5 s) until a new file is in the replica;
//   - idle: CPU and files written over 5 s without writes;
//   - sustained: 200 single-row transactions per second for 10 s: CPU per 1000
//     transactions, files written (PUTs), replica bytes.
// Defaults on both sides (sync interval 1 s). Run after a build:
//   pnpm turbo run build --filter @sqlrep/backup... && node packages/backup/bench/replicate.mjs
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const WRITER = join(here, "../src/testing/writer-child.mjs");
const ENGINE = join(here, "engine-child.mjs");
const LITESTREAM = join(here, "../../../node_modules/@flydotio/litestream-linux-x64/litestream");
const quick = process.argv.includes("--quick");
const LATENCY_SAMPLES = quick ? 5 : 15;
const SUSTAINED_SECONDS = quick ? 4 : 10;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TICK_MS = 10; // USER_HZ = 100 on Linux

function start(command, args, name) {
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
  const lines = [];
  const waiters = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => {
      lines.push(line);
      if (process.env.BENCH_ECHO) console.log(`[${name}] ${line}`);
      for (const w of [...waiters]) if (w.test(line)) waiters.splice(waiters.indexOf(w), 1), w.resolve(line);
    });
  }
  return {
    child,
    lines,
    waitFor: (test) => new Promise((resolve) => waiters.push({ test, resolve })),
  };
}

class Writer {
  constructor(path) {
    this.p = start(process.execPath, [WRITER], "writer");
    this.id = 0;
    this.path = path;
  }
  async request(op, args = {}) {
    const id = ++this.id;
    const reply = this.p.waitFor((l) => l.startsWith(`{"id":${id},`));
    this.p.child.stdin.write(`${JSON.stringify({ id, op, ...args })}\n`);
    const r = JSON.parse(await reply);
    if (!r.ok) throw new Error(r.error);
    return r.result;
  }
  close() {
    this.p.child.stdin.end();
  }
}

/** CPU time (user + system) of a process, ms. */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** Every file ever seen under `dir` (polled every 2 ms), with a callback on each new one. */
function watchFiles(dir) {
  const seen = new Map();
  let onNew = () => {};
  const walk = (d) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!seen.has(p) && !/tmp/.test(e.name)) {
        seen.set(p, Date.now());
        onNew(p);
      }
    }
  };
  const timer = setInterval(() => walk(dir), 2);
  return {
    seen,
    next: () => new Promise((resolve) => (onNew = (p) => ((onNew = () => {}), resolve(p)))),
    stop: () => clearInterval(timer),
  };
}

function bytesUnder(dir) {
  let total = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else total += statSync(p).size;
    }
  };
  if (existsSync(dir)) walk(dir);
  return total;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function run(kind) {
  const dir = mkdtempSync(join(tmpdir(), `bench-${kind}-`));
  const db = join(dir, "app.db");
  const replica = join(dir, "replica");
  const writer = new Writer(db);
  await writer.p.waitFor((l) => l === "ready");
  await writer.request("open", { path: db, autocheckpoint: 1000 });
  await writer.request("exec", { sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, at REAL)" });
  await writer.request("insert", { count: 100 });

  let proc;
  if (kind === "sqlrep") {
    proc = start(process.execPath, [ENGINE, db, replica], kind);
    await proc.waitFor((l) => l === "ready");
  } else {
    const config = join(dir, "litestream.yml");
    writeFileSync(config, `dbs:\n  - path: ${db}\n    replicas:\n      - type: file\n        path: ${replica}\n`);
    proc = start(LITESTREAM, ["replicate", "-config", config], kind);
  }
  const files = watchFiles(replica);
  await sleep(3000); // initial snapshot and first sync settle

  const latencies = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    await sleep(1500);
    const next = files.next();
    const [row] = await writer.request("query", { sql: "INSERT INTO t (v, at) VALUES ('x', unixepoch('subsec') * 1000) RETURNING at" });
    await next;
    latencies.push(Date.now() - row.at);
  }

  await sleep(1500);
  let cpu0 = cpuMs(proc.child.pid);
  let files0 = files.seen.size;
  await sleep(5000);
  const idle = { cpuMs: cpuMs(proc.child.pid) - cpu0, files: files.seen.size - files0 };

  cpu0 = cpuMs(proc.child.pid);
  files0 = files.seen.size;
  const load = await writer.request("load", { rate: 200, seconds: SUSTAINED_SECONDS, size: 100 });
  await sleep(2000); // the last sync interval
  const sustained = { commits: load.count, seconds: load.ms / 1000, cpuMs: cpuMs(proc.child.pid) - cpu0, files: files.seen.size - files0 };

  proc.child.kill("SIGTERM");
  await new Promise((r) => proc.child.once("exit", r));
  files.stop();
  writer.close();
  const bytes = bytesUnder(replica);
  rmSync(dir, { recursive: true, force: true });
  return { latencies, idle, sustained, replicaBytes: bytes };
}

console.log(`${cpus()[0]?.model ?? "cpu"} × ${cpus().length}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
const results = {};
for (const kind of ["sqlrep", "litestream"]) {
  if (kind === "litestream" && !existsSync(LITESTREAM)) {
    console.log(`(Litestream v0.3.13 not installed at ${LITESTREAM}: skipped)`);
    continue;
  }
  results[kind] = await run(kind);
}
const rows = [
  ["", ...Object.keys(results)],
  ["commit → file in replica, p50 (ms)", ...Object.values(results).map((r) => median(r.latencies))],
  ["commit → file in replica, max (ms)", ...Object.values(results).map((r) => Math.max(...r.latencies))],
  ["idle 5 s: CPU (ms)", ...Object.values(results).map((r) => r.idle.cpuMs)],
  ["idle 5 s: files written", ...Object.values(results).map((r) => r.idle.files)],
  [`sustained ${SUSTAINED_SECONDS} s at 200 tx/s: CPU per 1000 tx (ms)`, ...Object.values(results).map((r) => Math.round((r.sustained.cpuMs / r.sustained.commits) * 1000))],
  [`sustained: files written (PUTs)`, ...Object.values(results).map((r) => r.sustained.files)],
  ["replica bytes at the end", ...Object.values(results).map((r) => r.replicaBytes)],
];
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
for (const r of rows) console.log(r.map((c, i) => String(c).padEnd(widths[i])).join("  "));
