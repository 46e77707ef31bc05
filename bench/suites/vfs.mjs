// The VFS (apps/vfs: litestream-vfs.so + its page server) on a large database in S3: the
// bench's realistic database (users, orders, events, 4 KiB pages) replicated by our
// `litestream replicate` into testkit's s3rver (its own process), read through the
// testkit fault proxy adding 20 ms to every request, as a real object store's network
// would. Measured, each next to its reference in the same run:
//   1. a cold point lookup (fresh page server): ranged GETs and wall time, against the
//      B-tree depth of the table (target: at most depth + 2 GETs);
//   2. warm point lookups against the same queries on the local file (target ≤ 2×), with
//      SQLite's default page cache and with a 64 MiB one;
//   3. a full scan of the orders table against the local file;
//   4. hydration MB/s against `litestream restore` of the same replica (target ≥ 1×).
// Size: BENCH_VFS_MB (default 1024; --quick: 64). The input database and the S3 objects
// are cached in bench/.cache.
import { execFileSync, fork } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { spawnProcess, startFaultProxy } from "@sqlrep/testkit";
import { MiB, mbps } from "../lib/measure.mjs";
import { realisticDatabase } from "../lib/sqlite-data.mjs";

const FULL = { mb: Number(process.env.BENCH_VFS_MB ?? 1024), cold: 3, lookups: 2000, runs: 3, scans: 1, hydrations: 2 };
const QUICK = { mb: Number(process.env.BENCH_VFS_MB ?? 64), cold: 2, lookups: 500, runs: 2, scans: 2, hydrations: 2 };
const LATENCY_MS = 20;

