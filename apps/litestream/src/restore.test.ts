/** Tests of the built CLI's `restore`, `ltx`, `wal` and `status` against seeded directory and S3 replicas: targets, safety flags, integrity checks. */
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { promisify } from "node:util";
import { createFileReplicaClient, ReplicaRegistry, type ReplicaClient } from "@sqlrep/replica";
import { createS3ReplicaClient, s3Backend } from "@sqlrep/replica-s3";
import { startS3Server, tempDir, type S3Server } from "@sqlrep/testkit";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addRows, CLI, createDatabase, readDatabase, runCli, writeSnapshot } from "./testing/seed.js";

const built = existsSync(CLI);
const tmp = tempDir("sqlrep-litestream-restore-");
let s3: S3Server;
let s3Env: Record<string, string>;

/** Three states of one database, each backed up as a snapshot ending at TXID 1, 2, 3. */
const states: string[] = [];
const times = [new Date("2024-05-01T10:00:01Z"), new Date("2024-05-01T10:00:02Z"), new Date("2024-05-01T10:00:03Z")];
let fileUrl: string;
let s3Url: string;
let configFile: string;
const dbPath = tmp.join("live", "app.db");

async function seed(client: ReplicaClient, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await writeSnapshot(client, states[i]!, i + 1, times[i]!);
}

