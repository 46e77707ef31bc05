// The litefs suite's lag probe, always in its own process:
//   write <db> <tx/s> <ms>   single-row commits at a fixed rate; prints one JSON line
//                            { commits: [[txid, wall ms], …] } (the commit's return time)
//   watch <pos file> <ms>    polls a replica's `<db>-pos` every ~1 ms; prints one JSON
//                            line { seen: [[txid, wall ms], …] } (first time each TXID shows)
// Wall ms are performance.timeOrigin + performance.now(), comparable across processes.
import { readFileSync } from "node:fs";
import Database from "better-sqlite3";

const [cmd, path, ...args] = process.argv.slice(2);
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const readTxid = (file) => {
  try {
    return Number.parseInt(readFileSync(file, "utf8").split("/")[0], 16);
  } catch {
    return 0;
  }
};

if (cmd === "write") {
  const [rate, ms] = args.map(Number);
  const db = new Database(path, { timeout: 10_000 });
  db.pragma("journal_mode=wal");
  db.pragma("synchronous=normal");
  db.exec("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v TEXT)");
  const insert = db.prepare("INSERT INTO t(v) VALUES (?)");
  const commits = [];
  const start = now();
  const interval = 1000 / rate;
  for (let i = 0; now() - start < ms; i++) {
    const due = start + i * interval;
    if (due > now()) await sleep(due - now());
    insert.run(`lag ${i} ${"x".repeat(40)}`);
    const at = now();
    // the TXID this commit made, from the primary's own -pos
    commits.push([readTxid(`${path}-pos`), at]);
  }
  db.close();
  console.log(JSON.stringify({ commits }));
} else if (cmd === "watch") {
  const [ms] = args.map(Number);
  const seen = [];
  let last = readTxid(path);
  const end = now() + ms;
  console.log("watching");
  while (now() < end) {
    const txid = readTxid(path);
    if (txid > last) {
      const at = now();
      // every TXID up to this one is visible from now on
      for (let t = last + 1; t <= txid; t++) seen.push([t, at]);
      last = txid;
    }
    await sleep(1);
  }
  console.log(JSON.stringify({ seen }));
}
