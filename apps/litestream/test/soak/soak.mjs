#!/usr/bin/env node
// The soak (issue 8), run by its own command, never in CI:
//   pnpm --filter @sqlrep/litestream soak              # 30 minutes
//   node apps/litestream/test/soak/soak.mjs --minutes 5 # shorter, same phases
// `litestream replicate` (the built CLI) replicates a database to S3 (the testkit's s3rver,
// through its fault proxy) while a writer commits the deterministic history of
// ../e2e/model.mjs. Over the run, in order: application checkpoints (PASSIVE and TRUNCATE)
// all along, a VACUUM, replicate restarted gracefully, an S3 outage of a minute, the
// database replaced by another file (moved over it, its WAL removed), replicate killed -9
// and started again. Then 20 point-in-time restores at times spread over the run, each
// checked against the history: integrity_check ok, exactly the state after some
// transaction k, k began at or before T, and every transaction that returned more than
// one upload window before T is in it (before replicate stopped, for a T while it was
// down: commits nobody saw get the time they are found; for a T older than l0-retention
// when it is restored, two level-1 intervals before T, since level 0 is gone by then, as in
// Litestream v0.5). Exit 0 only if every check held.
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnProcess, startFaultProxy, startS3Server, stopAllProcesses, tempDir } from "@sqlrep/testkit";
import Database from "better-sqlite3";
import { modelRows } from "../e2e/model.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, "..", "..", "dist", "cli.js");
const WRITER = join(here, "..", "e2e", "writer.mjs");
const minutes = Number(process.argv[process.argv.indexOf("--minutes") + 1] ?? 30) || 30;
const SYNC_MS = 1000;
/** A restore lands on the newest restore point at or before T: at most one upload window, plus scheduling slack, earlier. */
const WINDOW_MS = SYNC_MS + 1500;
// Level-0 files go l0-retention after level 1 covers them (as in Litestream v0.5): a
// point older than that when restored is exact only to a level-1 interval.
const L0_RETENTION_MIN = 10;
const L1_INTERVAL_S = 30;

const log = (...a) => console.log(new Date().toISOString(), ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const tmp = tempDir("sqlrep-soak-");
const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
  log(ok ? "ok  " : "FAIL", what);
};

const s3 = await startS3Server();
const proxy = await startFaultProxy({ target: s3.endpoint, seed: 30 });
const env = {
  LITESTREAM_ACCESS_KEY_ID: s3.accessKeyId,
  LITESTREAM_SECRET_ACCESS_KEY: s3.secretAccessKey,
  AWS_ACCESS_KEY_ID: "",
  AWS_SECRET_ACCESS_KEY: "",
  LITESTREAM_CONFIG: "/nonexistent",
  LOG_LEVEL: "",
};
const db = tmp.join("app.db");
const url = `s3://${s3.bucket}/soak?endpoint=${proxy.url}&region=${s3.region}&force-path-style=true`;
const config = tmp.join("litestream.yml");
writeFileSync(
  config,
  [
    "shutdown-sync-timeout: 30s",
    `l0-retention: ${L0_RETENTION_MIN}m`,
    "levels:",
    `  - interval: ${L1_INTERVAL_S}s`,
    "  - interval: 5m",
    "snapshot:",
    "  interval: 10m",
    `  retention: ${minutes + 60}m`,
    "dbs:",
    `  - path: ${db}`,
    "    min-checkpoint-page-count: 500",
    "    replicas:",
    `      - url: ${url}`,
    `        sync-interval: ${SYNC_MS}ms`,
    "",
  ].join("\n"),
);

/**
 * While replicate is not running, nobody sees commits happen: those made then get the
 * time replicate finds them after its restart (SQLite keeps no commit times), so a
 * restore to a time inside such a window lands at the last state before it.
 */
const downtimes = [];
/**
 * S3 outages: what was committed during one is uploaded after it, so a level-1 file (grouped
 * by upload time) can hold the outage's commits with a later timestamp: a coarse point up to
 * two level-1 intervals after an outage may land before it.
 */
const outages = [];
/** Every commit of every writer: i → when it began and returned (wall clock ms). */
const commits = new Map();
let writer;
async function startWriter(options = {}) {
  writer = await spawnProcess(process.execPath, [WRITER, db, JSON.stringify({ rate: 40, checkpointMode: "PASSIVE", ...options })], {
    name: "writer",
    ready: /^writer ready/,
    readyTimeoutMs: 20_000,
  });
  return writer;
}
function record(line) {
  const m = /^commit (\d+) (\d+\.\d+) (\d+\.\d+)$/.exec(line);
  if (m) commits.set(Number(m[1]), { started: Number(m[2]), returned: Number(m[3]) });
}
async function stopWriter() {
  writer.signal("SIGTERM");
  await writer.exited;
  for (const line of writer.output()) record(line);
}
async function replicate() {
  return spawnProcess(process.execPath, [CLI, "replicate", "-config", config], { name: "replicate", env, ready: /msg="replication started"/, readyTimeoutMs: 60_000 });
}

const started = Date.now();
const end = started + minutes * 60_000;
const at = (fraction) => started + fraction * minutes * 60_000;
const until = async (t) => {
  while (Date.now() < t) {
    await sleep(Math.min(5000, t - Date.now()));
    // Application checkpoints all along, PASSIVE and TRUNCATE in turn.
    if (writer && !writer.exitStatus) writer.signal("SIGUSR1");
  }
};

