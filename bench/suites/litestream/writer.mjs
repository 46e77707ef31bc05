// The application process of the litestream suite (forked with IPC): one better-sqlite3
// connection that commits one `payments` row per transaction on a schedule, and records
// for every commit when COMMIT returned and where the commit ends in the WAL.
//
// Where a commit ends: after COMMIT returns, the WAL-index header in the `-shm` file
// (SQLite's `WalIndexHdr`, native byte order: mxFrame at byte 16, page size at 14, the
// WAL salts at 32–39 as stored in the WAL header, big-endian) gives the last valid
// frame and the salts of the WAL it belongs to; end = 32 + mxFrame × (24 + page size).
// The `-wal` file's size would not do: after a checkpoint SQLite restarts the WAL from
// its beginning without shrinking the file. (salt1, salt2, end) identifies the commit
// in both tools' replicas: our level-0 LTX headers carry the WAL salts, offset and size
// of their frames; Litestream's segment names carry the offset within a WAL index whose
// first segment starts with the WAL header (and its salts).
//
// Message in: { type: "run", first, count, intervalsMs } commits rows first…first+count-1,
//   the i-th one intervalsMs[i] (or intervalsMs[0] when shorter) after the previous one
//   was due: a fixed schedule that does not drift (a late commit is not made up for by
//   skipping, the next one is simply due sooner).
// Message out: { type: "done", commits: [{ k, t, ms, salt1, salt2, end }] } with t the
//   monotonic time (clock.mjs) when COMMIT returned and ms how long it took.
import { closeSync, openSync, readSync } from "node:fs";
import { createRequire } from "node:module";
import { setTimeout as sleep } from "node:timers/promises";
import { nowMs } from "./clock.mjs";
import { INSERT, orderRow } from "./workload.mjs";

const require = createRequire(import.meta.url);
const Database = require("better-sqlite3");

const dbPath = process.argv[2];
if (!dbPath) throw new Error("usage: writer.mjs <database>");

const db = new Database(dbPath, { fileMustExist: true, timeout: 30_000 });
db.pragma("journal_mode = WAL");
// The replicator owns checkpoints (Litestream's advice for busy databases; our engine's model).
db.pragma("wal_autocheckpoint = 0");
db.pragma("synchronous = NORMAL");
const insert = db.prepare(INSERT);
const pageSize = Number(db.pragma("page_size", { simple: true }));
let shm;
const header = Buffer.alloc(96);

/** The end of the last commit in the WAL and the WAL's salts, from the WAL-index header. */
function walEnd() {
  shm ??= openSync(`${dbPath}-shm`, "r");
  // SQLite writes the header twice (bytes 0–47 and 48–95); a torn read shows them different.
  for (let attempt = 0; ; attempt++) {
    readSync(shm, header, 0, 96, 0);
    if (header.compare(header, 0, 48, 48, 96) === 0 || attempt === 10) break;
  }
  const mxFrame = header.readUInt32LE(16);
  return { salt1: header.readUInt32BE(32), salt2: header.readUInt32BE(36), end: 32 + mxFrame * (pageSize + 24) };
}

async function run({ first, count, intervalsMs }) {
  const commits = [];
  let due = nowMs();
  for (let i = 0; i < count; i++) {
    due += intervalsMs[i] ?? intervalsMs[0];
    const wait = due - nowMs();
    if (wait > 1) await sleep(wait);
    const k = first + i;
    const row = orderRow(k);
    const t0 = nowMs();
    insert.run(row);
    const t = nowMs();
    commits.push({ k, t, ms: t - t0, ...walEnd() });
  }
  return commits;
}

process.on("message", (m) => {
  if (m.type !== "run") return;
  run(m).then(
    (commits) => process.send({ type: "done", commits }),
    (err) => process.send({ type: "failed", message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
process.on("disconnect", () => {
  if (shm !== undefined) closeSync(shm);
  db.close();
  process.exit(0);
});
process.send({ type: "ready", pid: process.pid });