beforeAll(async () => {
  if (!built) return;
  s3 = await startS3Server();
  // Credentials by Litestream's variable names: the CLI copies them to AWS_*.
  s3Env = { LITESTREAM_ACCESS_KEY_ID: s3.accessKeyId, LITESTREAM_SECRET_ACCESS_KEY: s3.secretAccessKey, AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" };
  const work = tmp.join("work.db");
  createDatabase(work, 10);
  for (let i = 0; i < 3; i++) {
    if (i > 0) {
      const db = new Database(work);
      addRows(db, 10);
      db.close();
    }
    states.push(tmp.join(`state${i + 1}.db`));
    copyFileSync(work, states[i]!);
  }
  fileUrl = `file://${tmp.join("replica")}`;
  await seed(createFileReplicaClient(tmp.join("replica")), 3);
  s3Url = s3.url("app");
  const registry = new ReplicaRegistry([s3Backend]).register("s3", (spec) =>
    createS3ReplicaClient(spec, { env: { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey } }),
  );
  // The S3 replica lags: only the first two states.
  await seed(registry.create(s3Url), 2);
  mkdirSync(tmp.join("live"));
  configFile = tmp.join("litestream.yml");
  writeFileSync(
    configFile,
    ["dbs:", `  - path: ${dbPath}`, "    replicas:", `      - url: ${s3Url}`, "        name: remote", `      - path: ${tmp.join("replica")}`, "        name: local", ""].join("\n"),
  );
}, 60_000);

afterAll(async () => {
  await s3?.stop();
  tmp.remove();
});

let outputs = 0;
/** A fresh output path. */
function output(): string {
  return tmp.join("out", `restored-${++outputs}.db`);
}

function expectState(path: string, state: number): void {
  const restored = readDatabase(path);
  expect(restored.integrity).toBe("ok");
  expect(restored.rows).toEqual(readDatabase(states[state - 1]!).rows);
  expect(restored.rows).toHaveLength(state * 10);
}

describe.skipIf(!built)(`restore, ltx and status against seeded replicas${built ? "" : " — needs a build"}`, () => {
  it("restores the latest state from a directory replica, with a summary line", async () => {
    const out = output();
    const r = await runCli(["restore", "-o", out, fileUrl]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expectState(out, 3);
    expect(readFileSync(out).equals(readFileSync(states[2]!))).toBe(true);
    expect(r.stdout).toBe(
      `restored ${out} from file replica "file" (${tmp.join("replica")}): TXID 0000000000000003 (2024-05-01T10:00:03Z), ${(readFileSync(states[2]!).length / 1024).toFixed(1)} KiB, 1 LTX files, database checksum verified, quick_check ok\n`,
    );
  });

  const hasScript = existsSync("/usr/bin/script");
  it.skipIf(!hasScript)(`draws a progress bar on stderr only when it is a terminal${hasScript ? "" : " — needs /usr/bin/script (util-linux) for a terminal"}`, async () => {
    const out = output();
    const command = [process.execPath, CLI, "restore", "-o", out, fileUrl].map((a) => `'${a}'`).join(" ");
    const { stdout } = await promisify(execFile)("/usr/bin/script", ["-qec", command, "/dev/null"], { encoding: "utf8", timeout: 60_000 });
    expect(stdout).toMatch(/\r(plan|download|verify|done) +\[[#-]+\] +\d+% {2}[\d.]+ (B|KiB)\/[\d.]+ (B|KiB) {2}1 files/);
    expect(stdout).toContain(`restored ${out} from file replica`);
    expectState(out, 3);
  });

  it("restores from S3 with LITESTREAM_* credentials", async () => {
    const out = output();
    const r = await runCli(["restore", "-o", out, s3Url], { env: s3Env });
    expect(r.stderr).toBe("");
    // S3 listings carry the upload time (the LTX timestamp needs a HEAD per file; planning reads it only for -timestamp).
    expect(r.stdout).toMatch(/^restored .* from s3 replica "s3" \(s3:\/\/sqlrep-test\/app\): TXID 0000000000000002 \(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\), /);
    expectState(out, 2);
  });

  it("-txid and -timestamp pick a point in time", async () => {
    const byTxid = output();
    expect((await runCli(["restore", "-txid", "1", "-o", byTxid, fileUrl])).code).toBe(0);
    expectState(byTxid, 1);
    const byTime = output();
    const r = await runCli(["restore", "-timestamp", "2024-05-01T10:00:02.500Z", "-o", byTime, fileUrl]);
    expect(r.stdout).toContain("TXID 0000000000000002");
    expectState(byTime, 2);
  });

  it("a TXID the replica cannot reach is an error and leaves nothing behind", async () => {
    const out = output();
    const r = await runCli(["restore", "-txid", "9", "-o", out, fileUrl]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*0000000000000009/);
    expect(existsSync(out)).toBe(false);
  });

  it("refuses to overwrite a database; -if-db-not-exists makes that a success", async () => {
    const out = output();
    mkdirSync(tmp.join("out"), { recursive: true });
    writeFileSync(out, "keep me");
    const refused = await runCli(["restore", "-o", out, fileUrl]);
    expect(refused).toMatchObject({ code: 1, stderr: `error: output file already exists: ${out} (use -force to replace it)\n` });
    const skipped = await runCli(["restore", "-if-db-not-exists", "-o", out, fileUrl]);
    expect(skipped).toMatchObject({ code: 0, stdout: `database already exists, skipping: ${out}\n`, stderr: "" });
    expect(readFileSync(out, "utf8")).toBe("keep me");
  });

  it("-force replaces an existing database and its side files, only once the restore succeeded", async () => {
    const out = output();
    mkdirSync(tmp.join("out"), { recursive: true });
    writeFileSync(out, "old database");
    writeFileSync(`${out}-wal`, "old wal");
    writeFileSync(`${out}-shm`, "old shm");
    const failed = await runCli(["restore", "-force", "-txid", "9", "-o", out, fileUrl]);
    expect(failed.code).toBe(1);
    expect(readFileSync(out, "utf8")).toBe("old database");
    expect(readFileSync(`${out}-wal`, "utf8")).toBe("old wal");
    const r = await runCli(["restore", "-force", "-o", out, fileUrl]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(/^restored .* TXID 0000000000000003 /);
    expectState(out, 3);
    for (const gone of [`${out}-wal`, `${out}-shm`, `${out}-journal`]) expect(existsSync(gone)).toBe(false);
    expect(readdirSync(tmp.join("out")).filter((f) => f.includes("sqlrep-restore"))).toEqual([]);
    // A -wal alone is refused without -force too: SQLite would apply it to the new file.
    const lone = output();
    writeFileSync(`${lone}-wal`, "stale");
    expect(await runCli(["restore", "-o", lone, fileUrl])).toMatchObject({ code: 1, stderr: `error: output file already exists: ${lone}-wal (use -force to replace it)\n` });
  });

  it("-dry-run prints the plan and writes nothing; -json makes it (and a restore's result) JSON", async () => {
    const out = output();
    const r = await runCli(["restore", "-dry-run", "-txid", "2", "-o", out, fileUrl]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toContain(
      `  source: ${fileUrl}\n  target: ${out}\n  replica: file "file" (${tmp.join("replica")})\n  txid range: 0000000000000001 - 0000000000000002\n  restores to: TXID 0000000000000002 (2024-05-01T10:00:02Z)\n`,
    );
    expect(r.stdout).toMatch(/\n9 +0000000000000001-0000000000000002\.ltx +0000000000000001 +0000000000000002 +\d+ +2024-05-01T10:00:02Z\n$/);
    expect(existsSync(out)).toBe(false);
    // Config mode: the replica with the newest backup (local holds TXID 3, s3 only 2).
    const planned = await runCli(["restore", "-dry-run", "-json", "-config", configFile, "-o", out, dbPath], { env: s3Env });
    expect(planned.code).toBe(0);
    const plan = JSON.parse(planned.stdout) as Record<string, unknown> & { files: Record<string, unknown>[] };
    expect(plan).toMatchObject({
      source: dbPath,
      target_path: out,
      replica: "file",
      replica_name: "local",
      txid: "0000000000000003",
      max_txid: "0000000000000003",
      output_exists: false,
    });
    expect(plan.files).toEqual([expect.objectContaining({ level: 9, name: "0000000000000001-0000000000000003.ltx", min_txid: "0000000000000001", max_txid: "0000000000000003" })]);
    expect(existsSync(out)).toBe(false);

    const restored = await runCli(["restore", "-json", "-o", out, fileUrl]);
    expect(restored.code).toBe(0);
    const result = JSON.parse(restored.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({
      db_path: out,
      replica: "file",
      replica_name: "file",
      txid: "0000000000000003",
      checksum_verified: true,
      integrity_check: "quick",
      replaced: false,
      files: 1,
    });
    expect(typeof result["duration_ms"]).toBe("number");
    expectState(out, 3);
    // Messages move to stderr so that stdout stays JSON.
    const skipped = await runCli(["restore", "-json", "-if-db-not-exists", "-o", out, fileUrl]);
    expect(skipped).toMatchObject({ code: 0, stdout: "", stderr: `database already exists, skipping: ${out}\n` });
  });

  it("an empty replica is an error; -if-replica-exists makes it a success", async () => {
    const empty = `file://${tmp.join("empty-replica")}`;
    const out = output();
    const failed = await runCli(["restore", "-o", out, empty]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toBe(`error: no matching backups found in file replica "file" (${tmp.join("empty-replica")})\n`);
    const ok = await runCli(["restore", "-if-replica-exists", "-o", out, empty]);
    expect(ok).toMatchObject({ code: 0, stdout: "no matching backups found\n" });
    expect(existsSync(out)).toBe(false);
  });

  it("-integrity-check passes a sound database and fails a corrupt one before it is put in place", async () => {
    const out = output();
    const r = await runCli(["restore", "-integrity-check", "-o", out, fileUrl]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/database checksum verified, integrity_check ok\n$/);
    const quick = output();
    expect((await runCli(["restore", "-integrity-check", "quick", "-o", quick, fileUrl])).stdout).toMatch(/quick_check ok\n$/);

    // A database SQLite opens but whose index no longer matches its table.
    const corrupt = tmp.join("corrupt.db");
    const db = new Database(corrupt);
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL); CREATE INDEX i ON t(v);");
    addRows(db, 20);
    db.unsafeMode(true);
    db.pragma("writable_schema = ON");
    db.prepare("UPDATE sqlite_schema SET sql = 'CREATE INDEX i ON t(id)' WHERE name = 'i'").run();
    db.close();
    const replica = tmp.join("corrupt-replica");
    await writeSnapshot(createFileReplicaClient(replica), corrupt, 1, times[0]!);
    const bad = output();
    const unchecked = await runCli(["restore", "-integrity-check", "none", "-o", bad, `file://${replica}`]);
    expect(unchecked.code).toBe(0); // the bytes are what was backed up: only SQLite's check sees the damage
    expect(unchecked.stdout).toMatch(/database checksum verified\n$/);
    // By default: quick_check, which does not compare index entries with their rows.
    const quickDefault = await runCli(["restore", "-o", output(), `file://${replica}`]);
    expect(quickDefault.stdout).toMatch(/database checksum verified, quick_check ok\n$/);
    const checked = output();
    const failed = await runCli(["restore", "-integrity-check", "-o", checked, `file://${replica}`]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      /^error: verification of the restored database .*\.tmp failed: PRAGMA integrity_check did not return ok: row 1 missing from index i; row 2 missing from index i; .* \(and 15 more\)\n$/,
    );
    for (const left of [checked, `${checked}.tmp`, `${checked}.tmp-wal`, `${checked}.tmp-shm`]) expect(existsSync(left)).toBe(false);
  });

  it("a restore is quick_checked unless told otherwise", async () => {
    expect((await runCli(["restore", "-o", output(), fileUrl])).stdout).toMatch(/database checksum verified, quick_check ok\n$/);
    expect((await runCli(["restore", "-integrity-check=none", "-o", output(), fileUrl])).stdout).toMatch(/database checksum verified\n$/);
  });

  it("an output path through a file names that file", async () => {
    const file = tmp.join("a-file");
    writeFileSync(file, "x");
    const r = await runCli(["restore", "-o", `${file}/sub/x.db`, fileUrl]);
    expect(r).toMatchObject({ code: 1, stdout: "" });
    expect(r.stderr).toBe(`error: cannot write ${file}/sub/x.db: ${file} is a file, not a directory\n`);
  });

  it("with a config: the replica holding the newest backup, or the one -replica names; -o defaults to the DB path", { timeout: 30_000 }, async () => {
    const newest = output();
    const r = await runCli(["restore", "-config", configFile, "-o", newest, dbPath], { env: s3Env });
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain('from file replica "local"');
    expectState(newest, 3);
    const remote = output();
    const named = await runCli(["restore", "-config", configFile, "-replica", "remote", "-o", remote, dbPath], { env: s3Env });
    expect(named.stdout).toContain('from s3 replica "remote"');
    expectState(remote, 2);
    const inPlace = await runCli(["restore", "-config", configFile, dbPath], { env: s3Env });
    expect(inPlace.code).toBe(0);
    expectState(dbPath, 3);
  });

  it("ltx lists every level as a table, or one level, or JSON", async () => {
    const table = await runCli(["ltx", fileUrl]);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^level {2}min_txid {10}max_txid {10}size +created$/);
    expect(lines.slice(1)).toHaveLength(3);
    lines.slice(1).forEach((line, i) => expect(line).toMatch(new RegExp(`^9      0000000000000001  000000000000000${i + 1}  \\d+ +2024-05-01T10:00:0${i + 1}Z$`)));
    expect((await runCli(["ltx", "-level", "0", fileUrl])).stdout).toBe("level  min_txid  max_txid  size  created\n");
    const json = JSON.parse((await runCli(["ltx", "-json", "-level", "9", "-config", configFile, "-replica", "remote", dbPath], { env: s3Env })).stdout) as unknown[];
    expect(json).toEqual([
      { level: 9, min_txid: "0000000000000001", max_txid: "0000000000000001", size: expect.any(Number), created: expect.stringMatching(/Z$/) },
      { level: 9, min_txid: "0000000000000001", max_txid: "0000000000000002", size: expect.any(Number), created: expect.stringMatching(/Z$/) },
    ]);
  });

  it("wal is a deprecated alias of ltx -level 0", async () => {
    const r = await runCli(["wal", fileUrl]);
    expect(r).toMatchObject({ code: 0, stdout: "level  min_txid  max_txid  size  created\n" });
    expect(r.stderr).toContain("the wal command is deprecated");
  });

  it("status reports local files and each replica's position", async () => {
    const r = await runCli(["status", "-json", "-config", configFile], { env: s3Env });
    expect(r.stderr).toBe("");
    const [db] = JSON.parse(r.stdout) as { path: string; exists: boolean; db_size: number; wal_size: number; replicas: unknown[] }[];
    expect(db).toEqual({
      path: dbPath,
      exists: true,
      db_size: readFileSync(dbPath).length,
      wal_size: 0,
      replicas: [
        { name: "remote", type: "s3", location: "s3://sqlrep-test/app", txid: "0000000000000002", time: expect.stringMatching(/Z$/) },
        { name: "local", type: "file", location: tmp.join("replica"), txid: "0000000000000003", time: "2024-05-01T10:00:03.000Z" },
      ],
    });
    const table = await runCli(["status", "-config", configFile, dbPath], { env: s3Env });
    expect(table.stdout.split("\n")[0]).toMatch(/^database +replica +db_size +wal_size +replica_txid +replica_time$/);
    expect(table.stdout).toMatch(/local +\d+\.0 KiB +0 B +0000000000000003 +2024-05-01T10:00:03Z/);
  });
});
