// The replication half of the litestream suite: one tool, one replica kind, one run —
// a startup snapshot, sustained load, then isolated commits — measured from outside:
// CPU and RSS from /proc, lag from when replica objects appeared, requests from the S3 log.
import { copyFileSync, mkdirSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Rng } from "../../lib/measure.mjs";
import { startWriter } from "./children.mjs";
import { nowMs } from "./clock.mjs";
import { cpuSeconds, loadavg, machineBusySeconds, peakRssMiB } from "./proc.mjs";
import { classify, commitLags, DirectoryWatch, listReplica, replicaFor, s3ObjectWrites, s3RequestCounts, sumBy, walGenerations } from "./replica.mjs";
import { median, summarize } from "./stats.mjs";
import { startReplicate, writeConfig } from "./tools.mjs";
import { INSERT, orderRow, QUIET_MS, SCHEMA, SETTLE_MS } from "./workload.mjs";

const require = createRequire(import.meta.url);
const Database = require("better-sqlite3");

/** The database every replication run starts from: `seedRows` payments, WAL mode, the WAL checkpointed away. */
export function seedDatabase(bench, cfg) {
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
export async function replicationRun(bench, cfg, { tool, kind, rep, s3, seed }) {
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