log(`soak: ${minutes} min, database ${db}, replica ${url}`);
let proc = await replicate();
await startWriter();

await until(at(0.15));
log("VACUUM");
{
  const c = new Database(db, { timeout: 30_000 });
  c.exec("VACUUM");
  c.close();
}

await until(at(0.3));
log("replicate restarted gracefully");
let down = Date.now();
proc.signal("SIGTERM");
check((await proc.exited).code === 0, "a graceful stop exits 0");
await sleep(2000);
proc = await replicate();
downtimes.push([down, Date.now()]);

await until(at(0.45));
log("S3 outage for a minute");
const outageFrom = Date.now();
proxy.setFaults({ failRate: 1, errorStatus: 503 });
await sleep(Math.min(60_000, minutes * 60_000 * 0.05));
proxy.clear();
outages.push([outageFrom, Date.now()]);

await until(at(0.6));
log("database replaced by another file");
await stopWriter();
const other = tmp.join("other.db");
{
  // Another file holding the database as it is (SQLite's backup API), so the history
  // continues from it; then moved over the live path, the old WAL removed.
  const c = new Database(db, { readonly: true });
  await c.backup(other);
  c.close();
}
rmSync(`${other}-wal`, { force: true });
rmSync(`${other}-shm`, { force: true });
renameSync(other, db);
rmSync(`${db}-wal`, { force: true });
rmSync(`${db}-shm`, { force: true });
await startWriter();

await until(at(0.75));
log("replicate killed -9, started again");
down = Date.now();
proc.signal("SIGKILL");
await proc.exited;
await sleep(3000);
proc = await replicate();
downtimes.push([down, Date.now()]);

await until(end);
await stopWriter();
await sleep(3000);
proc.signal("SIGTERM");
check((await proc.exited).code === 0, "the final stop exits 0 (everything uploaded)");

// 20 point-in-time restores, spread over the run (through the server directly).
const direct = `s3://${s3.bucket}/soak?endpoint=${s3.endpoint}&region=${s3.region}&force-path-style=true`;
const sorted = [...commits.entries()].sort((a, b) => a[0] - b[0]);
mkdirSync(tmp.join("restores"), { recursive: true });
const lastCommit = sorted.at(-1)?.[1].returned ?? Date.now();
for (let n = 1; n <= 20; n++) {
  // Spread over the time commits were made, from a few seconds in.
  const T = Math.floor(started + 5000 + ((lastCommit - started - 5000) * n) / 20);
  const out = tmp.join("restores", `r${n}.db`);
  const r = await runCli(["restore", "-integrity-check", "-timestamp", new Date(T).toISOString(), "-o", out, direct]);
  if (r.code !== 0) {
    check(false, `restore at ${new Date(T).toISOString()}: exit ${r.code}: ${r.stderr.trim()}`);
    continue;
  }
  const k = historyState(out);
  const kCommit = commits.get(k);
  const window = downtimes.find(([from, to]) => T >= from && T <= to + WINDOW_MS);
  const known = window === undefined ? T : window[0];
  const coarse = Date.now() - T > L0_RETENTION_MIN * 60_000;
  const outage = outages.find(([from, to]) => T >= from && T <= to + 2 * L1_INTERVAL_S * 1000);
  // A level-1 file carries the newest time of what it merged, so the one a restore takes
  // can end up to two intervals before T.
  const slack = WINDOW_MS + (coarse ? 2 * L1_INTERVAL_S * 1000 + (outage === undefined ? 0 : outage[1] - outage[0]) : 0);
  const mustHave =
    sorted
      .filter(([, c]) => c.returned < known - slack)
      .map(([i]) => i)
      .at(-1) ?? 0;
  const ok = k !== undefined && (k === 0 || (kCommit !== undefined && kCommit.started <= T + 1)) && k >= mustHave;
  check(
    ok,
    `restore at T+${((T - started) / 1000).toFixed(0)}s${window ? " (replicate was down)" : ""}${coarse ? ` (older than l0-retention: to a level-1 interval)` : ""} → k=${k} (must include ${mustHave}; k began ${kCommit ? (kCommit.started - T).toFixed(0) : "?"} ms after T)`,
  );
}

await stopAllProcesses();
await proxy.stop();
await s3.stop();
if (failures.length === 0) tmp.remove();
else log(`kept ${tmp.path} for inspection`);
log(failures.length === 0 ? `soak passed (${minutes} min, ${commits.size} commits)` : `soak FAILED: ${failures.length} check(s)`);
process.exit(failures.length === 0 ? 0 : 1);

/** The k whose history state the database is (integrity_check must pass), or undefined. */
function historyState(path) {
  const c = new Database(path, { readonly: true });
  try {
    if (c.pragma("integrity_check", { simple: true }) !== "ok") return undefined;
    const rows = c.prepare("SELECT id, v, h FROM t ORDER BY id").all();
    const k = rows.at(-1)?.id ?? 0;
    const expected = modelRows(k);
    const same = rows.length === expected.length && rows.every((r, i) => r.id === expected[i].id && r.v === expected[i].v && r.h === expected[i].h);
    return same ? k : undefined;
  } finally {
    c.close();
  }
}

async function runCli(args) {
  const { execFile } = await import("node:child_process");
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 300_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}