export default async function run(bench) {
  const cfg = bench.quick ? QUICK : FULL;
  const paths = {
    extension: join(bench.repo, "apps/vfs/lib/litestream-vfs.so"),
    server: join(bench.repo, "apps/vfs/dist/server.js"),
    host: join(bench.repo, "apps/vfs/src/testing/host.mjs"),
    cli: join(bench.repo, "apps/litestream/dist/cli.js"),
    s3server: join(bench.repo, "bench/suites/litestream/s3-server.mjs"),
  };
  for (const [what, path] of Object.entries(paths)) {
    if (!existsSync(path)) {
      bench.note(`skipped: ${what} missing at ${path} (pnpm build)`);
      return;
    }
  }
  const bytes = cfg.mb * MiB;
  const source = realisticDatabase(bench.cache, bytes, bench.log);
  const dbBytes = statSync(source).size;
  const depth = btreeDepth(source, "orders");
  const maxId = Number(execFileSync("sqlite3", [source, "SELECT max(id) FROM orders"], { encoding: "utf8" }).trim());
  const ordersBytes = Number(execFileSync("sqlite3", [source, "SELECT sum(pgsize) FROM dbstat WHERE name = 'orders'"], { encoding: "utf8" }).trim());
  bench.note(`database: ${(dbBytes / MiB).toFixed(0)} MiB (4 KiB pages), orders table ${(ordersBytes / MiB).toFixed(0)} MiB, ${maxId} rows, B-tree depth ${depth}`);

  const s3Dir = join(bench.cache, `vfs-s3-${cfg.mb}MiB-v1`);
  const s3 = await startS3(paths.s3server, s3Dir);
  const proxy = await startFaultProxy({ target: s3.endpoint });
  const runtimes = [];
  try {
    if (!existsSync(join(s3Dir, ".complete"))) await uploadReplica(bench, paths, source, s3);
    writeFileSync(join(s3Dir, ".complete"), "");
    proxy.setFaults({ latencyMs: LATENCY_MS });
    const url = `s3://${s3.bucket}/app.db?endpoint=${proxy.url}&region=${s3.region}&force-path-style=true`;
    const baseEnv = {
      LITESTREAM_REPLICA_URL: url,
      LITESTREAM_ACCESS_KEY_ID: s3.accessKeyId,
      LITESTREAM_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_ACCESS_KEY_ID: "",
      AWS_SECRET_ACCESS_KEY: "",
      SQLREP_VFS_IDLE_TIMEOUT: "2m",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    };
    const fresh = (extra = {}) => {
      const runtime = mkdtempSync("/tmp/vfsb-");
      chmodSync(runtime, 0o700);
      runtimes.push(runtime);
      return { ...baseEnv, SQLREP_VFS_RUNTIME_DIR: runtime, ...extra };
    };
    bench.note(`S3: s3rver in its own process behind the fault proxy (+${LATENCY_MS} ms per request); "GETs" are ranged object reads, LIST/HEAD counted apart`);

    // 1. Cold point lookups.
    const ids = randomIds(cfg.lookups, maxId, 0x5eed);
    for (let i = 0; i < cfg.cold; i++) {
      const env = fresh();
      await s3.take();
      const t0 = performance.now();
      const host = await Host.start(paths, env);
      await host.ok({ op: "open" });
      const openMs = performance.now() - t0;
      const openReq = classify(await s3.take());
      const t1 = performance.now();
      const { rows } = await host.ok({ op: "all", sql: "SELECT id, user_id, amount_cents FROM orders WHERE id = ?", params: [ids[i]] });
      const queryMs = performance.now() - t1;
      const queryReq = classify(await s3.take());
      if (rows.length !== 1) throw new Error(`order ${ids[i]} not found through the VFS`);
      bench.row("cold point lookup (fresh page server), lower is better", {
        run: i + 1,
        "open ms": openMs,
        "open GETs": openReq.gets,
        "open LIST/HEAD": openReq.other,
        "lookup ms": queryMs,
        "lookup GETs": queryReq.gets,
        "B-tree depth": depth,
        "target GETs ≤": depth + 2,
      });
      await host.exit();
      await stopServers(env.SQLREP_VFS_RUNTIME_DIR);
    }

    // 2. Warm point lookups: the same ids, the VFS and the local file, each in a host process.
    const vfsEnv = fresh();
    const vfs = await Host.start(paths, vfsEnv);
    await vfs.ok({ op: "open" });
    const local = await Host.start(paths, { ...baseEnv, SQLREP_VFS_RUNTIME_DIR: vfsEnv.SQLREP_VFS_RUNTIME_DIR });
    await local.ok({ op: "open", path: source });
    const each = ids.map((id) => [id]);
    const lookup = "SELECT id, user_id, amount_cents, status FROM orders WHERE id = ?";
    // The extension gives its connections a 32 MiB page cache (SQLite's own); the local file
    // gets the same. Then 2 MB (sqlite3's default) set by the application, where each page
    // SQLite does not hold is a round trip to the page server.
    const [[opened]] = (await vfs.ok({ op: "all", sql: "PRAGMA cache_size" })).rows;
    for (const [cache, size] of [
      [`as opened (${opened} KiB)`, opened],
      ["2 MB, set by the application", -2000],
    ]) {
      for (const h of [vfs, local]) await h.ok({ op: "exec", sql: `PRAGMA cache_size = ${size}` });
      const timed = async (host) => {
        await host.ok({ op: "loop", sql: lookup, each }); // warms SQLite's cache and the page server's
        let best = Infinity;
        for (let r = 0; r < cfg.runs; r++) best = Math.min(best, (await host.ok({ op: "loop", sql: lookup, each })).ns);
        return best / each.length / 1000;
      };
      const ours = await timed(vfs);
      const theirs = await timed(local);
      bench.row("warm point lookup, µs per query (best of N), lower is better", {
        "SQLite page cache": cache,
        queries: each.length,
        "VFS µs": ours,
        "local file µs": theirs,
        "× local file": ours / theirs,
        target: "≤ 2",
        runs: cfg.runs,
      });
    }
    const same = [[ids[0]]];
    const sameOurs = (await vfs.ok({ op: "loop", sql: lookup, each: Array(20000).fill(same[0]) })).ns / 20000 / 1000;
    const sameLocal = (await local.ok({ op: "loop", sql: lookup, each: Array(20000).fill(same[0]) })).ns / 20000 / 1000;
    bench.row("warm point lookup, µs per query (best of N), lower is better", {
      "SQLite page cache": "one key, repeated",
      queries: 20000,
      "VFS µs": sameOurs,
      "local file µs": sameLocal,
      "× local file": sameOurs / sameLocal,
      target: "≤ 2",
      runs: 1,
    });
    await vfs.exit();
    await stopServers(vfsEnv.SQLREP_VFS_RUNTIME_DIR);

    // 3. Full scan of orders: a fresh page server (cold) against the local file (page cache warm).
    const scan = "SELECT count(*), sum(length(items)), sum(amount_cents) FROM orders";
    for (let r = 0; r < cfg.scans; r++) {
      const env = fresh();
      const host = await Host.start(paths, env);
      await host.ok({ op: "open" });
      await s3.take();
      const t0 = performance.now();
      const got = await host.ok({ op: "all", sql: scan });
      const ms = performance.now() - t0;
      const req = classify(await s3.take());
      const t1 = performance.now();
      const want = await local.ok({ op: "all", sql: scan });
      const localMs = performance.now() - t1;
      if (JSON.stringify(got.rows) !== JSON.stringify(want.rows)) throw new Error(`scan through the VFS gave ${JSON.stringify(got.rows)}, the file ${JSON.stringify(want.rows)}`);
      bench.row("full scan of orders (cold page server vs local file)", {
        run: r + 1,
        "VFS s": ms / 1000,
        "VFS MB/s": mbps(ordersBytes, ms),
        GETs: req.gets,
        "local s": localMs / 1000,
        "× local file (time)": ms / localMs,
      });
      await host.exit();
      await stopServers(env.SQLREP_VFS_RUNTIME_DIR);
    }
    await local.exit();

    // 4. Hydration against `litestream restore`, one after the other.
    for (let r = 0; r < cfg.hydrations; r++) {
      const out = join(bench.scratch, `restored-${r}.db`);
      const t0 = performance.now();
      const restored = await runCli(paths.cli, ["restore", "-o", out, url], baseEnv);
      const restoreMs = performance.now() - t0;
      if (restored.code !== 0) throw new Error(`litestream restore failed: ${restored.stderr}`);
      rmSync(out, { force: true });

      const hydrated = join(bench.scratch, `hydrated-${r}.db`);
      const env = fresh({ LITESTREAM_HYDRATION_ENABLED: "true", LITESTREAM_HYDRATION_PATH: hydrated });
      const t1 = performance.now();
      const host = await Host.start(paths, env);
      await host.ok({ op: "open" });
      for (;;) {
        const { value } = await host.ok({ op: "pragma", sql: "litestream_hydration_progress" });
        if (value === "100.0") break;
        await sleep(25);
      }
      const hydrateMs = performance.now() - t1;
      const log = readdirSync(env.SQLREP_VFS_RUNTIME_DIR)
        .filter((f) => f.endsWith(".log"))
        .map((f) => readFileSync(join(env.SQLREP_VFS_RUNTIME_DIR, f), "utf8"))
        .join("");
      const inServer = Number(/msg=hydrated .*seconds=([\d.]+)/.exec(log)?.[1] ?? NaN) * 1000;
      bench.row("hydration vs litestream restore (same replica, same proxy), MB/s of database", {
        run: r + 1,
        "restore s (CLI process)": restoreMs / 1000,
        "restore MB/s": mbps(dbBytes, restoreMs),
        "hydration s (open → 100%)": hydrateMs / 1000,
        "hydration MB/s": mbps(dbBytes, hydrateMs),
        "× restore": restoreMs / hydrateMs,
        "restore part in server s": inServer / 1000,
        target: "≥ 1",
      });
      await host.exit();
      await stopServers(env.SQLREP_VFS_RUNTIME_DIR);
      rmSync(hydrated, { force: true });
    }
    bench.note(`proxy requests: ${JSON.stringify(proxy.stats)}`);
  } finally {
    for (const runtime of runtimes) await stopServers(runtime).catch(() => undefined);
    await proxy.stop();
    await s3.stop();
    for (const runtime of runtimes) rmSync(runtime, { recursive: true, force: true });
  }
}

