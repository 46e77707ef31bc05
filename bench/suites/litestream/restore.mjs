// The restore half of the litestream suite: each tool replicates a ~200 MB database and
// then restores it N times, timed under GNU time; every restore is checked and the two
// tools' results are compared with the source and with each other.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { realisticDatabase } from "../../lib/sqlite-data.mjs";
import { startWriter } from "./children.mjs";
import { cpuSeconds, loadavg, machineBusySeconds, peakRssMiB } from "./proc.mjs";
import { listReplica, replicaFor, s3RequestCounts, sumBy } from "./replica.mjs";
import { median } from "./stats.mjs";
import { runRestore, startReplicate, writeConfig } from "./tools.mjs";
import { SCHEMA, SETTLE_MS } from "./workload.mjs";

const require = createRequire(import.meta.url);
const Database = require("better-sqlite3");

/** The restore scenario's starting point: a realistic database (bench/lib/sqlite-data.mjs) of ~200 MB with the payments table, in WAL mode. */
export function restoreSource(bench, cfg) {
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

/** The user tables of a database (neither SQLite's nor Litestream's own). */
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

/** `PRAGMA integrity_check`'s answer ("ok" for a sound database). */
function integrityCheck(path) {
  const db = new Database(path, { readonly: true });
  try {
    return db
      .pragma("integrity_check")
      .map((r) => r.integrity_check)
      .join("; ");
  } finally {
    db.close();
  }
}

/** One tool, one replica kind: snapshot of the ~200 MB database, 5,000 transactions, stop, then `restore` N times. */
export async function restoreScenario(bench, cfg, { tool, kind, s3, source }) {
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
  // Ours checks the result with SQLite's quick_check by default (the integrity issue);
  // v0.3.13 checks nothing. The same restores without it are the like-for-like figure.
  const unchecked = [];
  if (tool.id === "ours") {
    for (let i = 0; i < cfg.restores; i++) {
      const out = join(dir, `restored-nocheck-${i}.db`);
      const r = await runRestore(tool, config, db, out, ["-integrity-check", "none"]);
      unchecked.push({ ms: r.ms, mbps: statSync(out).size / 1e3 / r.ms, cpu: r.cpuSeconds, peakRss: r.peakRssMiB });
      for (const suffix of ["", "-wal", "-shm"]) rmSync(out + suffix, { force: true });
    }
    await s3.take();
  }
  return {
    uncheckedMBps: unchecked.length > 0 ? median(unchecked.map((t) => t.mbps)) : undefined,
    uncheckedCpu: unchecked.length > 0 ? median(unchecked.map((t) => t.cpu)) : undefined,
    uncheckedRuns: unchecked,
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

/** Notes a failed check: a restore not sound, not equal to its source, or not equal to the other tool's. */
export function compareRestores(bench, pair) {
  const [a, b] = pair;
  const same = a.hash === b.hash;
  a.sameAsOther = b.sameAsOther = same;
  if (!same || !a.sameAsSource || !b.sameAsSource || a.integrity !== "ok" || b.integrity !== "ok") {
    bench.note(
      `restore check failed (${a.kind}): ${pair.map((r) => `${r.tool}: integrity ${r.integrity}, same as its source ${r.sameAsSource}`).join("; ")}; same as each other ${same}`,
    );
  }
}
