// A separate writer process: `node writer.mjs DB_PATH ROWS [EXIT_CODE]` inserts ROWS rows
// into t(v), one transaction each, a few ms apart, then exits with EXIT_CODE.
import { createRequire } from "node:module";

const require = createRequire(new URL("../../package.json", import.meta.url));
const Database = require("better-sqlite3");
const [path, rows, exitCode] = process.argv.slice(2);
const db = new Database(path, { timeout: 5000 });
const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
for (let i = 0; i < Number(rows); i++) {
  insert.run(`writer row ${i} ${"y".repeat(200)}`);
  await new Promise((resolve) => setTimeout(resolve, 5));
}
db.close();
console.log(`writer wrote ${rows} rows`);
process.exit(Number(exitCode ?? 0));
