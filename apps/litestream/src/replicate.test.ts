/** Tests of the built `litestream replicate` as a child process with a real writer: directory and S3 replicas, `-exec`, metrics and status, restore-if-missing. */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePort, spawnProcess, startS3Server, stopAllProcesses, tempDir, type ProcessHandle, type S3Server } from "@sqlrep/testkit";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, readDatabase, runCli } from "./testing/seed.js";

const built = existsSync(CLI);
const WRITER = fileURLToPath(new URL("./testing/writer.mjs", import.meta.url));
const tmp = tempDir("sqlrep-litestream-replicate-");
let s3: S3Server;
let s3Env: Record<string, string>;

beforeAll(async () => {
  if (!built) return;
  s3 = await startS3Server();
  s3Env = { LITESTREAM_ACCESS_KEY_ID: s3.accessKeyId, LITESTREAM_SECRET_ACCESS_KEY: s3.secretAccessKey, AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" };
}, 30_000);

afterAll(async () => {
  await stopAllProcesses();
  await s3?.stop();
  tmp.remove();
});

let databases = 0;
/** A new WAL-mode database with an empty table t(id, v), in its own directory. */
function walDatabase(): string {
  const dir = tmp.join(`db${++databases}`);
  mkdirSync(dir);
  const path = `${dir}/app.db`;
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  db.close();
  return path;
}

/** Runs the writer as its own process: `rows` single-row transactions. */
async function write(path: string, rows: number): Promise<void> {
  await promisify(execFile)(process.execPath, [WRITER, path, String(rows)], { timeout: 60_000 });
}

/** Starts `litestream replicate …args` and waits until replication runs. */
function replicate(args: readonly string[], env: Record<string, string> = {}, ready: RegExp = /msg="replication started"/): Promise<ProcessHandle> {
  return spawnProcess(process.execPath, [CLI, "replicate", ...args], { name: "litestream", env: { LOG_LEVEL: "", ...env }, ready, readyTimeoutMs: 30_000 });
}

/** SIGTERM, then the exit code; a graceful stop flushes every committed transaction. */
async function stopGracefully(proc: ProcessHandle): Promise<number | null> {
  proc.signal("SIGTERM");
  const status = await proc.exited;
  return status.code;
}

/** Restores `url` to a new file and checks it holds exactly the rows of `source`. */
async function expectRestoredEqual(url: string, source: string, env: Record<string, string> = {}): Promise<void> {
  const out = tmp.join(`restored-${Math.random().toString(36).slice(2)}.db`);
  const r = await runCli(["restore", "-integrity-check", "-o", out, url], { env });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/database checksum verified, integrity_check ok\n$/);
  const restored = readDatabase(out);
  const expected = readDatabase(source);
  expect(restored.integrity).toBe("ok");
  expect(expected.rows.length).toBeGreaterThan(0);
  expect(restored.rows).toEqual(expected.rows);
}

