// The e2e writer, a process of its own: `node writer.mjs DB_PATH OPTIONS_JSON`.
// Commits the deterministic history of model.mjs from the transaction after the largest
// id in the database, one transaction at a time, paced at `rate` per second (0: as fast
// as it can), until `count` transactions or SIGTERM/SIGINT (the running transaction
// finishes first). For each commit it prints
//   commit <i> <startedMs> <returnedMs>
// (wall-clock ms with µs fractions: when BEGIN was issued and when COMMIT returned).
// Options: rate, count, quiet (no commit lines), checkpointAfter + checkpointMode (run
// `PRAGMA wal_checkpoint(MODE)` after that many transactions, or at the next transaction
// boundary after a SIGUSR1, and print its result), checkpointEvery (the same after every
// that many transactions; the summary counts them and their total and largest time),
// autocheckpoint (SQLite's wal_autocheckpoint; default 0: the replicator owns checkpoints).
import Database from "better-sqlite3";
import { prepareTransactions, SCHEMA } from "./model.mjs";

const [path, json] = process.argv.slice(2);
const options = { rate: 100, count: Infinity, quiet: false, autocheckpoint: 0, ...JSON.parse(json ?? "{}") };
const now = () => (performance.timeOrigin + performance.now()).toFixed(3);

let stopping = false;
let checkpointRequested = false;
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => (stopping = true));
process.on("SIGUSR1", () => (checkpointRequested = true));

// Our replicator takes the write lock for short moments (checkpoints): wait, don't fail.
const db = new Database(path, { timeout: 15_000 });
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
db.pragma(`wal_autocheckpoint = ${Number(options.autocheckpoint)}`);
db.exec(SCHEMA);
const run = prepareTransactions(db);
const first = Number(db.prepare("SELECT coalesce(max(id), 0) AS n FROM t").get().n) + 1;
console.log(`writer ready next=${first}`);

const t0 = performance.now();
let done = 0;
let i = first;
const checkpoints = { count: 0, busy: 0, totalMs: 0, maxMs: 0 };
while (!stopping && done < options.count) {
  if (options.rate > 0) {
    const due = t0 + (done * 1000) / options.rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else if (done % 50 === 0) await new Promise((r) => setImmediate(r)); // let signals in
    if (stopping) break;
  } else if (done % 200 === 0) {
    await new Promise((r) => setImmediate(r));
  }
  const started = now();
  run(i);
  const returned = now();
  if (!options.quiet) console.log(`commit ${i} ${started} ${returned}`);
  done++;
  i++;
  if (options.checkpointAfter === done || checkpointRequested || (options.checkpointEvery > 0 && done % options.checkpointEvery === 0)) {
    checkpointRequested = false;
    const t = performance.now();
    const result = db.pragma(`wal_checkpoint(${options.checkpointMode ?? "TRUNCATE"})`)[0];
    const ms = performance.now() - t;
    checkpoints.count++;
    checkpoints.busy += result.busy;
    checkpoints.totalMs += ms;
    checkpoints.maxMs = Math.max(checkpoints.maxMs, ms);
    if (!(options.checkpointEvery > 0)) console.log(`checkpoint ${options.checkpointMode ?? "TRUNCATE"} busy=${result.busy} log=${result.log} checkpointed=${result.checkpointed}`);
  }
}
db.close();
if (checkpoints.count > 0)
  console.log(`checkpoints count=${checkpoints.count} busy=${checkpoints.busy} totalMs=${checkpoints.totalMs.toFixed(1)} maxMs=${checkpoints.maxMs.toFixed(1)}`);
console.log(`writer done last=${i - 1} count=${done}`);
