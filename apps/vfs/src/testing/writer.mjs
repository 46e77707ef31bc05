// A writer process: `node writer.mjs DB RATE [COUNT]` creates t(id, v) in WAL mode if
// needed, then inserts one row per transaction at RATE per second (COUNT rows, or until
// SIGTERM), printing `commit <id> <ms>` after each COMMIT returned.
import { createRequire } from "node:module";

const require = createRequire(new URL("../../package.json", import.meta.url));
const Database = require("better-sqlite3");
const [path, rate, count] = process.argv.slice(2);
const db = new Database(path, { timeout: 5000 });
db.pragma("journal_mode = WAL");
db.exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
let stop = false;
process.on("SIGTERM", () => (stop = true));
console.log("writer ready");
const total = count === undefined ? Infinity : Number(count);
for (let i = 0; i < total && !stop; i++) {
  const { lastInsertRowid } = insert.run(`row ${"x".repeat(50 + (i % 200))}`);
  console.log(`commit ${lastInsertRowid} ${Date.now()}`);
  await new Promise((r) => setTimeout(r, 1000 / Number(rate)));
}
db.close();
console.log("writer done");
