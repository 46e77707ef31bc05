// A separate writer process for the engine's tests: one better-sqlite3 connection
// driven by JSON lines on stdin, answering one JSON line per request on stdout.
import { createInterface } from "node:readline";
import Database from "better-sqlite3";

let db;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const ops = {
  open({ path, pageSize = 4096, autocheckpoint = 0, journalMode = "wal", busyTimeout = 5000 }) {
    db = new Database(path);
    db.pragma(`busy_timeout = ${busyTimeout}`);
    if (pageSize) db.pragma(`page_size = ${pageSize}`);
    db.pragma(`journal_mode = ${journalMode}`);
    db.pragma(`wal_autocheckpoint = ${autocheckpoint}`);
    return db.pragma("page_size", { simple: true });
  },
  exec({ sql }) {
    db.exec(sql);
    return true;
  },
  pragma({ sql }) {
    return db.pragma(sql);
  },
  query({ sql }) {
    return db.prepare(sql).all();
  },
  // `count` transactions of `rows` rows of `size` random-ish bytes each.
  insert({ count = 1, rows = 1, size = 100, table = "t" }) {
    const stmt = db.prepare(`INSERT INTO ${table} (v) VALUES (?)`);
    const tx = db.transaction(() => {
      for (let i = 0; i < rows; i++) stmt.run(randomText(size));
    });
    for (let i = 0; i < count; i++) tx();
    return db.prepare(`SELECT max(rowid) AS n FROM ${table}`).get().n;
  },
  // Sustained single-row transactions at `rate` per second for `seconds`; with
  // `checkpointEvery`, a `mode` checkpoint after every that many commits, each timed (how
  // long an application's checkpoint waits for our read mark while commits stream in).
  async load({ rate = 200, seconds = 2, size = 100, table = "t", checkpointEvery = 0, mode = "TRUNCATE" }) {
    const stmt = db.prepare(`INSERT INTO ${table} (v) VALUES (?)`);
    const start = Date.now();
    const total = Math.round(rate * seconds);
    const waits = [];
    let busy = 0;
    for (let i = 0; i < total; i++) {
      stmt.run(randomText(size));
      if (checkpointEvery > 0 && (i + 1) % checkpointEvery === 0) {
        const t0 = performance.now();
        busy += db.pragma(`wal_checkpoint(${mode})`)[0].busy;
        waits.push(performance.now() - t0);
      }
      const due = start + ((i + 1) * 1000) / rate;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
    }
    return { count: total, ms: Date.now() - start, waits, busy };
  },
  // Keeps committing (and checkpointing in `mode`, if given) until `ms` elapsed.
  async race({ ms = 1000, mode, size = 200, table = "t" }) {
    const stmt = db.prepare(`INSERT INTO ${table} (v) VALUES (?)`);
    const end = Date.now() + ms;
    let count = 0;
    while (Date.now() < end) {
      stmt.run(randomText(size));
      count++;
      if (mode !== undefined && count % 7 === 0) {
        const t0 = Date.now();
        const r = db.pragma(`wal_checkpoint(${mode})`);
        if (process.env.SQLREP_WRITER_TRACE) process.stderr.write(`ckpt ${mode} ${JSON.stringify(r)} ${Date.now() - t0}ms\n`);
      }
      await sleep(0);
    }
    return count;
  },
  close() {
    db?.close();
    db = undefined;
    return true;
  },
};

let seed = 1;
function randomText(size) {
  let s = "";
  while (s.length < size) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    s += seed.toString(36);
  }
  return s.slice(0, size);
}

const lines = createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on("line", (line) => {
  queue = queue.then(async () => {
    const { id, op, ...args } = JSON.parse(line);
    try {
      const result = await ops[op](args);
      process.stdout.write(`${JSON.stringify({ id, ok: true, result })}\n`);
    } catch (err) {
      process.stdout.write(`${JSON.stringify({ id, ok: false, error: String(err?.message ?? err) })}\n`);
    }
  });
});
lines.on("close", () => {
  queue.then(() => {
    db?.close();
    process.exit(0);
  });
});
process.stdout.write("ready\n");
