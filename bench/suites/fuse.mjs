// @sqlrep/fuse: single-row write transactions per second through the mount against
// the same workload on a plain directory and on a bare fuse-native passthrough, in
// WAL+NORMAL, WAL+FULL and DELETE+FULL; then point reads on a warm replica mount
// against the same database read from a plain directory. The writer and the readers
// are separate processes (better-sqlite3), the mounts child daemons (DESIGN.md).
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { fuseUnavailableReason, spawnProcess, unmountFuse } from "@sqlrep/testkit";

const here = dirname(fileURLToPath(import.meta.url));
const load = join(here, "fuse", "sqlite-load.mjs");

export default async function run(bench) {
  const skip = fuseUnavailableReason();
  if (skip) {
    bench.note(`fuse suite skipped: ${skip}`);
    return;
  }
  const fusePkg = join(bench.repo, "packages", "fuse");
  const { buildTesting } = await import(pathToFileURL(join(fusePkg, "scripts", "build-testing.mjs")).href);
  const harness = await import(pathToFileURL(join(buildTesting(), "testing", "harness.js")).href);

  const runs = bench.quick ? 2 : 3;
  const ms = bench.quick ? 1000 : 2500;
  const started = [];
  const stopAll = async () => {
    for (const target of started.reverse()) await target.stop().catch(() => {});
  };
  try {
    const plain = join(bench.scratch, "plain");
    mkdirSync(plain);
    const passthrough = await startPassthrough(bench.scratch);
    started.push(passthrough);
    const ltx = await harness.startTestDaemon({ role: "primary", name: "mount-ltx" });
    started.push(ltx);
    const bare = await harness.startTestDaemon({ role: "primary", name: "mount-discard", discard: true });
    started.push(bare);
    const targets = [
      { name: "plain directory (the reference)", dir: plain },
      { name: "fuse-native 2.2.6 passthrough", dir: passthrough.mountpoint },
      { name: "@sqlrep/fuse + LTX test backend", dir: ltx.mountpoint, daemon: ltx },
      { name: "@sqlrep/fuse, commits discarded", dir: bare.mountpoint, daemon: bare },
    ];

    for (const [mode, sync] of [
      ["wal", "normal"],
      ["wal", "full"],
      ["delete", "full"],
    ]) {
      const table = `single-row write transactions/s, journal_mode=${mode} synchronous=${sync} (writer in its own process, ${ms / 1000} s a run)`;
      const results = new Map(targets.map((t) => [t, []]));
      const ops = new Map();
      for (let r = 0; r < runs; r++) {
        // interleaved, so a slow spell of the shared machine hits every target alike
        for (const target of targets) {
          const db = join(target.dir, `w-${mode}-${sync}.db`);
          const before = target.daemon ? (await target.daemon.send("stats")).stats : undefined;
          const { ops: txs, seconds } = await sqliteLoad(["write", db, mode, sync, String(ms)]);
          results.get(target).push(txs / seconds);
          if (before) {
            const after = (await target.daemon.send("stats")).stats;
            ops.set(target, perTransaction(before, after));
          }
          bench.log(`${mode}+${sync} ${target.name}: ${Math.round(txs / seconds)} tx/s`);
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
          "every run": values.map((v) => Math.round(v)).join(" "),
          runs: values.length,
        });
      }
      for (const [target, per] of ops) bench.row("FUSE requests per transaction (the mount's own count)", { workload: `${mode}+${sync}`, target: target.name, ...per });
    }
    await stopAll();
    started.length = 0;

    await replicaReads(bench, harness, runs, ms, started);
  } finally {
    await stopAll();
  }
}

async function replicaReads(bench, harness, runs, ms, started) {
  const rows = 20_000;
  const primary = await harness.startTestDaemon({ role: "primary", name: "read-primary" });
  started.push(primary);
  const replica = await harness.startTestDaemon({ role: "replica", name: "read-replica", ltxDir: primary.ltxDir, primaryHostname: "primary" });
  started.push(replica);
  for (const mode of ["wal", "delete"]) {
    const name = `r-${mode}.db`;
    fill(join(primary.mountpoint, name), mode, rows);
    await replica.send("sync");
    // the same bytes on a plain directory: the replica's own file, copied
    const plainDir = join(dirname(replica.dataDir), "plain-reads");
    mkdirSync(plainDir, { recursive: true });
    const plainDb = join(plainDir, name);
    writeFileSync(plainDb, readFileSync(join(replica.dataDir, "dbs", name, "database")));
    for (const perTx of [1, 100]) {
      const table = `point reads/s on a warm replica, journal_mode=${mode}, ${rows} rows (reader in its own process, ${ms / 1000} s a run)`;
      const results = { plain: [], replica: [] };
      for (let r = 0; r < runs; r++) {
        for (const [key, db] of [
          ["plain", plainDb],
          ["replica", join(replica.mountpoint, name)],
        ]) {
          const { ops, seconds } = await sqliteLoad(["read", db, String(ms), String(rows), String(perTx)]);
          results[key].push(ops / seconds);
        }
      }
      for (const key of ["plain", "replica"]) {
        const values = results[key];
        bench.row(table, {
          target: key === "plain" ? "plain directory (the reference)" : "@sqlrep/fuse replica mount",
          "reads per transaction": perTx,
          "reads/s median": median(values),
          "reads/s best": Math.max(...values),
          "cost × plain": median(results.plain) / median(values),
          "every run": values.map((v) => Math.round(v)).join(" "),
          runs: values.length,
        });
      }
    }
    rmSync(plainDb, { force: true });
  }
}

/** Fills `path` with `rows` rows of t in the given journal mode (the sqlite3 shell). */
export function fill(path, mode, rows) {
  const sql = `PRAGMA journal_mode=${mode}; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows}) INSERT INTO t SELECT i, printf('value %d %s', i, hex(randomblob(30))) FROM n;`;
  execFileSync("sqlite3", [path], { input: sql, stdio: ["pipe", "ignore", "inherit"] });
}

async function startPassthrough(scratch) {
  const source = join(scratch, "passthrough-src");
  const mountpoint = join(scratch, "passthrough-mnt");
  mkdirSync(source);
  mkdirSync(mountpoint);
  const proc = await spawnProcess(process.execPath, [join(here, "fuse", "passthrough.mjs"), source, mountpoint], { name: "passthrough", ready: /^ready /, readyTimeoutMs: 15_000 });
  return {
    mountpoint,
    async stop() {
      await proc.stop(5_000);
      unmountFuse(mountpoint);
    },
  };
}

/** Runs fuse/sqlite-load.mjs in its own process; resolves with its `{ ops, seconds }`. */
export function sqliteLoad(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [load, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out.trim().split("\n").at(-1))) : reject(new Error(`sqlite-load ${args.join(" ")} exited with ${code}`))));
  });
}

function perTransaction(before, after) {
  const commits = after.commit - before.commit;
  const out = { transactions: commits };
  for (const key of ["getattr", "lookup", "setattr", "create", "open", "read", "write", "flush", "release", "fsync", "unlink", "setlk", "getlk"]) {
    const n = (after[key] - before[key]) / commits;
    if (n >= 0.01) out[key] = n;
  }
  out["JS wait µs"] = (after.jsWaitNs - before.jsWaitNs) / Math.max(1, after.jsWaits - before.jsWaits) / 1000;
  return out;
}

/** The median of `values`. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