/** Depth of a table's B-tree: root = 1, leaves = the deepest level (overflow pages left out). */
function btreeDepth(db, table) {
  const out = execFileSync("sqlite3", [db, `SELECT max(length(path) - length(replace(path, '/', ''))) FROM dbstat WHERE name = '${table}' AND pagetype != 'overflow'`], {
    encoding: "utf8",
  });
  return Number(out.trim());
}

function randomIds(n, max, seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: n }, () => 1 + Math.floor(next() * max));
}

/** Ranged GETs of objects vs listings and HEADs, with bytes of the GETs. */
function classify(requests) {
  let gets = 0;
  let other = 0;
  let bytes = 0;
  for (const r of requests) {
    if (r.method === "GET" && !r.query.includes("list-type")) {
      gets++;
      bytes += r.bytes;
    } else other++;
  }
  return { gets, other, bytes };
}

/** Our `litestream replicate` uploads the database's snapshot to the S3 server once (cached). */
async function uploadReplica(bench, paths, source, s3) {
  bench.log("replicating the database to S3 (once; cached in bench/.cache)");
  const dir = join(bench.scratch, "upload");
  mkdirSync(dir, { recursive: true });
  const db = join(dir, "app.db");
  copyFileSync(source, db);
  execFileSync("sqlite3", [db, "PRAGMA journal_mode = WAL"]);
  const url = `s3://${s3.bucket}/app.db?endpoint=${s3.endpoint}&region=${s3.region}&force-path-style=true`;
  const proc = await spawnProcess(process.execPath, [paths.cli, "replicate", db, url], {
    name: "replicate",
    env: { LITESTREAM_ACCESS_KEY_ID: s3.accessKeyId, LITESTREAM_SECRET_ACCESS_KEY: s3.secretAccessKey, LOG_LEVEL: "", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    ready: /msg="replication started"/,
    readyTimeoutMs: 60_000,
  });
  await proc.waitForLine(/msg="snapshot uploaded"/, 30 * 60_000);
  proc.signal("SIGTERM");
  await proc.exited;
  rmSync(dir, { recursive: true, force: true });
}

/** A better-sqlite3 host process (apps/vfs/src/testing/host.mjs) driven with JSON lines. */
class Host {
  constructor(handle) {
    this.handle = handle;
    this.next = 0;
  }

  static async start(paths, env) {
    const handle = await spawnProcess(process.execPath, [paths.host, paths.extension], { env, stdin: "pipe", ready: /^host ready$/, name: "host" });
    const host = new Host(handle);
    await host.ok({ op: "load" });
    return host;
  }

  async ok(cmd) {
    const id = ++this.next;
    const from = this.handle.output().length;
    this.handle.stdin.write(`${JSON.stringify({ id, raw: true, ...cmd })}\n`);
    const line = await this.handle.waitForLine((l) => l.startsWith(`{"id":${id},`), 30 * 60_000, from);
    const r = JSON.parse(line);
    if (!r.ok) throw new Error(`host: ${cmd.op} ${cmd.sql ?? ""} failed: ${r.error?.code} ${r.error?.message}`);
    return r;
  }

  async exit() {
    this.handle.stdin.write(`${JSON.stringify({ op: "exit" })}\n`);
    await this.handle.exited;
  }
}

/** SIGTERM to the page servers of a runtime dir, waiting for them to go. */
async function stopServers(runtime) {
  if (!existsSync(runtime)) return;
  for (const f of readdirSync(runtime).filter((n) => n.endsWith(".pid"))) {
    const pid = Number(readFileSync(join(runtime, f), "utf8"));
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      continue;
    }
    for (let i = 0; i < 200; i++) {
      try {
        process.kill(pid, 0);
        await sleep(50);
      } catch {
        break;
      }
    }
  }
}

async function runCli(cli, args, env) {
  const handle = await spawnProcess(process.execPath, [cli, ...args], { env, name: "litestream" });
  const status = await handle.exited;
  const out = handle.output().join("\n");
  return { code: status.code, stderr: out };
}

async function startS3(script, directory) {
  mkdirSync(directory, { recursive: true });
  const child = fork(script, [directory], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const info = await reply(child, "ready");
  return {
    ...info,
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
    };
    const onExit = (code) => done(() => reject(new Error(`s3 server exited with ${code} before "${type}"`)));
    const done = (fn) => {
      child.off("message", onMessage);
      child.off("exit", onExit);
      fn();
    };
    child.on("message", onMessage);
    child.on("exit", onExit);
  });
}
