/** `litestream reset` through the built CLI: real SQLite, a directory replica, a running replicate. */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { spawnProcess, stopAllProcesses, tempDir } from "@sqlrep/testkit";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, readDatabase, runCli } from "./testing/seed.js";

const built = existsSync(CLI);
const WRITER = fileURLToPath(new URL("./testing/writer.mjs", import.meta.url));
const tmp = tempDir("sqlrep-litestream-reset-");
afterAll(async () => {
  await stopAllProcesses();
  tmp.remove();
});

function walDatabase(name: string): string {
  mkdirSync(tmp.join(name));
  const path = tmp.join(name, "app.db");
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  db.close();
  return path;
}

async function write(path: string, rows: number): Promise<void> {
  await promisify(execFile)(process.execPath, [WRITER, path, String(rows)], { timeout: 60_000 });
}

describe.skipIf(!built)(`litestream reset${built ? "" : " — needs a build"}`, () => {
  it("removes the local log (-dry-run only lists it); refused while replicate runs; replication goes on after it", async () => {
    const db = walDatabase("reset");
    const replica = `file://${tmp.join("reset-replica")}`;
    const logDir = tmp.join("reset", ".app.db-sqlrep", "ltx");
    expect(await runCli(["reset", db])).toMatchObject({
      code: 0,
      stdout: `No local state to reset for ${db}\nMeta directory does not exist: ${tmp.join("reset", ".app.db-sqlrep")}\n`,
    });

    await write(db, 10);
    expect((await runCli(["replicate", "-once", db, replica])).code).toBe(0);
    const files = readdirSync(logDir).sort();
    expect(files.length).toBeGreaterThan(0);
    const dry = await runCli(["reset", "-dry-run", db]);
    expect(dry).toMatchObject({ code: 0, stderr: "" });
    expect(dry.stdout).toBe(
      [
        `Dry run: local state would be reset for: ${db}`,
        `Would remove: ${logDir}`,
        "Files that would be removed:",
        ...files.map((f) => `  ${f}`),
        "No files were removed.",
        "",
      ].join("\n"),
    );
    expect(readdirSync(logDir).sort()).toEqual(files);

    const running = await spawnProcess(process.execPath, [CLI, "replicate", db, replica], {
      name: "litestream",
      env: { LOG_LEVEL: "" },
      ready: /msg="replication started"/,
      readyTimeoutMs: 30_000,
    });
    const refused = await runCli(["reset", db]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`error: cannot reset ${db}: ${db} is already being replicated by process ${running.pid}`);
    expect(readdirSync(logDir).sort()).toEqual(files);
    running.signal("SIGTERM");
    expect((await running.exited).code).toBe(0);

    const reset = await runCli(["reset", db]);
    expect(reset).toMatchObject({ code: 0, stderr: "" });
    expect(reset.stdout).toContain(`Resetting local state for: ${db}\nRemoved: ${logDir} (`);
    expect(existsSync(logDir)).toBe(false);
    expect(existsSync(db)).toBe(true);

    await write(db, 5);
    expect((await runCli(["replicate", "-once", db, replica])).code).toBe(0);
    const out = tmp.join("reset-restored.db");
    expect((await runCli(["restore", "-o", out, replica])).code).toBe(0);
    expect(readDatabase(out).rows).toEqual(readDatabase(db).rows);
    expect(readDatabase(out).rows).toHaveLength(15);
  }, 60_000);

  it("uses the config's meta-path; a database that does not exist is an error", async () => {
    const db = walDatabase("reset-meta");
    const meta = tmp.join("reset-meta-dir");
    const config = tmp.join("reset.yml");
    writeFileSync(config, ["dbs:", `  - path: ${db}`, `    meta-path: ${meta}`, "    replica:", `      path: ${tmp.join("reset-meta-replica")}`, ""].join("\n"));
    await write(db, 3);
    expect((await runCli(["replicate", "-once", "-config", config])).code).toBe(0);
    expect(readdirSync(`${meta}/ltx`).length).toBeGreaterThan(0);
    expect((await runCli(["reset", "-config", config, db])).code).toBe(0);
    expect(existsSync(`${meta}/ltx`)).toBe(false);
    const missing = tmp.join("nope.db");
    expect(await runCli(["reset", missing])).toMatchObject({ code: 1, stderr: `error: database does not exist: ${missing}\n` });
  }, 60_000);
});
