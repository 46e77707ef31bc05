/**
 * `replicate -once` (with `-force-snapshot`, `-enforce-retention`) through the built CLI:
 * real SQLite written by another process, a directory replica, restores compared.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { tempDir } from "@sqlrep/testkit";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, readDatabase, runCli } from "./testing/seed.js";

const built = existsSync(CLI);
const WRITER = fileURLToPath(new URL("./testing/writer.mjs", import.meta.url));
const tmp = tempDir("sqlrep-litestream-once-");
afterAll(() => tmp.remove());

/** A new WAL-mode database with an empty table t(id, v), in its own directory. */
function walDatabase(name: string): string {
  mkdirSync(tmp.join(name));
  const path = tmp.join(name, "app.db");
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  db.close();
  return path;
}

/** `rows` single-row transactions from another process. */
async function write(path: string, rows: number): Promise<void> {
  await promisify(execFile)(process.execPath, [WRITER, path, String(rows)], { timeout: 60_000 });
}

/** The replica's files of one level, by name. */
function level(replica: string, n: number): string[] {
  const dir = `${replica}/ltx/${n}`;
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** Restores the replica and expects exactly the rows of `db`. */
async function expectRestored(replica: string, db: string): Promise<void> {
  const out = tmp.join(`restored-${Math.random().toString(36).slice(2)}.db`);
  const r = await runCli(["restore", "-o", out, `file://${replica}`]);
  expect(r.code).toBe(0);
  expect(readDatabase(out).rows).toEqual(readDatabase(db).rows);
}

describe.skipIf(!built)(`replicate -once${built ? "" : " — needs a build"}`, () => {
  it("syncs, exits 0; -force-snapshot adds a snapshot, -enforce-retention prunes the old ones", async () => {
    const db = walDatabase("once");
    const replica = tmp.join("once-replica");
    await write(db, 20);
    const first = await runCli(["replicate", "-once", db, `file://${replica}`]);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/msg="replica synced" db=\S+ replica=file txid=0000000000000001/);
    expect(first.stdout).toContain('msg="one-shot replication complete"');
    expect(level(replica, 9)).toEqual(["0000000000000001-0000000000000001.ltx"]);
    await expectRestored(replica, db);

    await write(db, 10);
    const config = tmp.join("once.yml");
    writeFileSync(config, ["snapshot:", "  retention: 1ms", "dbs:", `  - path: ${db}`, "    replica:", `      path: ${replica}`, ""].join("\n"));
    const second = await runCli(["replicate", "-once", "-force-snapshot", "-config", config]);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/msg="snapshot written" db=\S+ replica=file txid=0000000000000002/);
    expect(level(replica, 9)).toEqual(["0000000000000001-0000000000000001.ltx", "0000000000000001-0000000000000002.ltx"]);
    await expectRestored(replica, db);

    await write(db, 5);
    const third = await runCli(["replicate", "-once", "-force-snapshot", "-enforce-retention", "-config", config]);
    expect(third.code).toBe(0);
    expect(third.stdout).toMatch(/msg="retention enforced" db=\S+ replica=file deleted=[1-9]/);
    expect(level(replica, 9)).toEqual(["0000000000000001-0000000000000003.ltx"]);
    await expectRestored(replica, db);
  }, 60_000);

  it("a replica that cannot be written: non-zero, naming the database and the replica", async () => {
    const db = walDatabase("once-fail");
    await write(db, 3);
    const blocker = tmp.join("not-a-dir");
    writeFileSync(blocker, "x");
    const r = await runCli(["replicate", "-once", db, `file://${blocker}/replica`], { timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: sync database ${db}: replica file: ENOTDIR`);
  }, 40_000);

  it("-force-snapshot and -enforce-retention need -once; -once excludes -exec", async () => {
    const db = walDatabase("once-usage");
    for (const [flags, message] of [
      [["-force-snapshot"], "cannot specify -force-snapshot flag without -once"],
      [["-enforce-retention"], "cannot specify -enforce-retention flag without -once"],
      [["-once", "-exec", "true"], "cannot specify -once flag with -exec"],
    ] as const) {
      const r = await runCli(["replicate", ...flags, db, `file://${tmp.join("usage-replica")}`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`error: ${message}`);
    }
  }, 30_000);
});
