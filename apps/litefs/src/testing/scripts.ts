// SQLite client programs the tests run in their own node processes (never in the
// process that mounts: DESIGN.md "Process boundaries"), as ES module source text.

/**
 * Writer: `path mode sync count` — opens with better-sqlite3, sets the journal mode and
 * synchronous, then commits `count` transactions, each inserting a row into t and
 * bumping the counter in c. Prints the final count.
 */
export const WRITER = `
import Database from "better-sqlite3";
const [path, mode, sync, count, delayMs] = process.argv.slice(1);
const db = new Database(path, { timeout: 10000 });
db.pragma("journal_mode = " + mode);
db.pragma("synchronous = " + sync);
db.exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE IF NOT EXISTS c (n INTEGER); INSERT INTO c SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM c);");
const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
const bump = db.prepare("UPDATE c SET n = n + 1");
const tx = db.transaction((i) => { insert.run("row " + i + " " + "x".repeat(200)); bump.run(); });
for (let i = 0; i < Number(count); i++) {
  tx(i);
  if (Number(delayMs) > 0) await new Promise((r) => setTimeout(r, Number(delayMs)));
}
console.log(db.prepare("SELECT count(*) AS n FROM t").get().n);
db.close();
`;

/**
 * Long-open reader: \`path posFile ms\` — one connection kept open for \`ms\`; every few
 * ms one read transaction checks that t's row count equals c's counter (a torn
 * transaction breaks it), runs \`PRAGMA integrity_check\` every tenth time, and
 * notes the TXID in \`<db>-pos\`. Prints "reading" after its first read, then one
 * JSON summary.
 */
export const READER = `
import Database from "better-sqlite3";
import { readFileSync } from "node:fs";
const [path, posFile, ms] = process.argv.slice(1);
const db = new Database(path, { readonly: true, timeout: 10000 });
const count = db.prepare("SELECT (SELECT count(*) FROM t) AS rows, (SELECT n FROM c) AS n");
const check = db.prepare("PRAGMA integrity_check");
const read = db.transaction(() => count.get());
const txids = new Set();
let reads = 0, torn = 0, bad = 0, last = 0, backwards = 0;
const end = Date.now() + Number(ms);
let announced = false;
while (Date.now() < end) {
  const r = read();
  reads++;
  if (r.rows !== r.n) torn++;
  if (r.rows < last) backwards++;
  last = r.rows;
  if (reads % 10 === 0) { const c = check.all(); if (c.length !== 1 || c[0].integrity_check !== "ok") bad++; }
  txids.add(readFileSync(posFile, "utf8").split("/")[0]);
  if (!announced) { console.log("reading"); announced = true; }
  await new Promise((r) => setTimeout(r, 5));
}
console.log(JSON.stringify({ reads, torn, bad, backwards, txids: txids.size, last }));
db.close();
`;

/** Tries one write with better-sqlite3: prints the error's code and message, or "ok". */
export const TRY_WRITE = `
import Database from "better-sqlite3";
const db = new Database(process.argv[1], { timeout: 2000 });
try { db.exec("INSERT INTO t (v) VALUES ('from a replica')"); console.log("ok"); }
catch (err) { console.log(JSON.stringify({ code: err.code, message: err.message })); }
`;
