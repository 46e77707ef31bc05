// A better-sqlite3 host process: loads the extension, then runs JSON commands read from
// stdin (one a line) and answers each with one JSON line on stdout. Errors are answers,
// never a crash: the tests check the host survives every failure.
import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const require = createRequire(new URL("../../package.json", import.meta.url));
const Database = require("better-sqlite3");
const [extension] = process.argv.slice(2);
const dbs = new Map();
let loader;

function answer(id, body) {
  process.stdout.write(`${JSON.stringify({ id, ...body })}\n`);
}

function run(cmd) {
  switch (cmd.op) {
    case "load":
      loader = new Database(":memory:");
      loader.loadExtension(extension);
      return {};
    case "open": {
      const db = new Database(cmd.path ?? "file:app.db?vfs=litestream", { timeout: cmd.timeout ?? 0 });
      dbs.set(cmd.db ?? "main", db);
      return {};
    }
    case "all":
      return {
        rows: dbs
          .get(cmd.db ?? "main")
          .prepare(cmd.sql)
          .raw(Boolean(cmd.raw))
          .all(...(cmd.params ?? [])),
      };
    case "run":
      return {
        result: dbs
          .get(cmd.db ?? "main")
          .prepare(cmd.sql)
          .run(...(cmd.params ?? [])),
      };
    case "exec":
      dbs.get(cmd.db ?? "main").exec(cmd.sql);
      return {};
    case "loop": {
      // Times `sql` run once per parameter set, in this process (no IPC in the figure).
      const stmt = dbs.get(cmd.db ?? "main").prepare(cmd.sql);
      const start = process.hrtime.bigint();
      let rows = 0;
      for (const params of cmd.each) rows += stmt.all(...params).length;
      return { ns: Number(process.hrtime.bigint() - start), rows };
    }
    case "pragma":
      return { value: dbs.get(cmd.db ?? "main").pragma(cmd.sql, { simple: true }) };
    case "close":
      dbs.get(cmd.db ?? "main").close();
      dbs.delete(cmd.db ?? "main");
      return {};
    case "exit":
      for (const db of dbs.values()) db.close();
      process.exit(0);
      break;
    default:
      throw new Error(`unknown op ${cmd.op}`);
  }
}

console.log("host ready");
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const cmd = JSON.parse(line);
  try {
    answer(cmd.id, { ok: true, ...run(cmd) });
  } catch (err) {
    answer(cmd.id, { ok: false, error: { code: err.code, message: err.message } });
  }
}
