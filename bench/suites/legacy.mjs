// Restoring a Litestream v0.3 replica: ours (`restoreLegacy` of @sqlrep/replica, through
// our CLI and in-process) against Litestream v0.3.13's own `restore`, on the same
// replica, in the same run. The replica is written by the real v0.3.13 binary: a
// ~200 MB database (bench/lib/sqlite-data.mjs) under `litestream replicate` with 10 ms
// monitor and sync intervals while a writer updates random rows, ~100 transactions a
// second, until the replica holds a few thousand WAL segments. It is built once into
// bench/.cache (a minute or so) and reused. Each tool restores it N times, alternating
// which goes first; outputs are compared byte for byte and checked with
// PRAGMA integrity_check. `--quick`: a 32 MiB database and ~600 segments.
import { execFile } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { createFileReplicaClient, listLegacyReplica, restoreLegacy } from "@sqlrep/replica";
import { lz4DecodeFrame } from "@sqlrep/ltx";
import { spawnProcess } from "@sqlrep/testkit";
import { MiB, Rng, RssPeak } from "../lib/measure.mjs";
import { realisticDatabase } from "../lib/sqlite-data.mjs";

const require = createRequire(import.meta.url);
const Database = require("better-sqlite3");
const exec = promisify(execFile);

/** Bump when the replica generator changes. */
const VERSION = 1;
const FULL = { dbBytes: 191 * MiB, segments: 3000, runs: 3 };
const QUICK = { dbBytes: 32 * MiB, segments: 600, runs: 2 };
const TIME = "/usr/bin/time";

export default async function run(bench) {
  const cfg = bench.quick ? QUICK : FULL;
  const litestream = join(bench.repo, "node_modules", "@flydotio", "litestream-linux-x64", "litestream");
  const cli = join(bench.repo, "apps", "litestream", "dist", "litestream.js");
  for (const [file, why] of [
    [litestream, "npm @flydotio/litestream-linux-x64"],
    [cli, "run `pnpm turbo run build`"],
    [TIME, "Debian package `time`"],
  ]) {
    if (!existsSync(file)) throw new Error(`cannot compare: ${file} is missing (${why})`);
  }

  const { replica, meta } = await cachedReplica(bench, cfg, litestream);
  const client = createFileReplicaClient(replica);
  const listing = await listLegacyReplica(client);
  const g = listing.generations[listing.generations.length - 1];
  const wal = g.segments.reduce((n, s) => n + s.size, 0);
  const indexes = new Set(g.segments.map((s) => s.index)).size;
  const table = `restore of a Litestream v0.3 replica in a directory: ${(meta.dbBytes / 1e6).toFixed(1)} MB database, ${g.segments.length} WAL segments in ${indexes} WAL indexes (${(meta.walBytes / 1e6).toFixed(0)} MB of WAL, ${(wal / 1e6).toFixed(0)} MB compressed), snapshot ${(g.snapshots[0].size / 1e6).toFixed(0)} MB compressed — wall seconds, lower is better`;
  bench.note(
    `replica written by Litestream v0.3.13 (monitor-interval 10ms, sync-interval 10ms, default checkpoint thresholds) while a better-sqlite3 writer updated 4 random orders and inserted 1 event per transaction; ${meta.transactions} transactions`,
  );

  const out = (name) => join(bench.scratch, `${name}.db`);
  const results = { theirs: [], cli: [], lib: [] };
  const tools = {
    theirs: async (o) => timed([litestream, "restore", "-o", o, `file://${replica}`]),
    cli: async (o) => timed([process.execPath, cli, "restore", "-o", o, `file://${replica}`]),
    lib: async (o) => {
      const peak = new RssPeak();
      const t0 = performance.now();
      await restoreLegacy(client, { output: o, onProgress: () => peak.sample() });
      const seconds = (performance.now() - t0) / 1000;
      return { seconds, rssMiB: peak.result().peak };
    },
  };
  for (let rep = 0; rep < cfg.runs; rep++) {
    const order = rep % 2 === 0 ? ["theirs", "cli", "lib"] : ["lib", "cli", "theirs"];
    for (const tool of order) {
      const o = out(`${tool}-${rep}`);
      results[tool].push(await tools[tool](o));
      bench.log(`${tool} run ${rep + 1}: ${results[tool].at(-1).seconds.toFixed(2)} s`);
      if (rep > 0) rmSync(o);
    }
  }

  // Same bytes from both tools, and a sound database.
  const ours = readFileSync(out("cli-0"));
  if (Buffer.compare(ours, readFileSync(out("theirs-0"))) !== 0) throw new Error("our restore and Litestream v0.3.13's differ");
  if (Buffer.compare(ours, readFileSync(out("lib-0"))) !== 0) throw new Error("the CLI's and the library's restores differ");
  const db = new Database(out("cli-0"), { readonly: true });
  const integrity = db.pragma("integrity_check", { simple: true });
  const rows = db.prepare("SELECT count(*) AS n FROM orders").get().n;
  db.close();
  if (integrity !== "ok") throw new Error(`integrity_check of the restored database: ${integrity}`);
  bench.note(`outputs byte-identical (${(ours.length / 1e6).toFixed(1)} MB), integrity_check ok, ${rows} orders`);

  const best = (tool) => results[tool].reduce((a, r) => (r.seconds < a.seconds ? r : a));
  const ref = best("theirs");
  const row = (what, r) => ({ what, seconds: r.seconds, "× Litestream": r.seconds / ref.seconds, "peak RSS MiB": r.rssMiB, runs: cfg.runs });
  bench.row(table, row("Litestream v0.3.13 `restore` (Go; SQLite checkpoint per index, 8 downloads in parallel)", ref));
  bench.row(table, row("sqlrep `litestream restore` (CLI process, Node start-up included)", best("cli")));
  bench.row(table, row("sqlrep restoreLegacy (in-process library call)", best("lib")));
  bench.note(
    "× Litestream = our seconds ÷ Litestream's (below 1: faster); peak RSS: /usr/bin/time for processes, RSS sampled during the call in-process (includes the bench process)",
  );
}

