// Directory mode: the config keys, which files count, the replica layout, and
// `replicate` picking databases up and dropping them live (child process, real SQLite).
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { isConfigError } from "@sqlrep/config";
import { spawnProcess, startS3Server, stopAllProcesses, tempDir, type S3Server } from "@sqlrep/testkit";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { parseLitestreamConfig } from "./config.js";
import { directoryDatabase, scanDirectory } from "./directory-scan.js";
import { globToRegExp } from "./glob.js";
import { CLI, readDatabase, runCli } from "./testing/seed.js";

const tmp = tempDir("sqlrep-litestream-dir-");
let s3: S3Server | undefined;
afterAll(async () => {
  await stopAllProcesses();
  await s3?.stop();
  tmp.remove();
});

function walDb(path: string, rows: number): void {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)");
  for (let i = 0; i < rows; i++) db.prepare("INSERT INTO t (v) VALUES (?)").run(`${path}:${i}`);
  db.close();
}

describe("directory mode: config and scan", () => {
  it("reads dir, pattern, recursive and watch, and refuses what Litestream refuses", () => {
    const c = parseLitestreamConfig(
      "dbs:\n  - dir: /data\n    pattern: '*.db'\n    recursive: true\n    watch: true\n    replica: { url: 's3://b/tenants?endpoint=http://127.0.0.1:9' }\n",
      "/x.yml",
    );
    expect(c.dbs).toEqual([]);
    expect(c.directories).toMatchObject([{ path: "/data", directory: { pattern: "*.db", recursive: true, watch: true } }]);
    const fail = (text: string) => {
      try {
        parseLitestreamConfig(text, "/x.yml");
      } catch (err) {
        if (isConfigError(err)) return err.message;
      }
      return "no error";
    };
    expect(fail("dbs:\n  - dir: /data\n    replica: { path: /r }\n")).toBe('/x.yml:2:5: dbs[0].pattern: pattern is required with dir, e.g. pattern: "*.db"');
    expect(fail("dbs:\n  - dir: /data\n    path: /a.db\n    pattern: '*'\n    replica: { path: /r }\n")).toMatch(/dbs\[0\]\.dir: give either path .* or dir/);
    expect(fail("dbs:\n  - path: /a.db\n    watch: true\n    replica: { path: /r }\n")).toMatch(/dbs\[0\]\.watch: watch can only be used with dir/);
    expect(fail("dbs:\n  - dir: /data\n    pattern: '[a-'\n    replica: { path: /r }\n")).toMatch(/dbs\[0\]\.pattern: pattern "\[a-" has an unclosed \[/);
  });

  it("matches base names as Go's filepath.Match does", () => {
    const m = (p: string, name: string) => globToRegExp(p).test(name);
    expect([m("*.db", "a.db"), m("*.db", "a.db-wal"), m("*.db", ".db"), m("?.db", "ab.db"), m("[a-c]*.db", "b1.db"), m("[^a-c]*.db", "b1.db"), m("a\\*.db", "a*.db")]).toEqual([
      true,
      false,
      true,
      false,
      true,
      false,
      true,
    ]);
  });

  it("finds SQLite files only (header checked), recursively when asked; each replica gets the relative path", () => {
    const dir = tmp.join("scan");
    mkdirSync(`${dir}/acme`, { recursive: true });
    walDb(`${dir}/top.db`, 1);
    walDb(`${dir}/acme/data.db`, 1);
    writeFileSync(`${dir}/fake.db`, "not a database");
    walDb(`${dir}/other.sqlite`, 1);
    const c = parseLitestreamConfig(
      `dbs:\n  - dir: ${dir}\n    pattern: '*.db'\n    replicas:\n      - path: /backups\n      - url: s3://b/tenants?endpoint=http://127.0.0.1:9\n        name: s3\n`,
      "/x.yml",
    );
    const entry = c.directories[0]!;
    expect(scanDirectory(entry)).toEqual([`${dir}/top.db`]);
    entry.directory.recursive = true;
    expect(scanDirectory(entry)).toEqual([`${dir}/acme/data.db`, `${dir}/top.db`]);
    const db = directoryDatabase(entry, `${dir}/acme/data.db`);
    expect(db.replicas.map((r) => [r.spec.path, r.spec.url])).toEqual([
      ["/backups/acme/data.db", undefined],
      ["tenants/acme/data.db", "s3://b/tenants/acme/data.db?endpoint=http://127.0.0.1:9"],
    ]);
  });
});

describe.skipIf(!existsSync(CLI))(`directory mode through replicate${existsSync(CLI) ? "" : " (skipped: needs a build)"}`, () => {
  it("watch: databases created later are replicated, deleted ones stop; each restores from its own path", async () => {
    s3 = await startS3Server();
    const env = { LITESTREAM_ACCESS_KEY_ID: s3.accessKeyId, LITESTREAM_SECRET_ACCESS_KEY: s3.secretAccessKey, AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "", LOG_LEVEL: "" };
    const dir = tmp.join("live");
    mkdirSync(`${dir}/acme`, { recursive: true });
    walDb(`${dir}/first.db`, 3);
    const config = tmp.join("dir.yml");
    writeFileSync(
      config,
      `dbs:\n  - dir: ${dir}\n    pattern: "*.db"\n    recursive: true\n    watch: true\n    replicas:\n      - url: ${s3.url("tenants")}\n      - path: ${tmp.join("backups")}\n        name: dir\n`,
    );
    const proc = await spawnProcess(process.execPath, [CLI, "replicate", "-config", config], {
      name: "litestream-dir",
      env,
      ready: /msg="replication started"/,
      readyTimeoutMs: 30_000,
    });
    walDb(`${dir}/acme/later.db`, 5);
    await proc.waitForLine(/msg="added database to replication" db=\S*acme\/later\.db/, 10_000);
    walDb(`${dir}/first.db`, 1); // 4 rows now, uploaded before the file goes (a deleted database uploads nothing more)
    for (const replica of ["s3", "dir"]) await proc.waitForLine(new RegExp(`msg="replica sync" db=\\S*first\\.db replica=${replica} level=0 txid=0+2 `), 10_000);
    rmSync(`${dir}/first.db`);
    await proc.waitForLine(/msg="removed database from replication" db=\S*first\.db/, 10_000);
    walDb(`${dir}/acme/later.db`, 1); // 6 rows
    proc.signal("SIGTERM");
    expect((await proc.exited).code).toBe(0);

    const restored = async (url: string, name: string) => {
      const out = tmp.join(`${name}-${Math.random().toString(36).slice(2)}.db`);
      const r = await runCli(["restore", "-o", out, url], { env });
      expect(r.stderr).toBe("");
      return readDatabase(out).rows.length;
    };
    const s3Url = (rel: string) => s3!.url(`tenants/${rel}`);
    expect(await restored(s3Url("acme/later.db"), "later-s3")).toBe(6);
    expect(await restored(`file://${tmp.join("backups")}/acme/later.db`, "later-dir")).toBe(6);
    // By path, through the config's directory entry (the file itself is gone: the replica is found all the same).
    const byPath = tmp.join("first-by-path.db");
    expect((await runCli(["restore", "-config", config, "-replica", "dir", "-o", byPath, `${dir}/first.db`], { env })).code).toBe(0);
    expect(readDatabase(byPath).rows.length).toBe(4);
    // Deleted with its last transaction not yet uploaded? No: the removal's final sync carried it.
    expect(await restored(s3Url("first.db"), "first-s3")).toBe(4);
  }, 60_000);
});
