// The fuse suite's SQLite side, always in its own process (never the daemon's):
//   write <db> <journal_mode> <synchronous> <ms>       single-row write transactions
//   read <db> <ms> <rows> <reads per transaction>        point reads by primary key
// Prints one JSON line: { ops, seconds }.
import Database from "better-sqlite3";

const [cmd, path, ...args] = process.argv.slice(2);
const db = new Database(path, { timeout: 10_000 });
let ops = 0;
let seconds = 0;
if (cmd === "write") {
  const [mode, sync, ms] = args;
  db.pragma(`journal_mode=${mode}`);
  db.pragma(`synchronous=${sync}`);
  db.exec("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v TEXT)");
  const insert = db.prepare("INSERT INTO t(v) VALUES (?)");
  for (let i = 0; i < 50; i++) insert.run("warm up");
  const end = performance.now() + Number(ms);
  const start = performance.now();
  while (performance.now() < end) {
    insert.run(`row ${ops} ${"x".repeat(40)}`);
    ops++;
  }
  seconds = (performance.now() - start) / 1000;
} else if (cmd === "read") {
  const [ms, rows, perTx] = args.map(Number);
  const get = db.prepare("SELECT v FROM t WHERE id = ?");
  const batch = db.transaction((n) => {
    for (let i = 0; i < n; i++) get.get(1 + ((Math.random() * rows) | 0));
  });
  for (let i = 0; i < 2000; i++) get.get(1 + ((Math.random() * rows) | 0)); // warm: every page cached
  const end = performance.now() + ms;
  const start = performance.now();
  while (performance.now() < end) {
    if (perTx === 1) get.get(1 + ((Math.random() * rows) | 0));
    else batch(perTx);
    ops += perTx;
  }
  seconds = (performance.now() - start) / 1000;
}
db.close();
console.log(JSON.stringify({ ops, seconds }));