/** Runs a command under /usr/bin/time: wall seconds and peak RSS. */
async function timed(argv) {
  const { stderr } = await exec(TIME, ["-f", "%e %M", ...argv], { maxBuffer: 64 * MiB });
  const [seconds, kib] = stderr.trim().split("\n").at(-1).split(" ").map(Number);
  return { seconds, rssMiB: kib / 1024 };
}

/** The replica (and its facts), built by Litestream v0.3.13 unless already in the cache. */
async function cachedReplica(bench, cfg, litestream) {
  const dir = join(bench.cache, `legacy-v${VERSION}-${cfg.dbBytes / MiB}MiB-${cfg.segments}`);
  const metaFile = join(dir, "meta.json");
  if (existsSync(metaFile)) return { replica: join(dir, "replica"), meta: JSON.parse(readFileSync(metaFile, "utf8")) };
  rmSync(dir, { recursive: true, force: true });
  const work = join(bench.scratch, "build");
  mkdirSync(work, { recursive: true });
  const source = join(work, "app.db");
  copyFileSync(realisticDatabase(bench.cache, cfg.dbBytes, bench.log), source);
  const setup = new Database(source);
  setup.pragma("journal_mode = WAL");
  const maxOrder = setup.prepare("SELECT max(id) AS n FROM orders").get().n;
  setup.close();
  const replica = join(work, "replica");
  const config = join(work, "litestream.yml");
  writeFileSync(
    config,
    ["dbs:", `  - path: ${source}`, "    monitor-interval: 10ms", "    replicas:", "      - type: file", `        path: ${replica}`, "        sync-interval: 10ms", ""].join("\n"),
  );
  bench.log(`building a v0.3 replica with Litestream v0.3.13 (${cfg.segments} WAL segments)`);
  const proc = await spawnProcess(litestream, ["replicate", "-config", config], { name: "litestream-v0.3.13", ready: /snapshot written/, readyTimeoutMs: 120_000 });
  const db = new Database(source, { timeout: 5000 });
  const rng = new Rng(0x1e9acc);
  const update = db.prepare("UPDATE orders SET status = ?, amount_cents = amount_cents + 1 WHERE id = ?");
  const event = db.prepare("INSERT INTO events (ts, kind, user_id, data) VALUES (?, 'export', 1, ?)");
  const tx = db.transaction((n) => {
    for (let i = 0; i < 4; i++) update.run(["paid", "shipped", "delivered"][rng.below(3)], 1 + rng.below(maxOrder));
    event.run(n, `{"n":${n}}`);
  });
  const segments = () => {
    let n = 0;
    for (const d of readdirSync(join(replica, "generations"))) {
      const wal = join(replica, "generations", d, "wal");
      if (existsSync(wal)) n += readdirSync(wal).length;
    }
    return n;
  };
  let transactions = 0;
  try {
    while (segments() < cfg.segments) {
      for (let i = 0; i < 25; i++) {
        tx(++transactions);
        await sleep(10);
      }
    }
  } finally {
    db.close();
    await proc.stop(30_000);
  }
  const generations = readdirSync(join(replica, "generations"));
  if (generations.length !== 1) throw new Error(`expected one generation, found ${generations.length}`);
  const walBytes = await uncompressedWal(join(replica, "generations", generations[0], "wal"));
  const meta = { dbBytes: statSync(source).size, transactions, walBytes };
  mkdirSync(dir, { recursive: true });
  cpSync(replica, join(dir, "replica"), { recursive: true, preserveTimestamps: true });
  writeFileSync(metaFile, JSON.stringify(meta));
  return { replica: join(dir, "replica"), meta };
}

/** Decompressed bytes of every segment, for the table title. */
async function uncompressedWal(dir) {
  let total = 0;
  for (const name of readdirSync(dir)) total += lz4DecodeFrame(readFileSync(join(dir, name))).data.length;
  return total;
}
