// SQLite in a separate process (better-sqlite3): workloads and probes the tests run
// against a mount. Prints one JSON line per result on stdout.
//   write <db> <journal_mode> <synchronous> <transactions>
//   bank <db> <journal_mode> <synchronous> <transfers>      (torn-read detector)
//   read-loop <db> <accounts>                               (long-open reader, stdin "stop")
//   try-write <db>
//   hold-read <db>       (a read transaction held open until stdin says "release")
import Database from "better-sqlite3";
import { createInterface } from "node:readline";

const [cmd, path, ...args] = process.argv.slice(2);
const out = (value: object) => process.stdout.write(`${JSON.stringify(value)}\n`);

function open(mode: string | undefined, sync: string | undefined): Database.Database {
  const db = new Database(path!, { timeout: 10_000 });
  if (mode) db.pragma(`journal_mode=${mode}`);
  if (sync) db.pragma(`synchronous=${sync}`);
  return db;
}

if (cmd === "write") {
  const db = open(args[0], args[1]);
  db.exec("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v TEXT)");
  const insert = db.prepare("INSERT INTO t(v) VALUES (?)");
  const n = Number(args[2]);
  for (let i = 0; i < n; i++) insert.run(`row ${i} ${"x".repeat(i % 200)}`);
  out({ committed: n + 1, count: (db.prepare("SELECT count(*) AS c FROM t").get() as { c: number }).c });
  db.close();
} else if (cmd === "bank") {
  // accounts on many pages; every transaction moves money between two of them, so a
  // reader that sees half a transaction sees the total change
  const db = open(args[0], args[1]);
  const accounts = 200;
  db.exec("CREATE TABLE IF NOT EXISTS acct(id INTEGER PRIMARY KEY, balance INTEGER, pad TEXT)");
  db.exec("CREATE TABLE IF NOT EXISTS seq(n INTEGER)");
  const fill = db.transaction(() => {
    for (let i = 0; i < accounts; i++) db.prepare("INSERT INTO acct VALUES (?, 1000, ?)").run(i, "p".repeat(300));
    db.prepare("INSERT INTO seq VALUES (0)").run();
  });
  if ((db.prepare("SELECT count(*) AS c FROM acct").get() as { c: number }).c === 0) fill();
  const move = db.prepare("UPDATE acct SET balance = balance + ? WHERE id = ?");
  const bump = db.prepare("UPDATE seq SET n = n + 1");
  const transfer = db.transaction((from: number, to: number, amount: number) => {
    move.run(-amount, from);
    move.run(amount, to);
    bump.run();
  });
  const n = Number(args[2]);
  for (let i = 0; i < n; i++) transfer(i % accounts, (i * 7 + 3) % accounts, (i % 13) + 1);
  out({ done: n });
  db.close();
} else if (cmd === "read-loop") {
  // one connection kept open for the whole run, as an app's would be
  const db = new Database(path!, { readonly: false, timeout: 10_000 });
  const total = Number(args[0]) * 1000;
  let stop = false;
  createInterface({ input: process.stdin }).on("line", (line) => {
    if (line === "stop") stop = true;
  });
  const seen: number[] = [];
  let reads = 0;
  let bad = 0;
  let integrityChecks = 0;
  const tick = () => {
    for (let i = 0; i < 20 && !stop; i++) {
      const row = db.prepare("SELECT (SELECT sum(balance) FROM acct) AS total, (SELECT n FROM seq) AS n").get() as { total: number; n: number };
      reads++;
      if (row.total !== total) {
        bad++;
        out({ torn: row });
      }
      if (seen.at(-1) !== row.n) {
        if (seen.length && row.n < seen.at(-1)!) out({ backwards: row.n, after: seen.at(-1) });
        seen.push(row.n);
        out({ n: row.n });
      }
    }
    if (reads % 200 < 20) {
      const check = db.pragma("integrity_check", { simple: true });
      integrityChecks++;
      if (check !== "ok") out({ integrity: check });
    }
    if (stop) {
      out({ done: true, reads, bad, integrityChecks, distinct: seen.length, last: seen.at(-1) ?? -1 });
      db.close();
      process.exit(0);
    }
    setImmediate(tick);
  };
  out({ started: true });
  tick();
} else if (cmd === "try-write") {
  try {
    const db = new Database(path!);
    db.exec("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v TEXT)");
    db.prepare("INSERT INTO t(v) VALUES ('from a replica')").run();
    out({ wrote: true, pid: process.pid });
  } catch (error) {
    out({ code: (error as { code?: string }).code, message: (error as Error).message, pid: process.pid });
  }
} else if (cmd === "hold-read") {
  const db = new Database(path!, { timeout: 10_000 });
  db.exec("BEGIN");
  const row = db.prepare("SELECT count(*) AS c FROM sqlite_master").get() as { c: number };
  out({ started: true, holding: row.c });
  createInterface({ input: process.stdin }).on("line", (line) => {
    if (line !== "release") return;
    db.exec("COMMIT");
    out({ released: true });
    db.close();
    process.exit(0);
  });
} else {
  process.stderr.write(`unknown command ${String(cmd)}\n`);
  process.exit(2);
}