describe.skipIf(!built)(`litestream replicate as a child process${built ? "" : " — needs a build"}`, () => {
  it("replicates a database written by another process to a directory, and restore gives the same rows", async () => {
    const db = walDatabase();
    const replica = tmp.join("dir-replica");
    const proc = await replicate([db, `file://${replica}`]);
    await write(db, 60);
    await proc.waitForLine(/msg="replica sync" .*level=0/);
    expect(await stopGracefully(proc)).toBe(0);
    const log = proc.output().join("\n");
    expect(log).toContain(`msg="initialized db" path=${db}`);
    expect(log).toContain(`msg="replicating to" db=${db} name=file type=file path=${replica}`);
    expect(log).toMatch(/msg="replica sync" db=\S+ replica=file level=0 txid=[0-9a-f]{16} size=\d+/);
    expect(log).toContain('msg="signal received, litestream shutting down" signal=SIGTERM');
    await expectRestoredEqual(`file://${replica}`, db);
  }, 90_000);

  it("replicates to S3 and to a directory at once", async () => {
    const db = walDatabase();
    const url = s3.url("replicated");
    const replica = tmp.join("dir-replica-2");
    const proc = await replicate([db, url, `file://${replica}`], s3Env);
    await write(db, 40);
    expect(await stopGracefully(proc)).toBe(0);
    expect(proc.output().join("\n")).toMatch(/msg="replicating to" db=\S+ name=s3 type=s3 bucket=sqlrep-test path=replicated region=us-east-1 endpoint=http:\/\/127\.0\.0\.1:\d+/);
    await expectRestoredEqual(url, db, s3Env);
    await expectRestoredEqual(`file://${replica}`, db);
  }, 90_000);

  it("-exec runs a child, then a final sync, then exits with the child's code", async () => {
    const db = walDatabase();
    const replica = tmp.join("exec-replica");
    const exec = `${JSON.stringify(process.execPath)} ${JSON.stringify(WRITER)} ${JSON.stringify(db)} 50 3`;
    const proc = await spawnProcess(process.execPath, [CLI, "replicate", "-exec", exec, db, `file://${replica}`], { name: "litestream-exec", env: { LOG_LEVEL: "" } });
    const status = await proc.exited;
    expect(status.code).toBe(3);
    const log = proc.output().join("\n");
    expect(log).toContain("writer wrote 50 rows"); // the child's stdout is ours
    expect(log).toContain('msg="subprocess exited, final sync" code=3');
    expect(log).toContain('msg="litestream shut down"');
    // Everything the child committed was uploaded before litestream exited.
    await expectRestoredEqual(`file://${replica}`, db);
    expect(readDatabase(db).rows).toHaveLength(50);
  }, 90_000);

  it("-exec forwards SIGTERM to the child and exits with its status", async () => {
    const db = walDatabase();
    const proc = await replicate(["-exec", `${JSON.stringify(process.execPath)} -e "setInterval(() => {}, 1000)"`, db, `file://${tmp.join("exec-replica-2")}`]);
    proc.signal("SIGTERM");
    const status = await proc.exited;
    expect(status.code).toBe(128 + 15);
    expect(proc.output().join("\n")).toContain('msg="subprocess exited, final sync" code=143 signal=SIGTERM');
  }, 60_000);

  it("replicates several databases from a config; serves /metrics with Litestream's names and /status, which `status` reads", async () => {
    const db = walDatabase();
    const other = walDatabase();
    const port = await freePort();
    const replica = tmp.join("metrics-replica");
    const otherReplica = tmp.join("metrics-replica-2");
    const config = tmp.join("metrics.yml");
    writeFileSync(
      config,
      [
        `addr: ":${port}"`,
        "logging:",
        "  level: debug",
        "  type: json",
        "  stderr: true",
        "dbs:",
        `  - path: ${db}`,
        "    replicas:",
        `      - path: ${replica}`,
        "        name: backup",
        `  - path: ${other}`,
        "    replica:",
        `      url: file://${otherReplica}`,
        "      sync-interval: 100ms",
        "",
      ].join("\n"),
    );
    const proc = await replicate(["-config", config], {}, /"msg":"replication started"/);
    const serving = JSON.parse(await proc.waitForLine(/"msg":"serving metrics and status"/)) as Record<string, unknown>;
    expect(serving).toMatchObject({ level: "INFO", url: `http://127.0.0.1:${port}/metrics`, status: `http://127.0.0.1:${port}/status` });
    await Promise.all([write(db, 20), write(other, 10)]);
    const synced = JSON.parse(await proc.waitForLine(/"msg":"replica sync","db":"[^"]*db\d+\/app\.db","replica":"backup"/)) as Record<string, unknown>;
    expect(synced).toMatchObject({ db, replica: "backup", txid: expect.stringMatching(/^[0-9a-f]{16}$/), size: expect.any(Number) });
    expect(proc.output().every((line) => line.startsWith("{"))).toBe(true);

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (const name of [
      "litestream_db_size",
      "litestream_wal_size",
      "litestream_total_wal_bytes",
      "litestream_txid",
      "litestream_sync_count",
      "litestream_checkpoint_count",
      "litestream_replica_operation_total",
    ]) {
      expect(metrics, name).toMatch(new RegExp(`^# TYPE ${name} (gauge|counter)$`, "m"));
    }
    expect(metrics).toMatch(new RegExp(`^litestream_db_size\\{db="${db.replace(/[/.]/g, "\\$&")}"\\} \\d+`, "m"));
    // The gauges are current at each scrape (prom-client's collect hook), and the process's own metrics are there.
    expect(metrics).toMatch(new RegExp(`^litestream_txid\\{db="${db.replace(/[/.]/g, "\\$&")}"\\} [1-9]\\d*$`, "m"));
    for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes", "nodejs_eventloop_lag_seconds"])
      expect(metrics, name).toMatch(new RegExp(`^${name} [0-9.e+-]+$`, "m"));

    const live = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as {
      version: string;
      databases: { path: string; localTXID: number; replicas: { name: string; txid: number }[] }[];
    };
    expect(live.version).toBe("0.1.0");
    expect(live.databases).toHaveLength(2);
    expect(live.databases[0]).toMatchObject({ path: db, replicas: [{ name: "backup", type: "file", location: replica }] });
    expect(live.databases[1]).toMatchObject({ path: other, replicas: [{ name: "file", type: "file", location: otherReplica }] });
    expect(live.databases[0]!.localTXID).toBeGreaterThan(1);
    expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);

    const status = await runCli(["status", "-json", "-config", config]);
    expect(status.stderr).toBe("");
    const reports = JSON.parse(status.stdout) as {
      path: string;
      local_txid: string;
      replicas: { name: string; txid: string; live: { txid: string; lag_ms: number; last_sync_at: string | null; last_error: string | null } }[];
    }[];
    expect(reports.map((r) => r.path)).toEqual([db, other]);
    const report = reports[0];
    expect(report!.local_txid).toMatch(/^[0-9a-f]{16}$/);
    expect(report!.replicas[0]).toMatchObject({
      name: "backup",
      txid: expect.stringMatching(/^[0-9a-f]{16}$/),
      live: { txid: expect.stringMatching(/^[0-9a-f]{16}$/), last_error: null },
    });
    expect(report!.replicas[0]!.live.last_sync_at).toMatch(/Z$/);
    const table = await runCli(["status", "-config", config]);
    expect(table.stdout.split("\n")[0]).toMatch(/^database +replica +db_size +wal_size +replica_txid +replica_time +local_txid +lag +last_sync +last_error$/);

    expect(await stopGracefully(proc)).toBe(0);
    await expectRestoredEqual(`file://${replica}`, db);
    await expectRestoredEqual(`file://${otherReplica}`, other);
    // With the process gone, status says so and shows what the replica holds.
    const offline = await runCli(["status", "-config", config]);
    expect(offline.stderr).toBe(`note: no replicate process answered on :${port}; showing stored state only\n`);
  }, 90_000);

  it("-restore-if-db-not-exists restores a missing database, then replication continues from the replica's position", async () => {
    const db = walDatabase();
    const replica = tmp.join("restore-first-replica");
    const first = await replicate([db, `file://${replica}`]);
    await write(db, 30);
    expect(await stopGracefully(first)).toBe(0);
    const before = readDatabase(db).rows;
    for (const suffix of ["", "-wal", "-shm"]) rmSync(`${db}${suffix}`, { force: true });

    const second = await replicate(["-restore-if-db-not-exists", db, `file://${replica}`]);
    const log = second.output().join("\n");
    expect(log).toContain(`msg="database does not exist, restoring from replica" db=${db}`);
    expect(log).toMatch(/msg="restored .* from file replica \\"file\\" .*quick_check ok"/);
    expect(readDatabase(db).rows).toEqual(before);
    await write(db, 20);
    expect(await stopGracefully(second)).toBe(0);
    expect(readDatabase(db).rows).toHaveLength(50);
    await expectRestoredEqual(`file://${replica}`, db);
  }, 90_000);

  it("a database that is not in WAL mode is an error that says how to fix it", async () => {
    const path = tmp.join("journal.db");
    new Database(path).exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    const r = await runCli(["replicate", path, `file://${tmp.join("journal-replica")}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("not WAL: switch it once with `PRAGMA journal_mode=WAL`");
  }, 60_000);
});
