/**
 * Tests of `litestream restore -f` as a child process following a real `replicate` child,
 * with readers (better-sqlite3 in this process) on the followed copy throughout.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { spawnProcess, startS3Server, stopAllProcesses, tempDir, type ProcessHandle } from "@sqlrep/testkit";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, readDatabase, runCli } from "./testing/seed.js";

const built = existsSync(CLI);
const WRITER = fileURLToPath(new URL("./testing/writer.mjs", import.meta.url));
const tmp = tempDir("sqlrep-litestream-follow-");

afterAll(async () => {
  await stopAllProcesses();
  tmp.remove();
});

let dirs = 0;
/** A directory with a new WAL-mode database `app.db` holding t(id, v), and a config replicating it to `replica/` every 100 ms. */
function setup(): { dir: string; db: string; replica: string; config: string } {
  const dir = tmp.join(`case${++dirs}`);
  mkdirSync(dir);
  const db = `${dir}/app.db`;
  newDatabase(db);
  const replica = `${dir}/replica`;
  const config = `${dir}/litestream.yml`;
  writeFileSync(config, `dbs:\n  - path: ${db}\n    replica:\n      url: file://${replica}\n      sync-interval: 100ms\n`);
  return { dir, db, replica, config };
}

function newDatabase(path: string, rows: readonly string[] = []): void {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
  for (const v of rows) insert.run(v);
  db.close();
}

/** The writer child: `rows` single-row transactions. */
async function write(path: string, rows: number): Promise<void> {
  await promisify(execFile)(process.execPath, [WRITER, path, String(rows)], { timeout: 60_000 });
}

function replicate(config: string): Promise<ProcessHandle> {
  return spawnProcess(process.execPath, [CLI, "replicate", "-config", config], {
    name: "replicate",
    env: { LOG_LEVEL: "" },
    ready: /msg="replication started"/,
    readyTimeoutMs: 30_000,
  });
}

function follow(replica: string, output: string): Promise<ProcessHandle> {
  return spawnProcess(process.execPath, [CLI, "restore", "-f", "-follow-interval", "200ms", "-integrity-check", "full", "-o", output, `file://${replica}`], {
    name: "follow",
    env: { LITESTREAM_CONFIG: "/nonexistent/litestream.yml" },
    ready: /^(following|resuming) /,
    readyTimeoutMs: 30_000,
  });
}

/** Polls `check` every 50 ms until it returns true; fails after `timeoutMs`. */
async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What a reader sees: the row count, whether ids run 1…n without holes (a whole prefix of single-row commits), and integrity_check. */
function look(reader: Database.Database): { count: number; contiguous: boolean; integrity: string } {
  const { count, max } = reader.prepare("SELECT count(*) AS count, coalesce(max(id), 0) AS max FROM t").get() as { count: number; max: number };
  const integrity = reader.pragma("integrity_check", { simple: true }) as string;
  return { count, contiguous: count === max, integrity };
}

describe.skipIf(!built)(`litestream restore -f${built ? "" : " (skipped: needs a build: pnpm turbo run build)"}`, () => {
  it("keeps a copy up to date for a reader that stays open, consistent at every look; a reader's transaction holds a stable snapshot; SIGINT stops it cleanly", async () => {
    const { dir, db, replica, config } = setup();
    const rep = await replicate(config);
    await write(db, 20);
    await rep.waitForLine(/msg="replica sync"/);
    const copy = `${dir}/copy.db`;
    const follower = await follow(replica, copy);
    expect(follower.output().join("\n")).toMatch(/integrity_check ok/);

    // One connection open for the whole test: in-place changes must reach it (change counter), never half-applied.
    const reader = new Database(copy, { readonly: true, fileMustExist: true, timeout: 10_000 });
    expect(reader.pragma("journal_mode", { simple: true })).toBe("delete");
    const looks: ReturnType<typeof look>[] = [look(reader)];
    // Two rounds of writes, each awaited in the copy: at least two batches applied in place.
    for (const target of [40, 60]) {
      const writing = write(db, 20);
      await until(`${target} rows in the followed copy`, () => {
        looks.push(look(reader));
        return looks.at(-1)!.count === target;
      });
      await writing;
    }
    expect(looks.every((l) => l.integrity === "ok" && l.contiguous)).toBe(true);
    // The copy can show a batch before the follower's log line about it has come through the pipe.
    await until("two batches logged as applied", () => follower.output().filter((l) => l.startsWith("applied TXID")).length >= 2, 10_000);

    // A reader inside a transaction keeps its snapshot while new commits arrive; the follower waits for it.
    const holder = new Database(copy, { readonly: true, fileMustExist: true, timeout: 10_000 });
    holder.exec("BEGIN");
    const held = look(holder);
    const lines = follower.output().length;
    await write(db, 10);
    await follower.waitForLine(/^waiting for readers of .* to end their transactions/, 20_000, lines);
    expect(look(holder)).toEqual(held);
    holder.exec("COMMIT");
    await until("the held-back batch", () => look(reader).count === 70);
    // The batch logged after the wait (an earlier batch's line may still have been on its way when `lines` was taken).
    const waited = follower.output().findIndex((l, i) => i >= lines && /^waiting for readers/.test(l));
    const applied = await follower.waitForLine(/^applied TXID/, 10_000, waited + 1);
    expect(Number(/, (\d+) ms waiting for readers\)/.exec(applied)?.[1])).toBeGreaterThanOrEqual(1000);
    holder.close();
    expect(look(reader)).toEqual({ count: 70, contiguous: true, integrity: "ok" });
    reader.close();

    follower.signal("SIGINT");
    expect((await follower.exited).code).toBe(0);
    expect(follower.output().join("\n")).toMatch(/follow stopped at TXID [0-9a-f]{16}/);
    expect(existsSync(`${copy}-journal`)).toBe(false);
    expect(readFileSync(`${copy}-txid`, "utf8")).toMatch(/^[0-9a-f]{16}\n[0-9a-f]{200}\n$/);

    // Started again on the copy it left (no -force): it resumes from <copy>-txid instead of restoring.
    await write(db, 10);
    const resumed = await follow(replica, copy);
    expect(resumed.output()[0]).toMatch(/^resuming .* from TXID/);
    await until("rows written while it was stopped", () => readDatabase(copy).rows.length === 80);
    resumed.signal("SIGINT");
    expect((await resumed.exited).code).toBe(0);

    // A progress file that does not describe the copy (TXID one back) is caught by the replica's checksum: a fresh restore, in place.
    const [txid, header] = readFileSync(`${copy}-txid`, "utf8").split("\n") as [string, string];
    writeFileSync(`${copy}-txid`, `${(parseInt(txid, 16) - 1).toString(16).padStart(16, "0")}\n${header}\n`);
    const checked = await follow(replica, copy);
    await checked.waitForLine(/^restarting from a fresh restore: (the copy's checksum [0-9a-f]{16} is not the replica's|the replica's next files do not continue this copy)/);
    await checked.waitForLine(/^restored afresh/);
    checked.signal("SIGINT");
    expect((await checked.exited).code).toBe(0);
    rep.signal("SIGTERM");
    expect((await rep.exited).code).toBe(0);
    expect(readDatabase(copy)).toEqual(readDatabase(db));
  }, 90_000);

  it("follows a new lineage: the replica wiped and started over from another database restores afresh, in place", async () => {
    const { dir, db, replica, config } = setup();
    let rep = await replicate(config);
    await write(db, 30);
    await rep.waitForLine(/msg="replica sync"/);
    const copy = `${dir}/copy.db`;
    const follower = await follow(replica, copy);
    const reader = new Database(copy, { readonly: true, fileMustExist: true, timeout: 10_000 });
    await until("the first 30 rows", () => look(reader).count === 30);

    rep.signal("SIGTERM");
    expect((await rep.exited).code).toBe(0);
    // Another database at the same path, its replica started from scratch: TXIDs begin again at 1.
    for (const path of [replica, `${dir}/.app.db-sqlrep`, db, `${db}-wal`, `${db}-shm`]) rmSync(path, { recursive: true, force: true });
    newDatabase(db, ["new lineage a", "new lineage b", "new lineage c"]);
    rep = await replicate(config);
    await follower.waitForLine(/^restarting from a fresh restore: .*started over/, 20_000);
    await until("the new lineage's rows", () => look(reader).count === 3);
    expect(reader.prepare("SELECT v FROM t ORDER BY id").pluck().all()).toEqual(["new lineage a", "new lineage b", "new lineage c"]);
    expect(look(reader).integrity).toBe("ok");

    // And it keeps following the new lineage.
    await write(db, 5);
    await until("rows written after the new lineage", () => look(reader).count === 8);
    reader.close();
    follower.signal("SIGTERM");
    expect((await follower.exited).code).toBe(0);
    rep.signal("SIGTERM");
    await rep.exited;
    expect(readDatabase(copy)).toEqual(readDatabase(db));
  }, 90_000);

  it("killed (SIGKILL) while a batch is being written, leaves a copy SQLite rolls back to the state before it; run again, it resumes", async () => {
    const { dir, db, replica, config } = setup();
    const rep = await replicate(config);
    await write(db, 10);
    await rep.waitForLine(/msg="replica sync"/);
    const copy = `${dir}/copy.db`;
    const follower = await follow(replica, copy);
    await until("the first rows", () => readDatabase(copy).rows.length === 10);
    // Hold the follower still while one large transaction (~8 MB) reaches the replica, so its batch takes a while to write.
    follower.signal("SIGSTOP");
    const big = new Database(db, { timeout: 10_000 });
    big.transaction(() => {
      const insert = big.prepare("INSERT INTO t (v) VALUES (?)");
      for (let i = 0; i < 4000; i++) insert.run(`big ${i} ${"b".repeat(2000)}`);
    })();
    big.close();
    await rep.waitForLine(/msg="replica sync"/, 20_000, rep.output().length);
    follower.signal("SIGCONT");
    // The journal exists only while the batch is being written: kill it then.
    const deadline = Date.now() + 20_000;
    while (!existsSync(`${copy}-journal`)) {
      if (Date.now() > deadline) throw new Error("the follower never wrote a journal");
    }
    follower.kill();
    await follower.exited;
    if (existsSync(`${copy}-journal`)) {
      // A read-write connection plays the journal back: the state before the batch, whole.
      const rw = new Database(copy, { fileMustExist: true });
      expect(rw.prepare("SELECT count(*) FROM t").pluck().get()).toBe(10);
      expect(rw.pragma("integrity_check", { simple: true })).toBe("ok");
      rw.close();
      // Played back, SQLite deletes it; killed before a byte of it was written, it is empty and not hot (SQLite leaves it).
      expect(!existsSync(`${copy}-journal`) || statSync(`${copy}-journal`).size === 0).toBe(true);
    } else {
      // Killed in the instant after the commit point: the batch is whole.
      expect(readDatabase(copy).rows.length).toBe(4010);
    }
    expect(readDatabase(copy).integrity).toBe("ok");
    const again = await follow(replica, copy);
    await until("the large transaction after the resume", () => readDatabase(copy).rows.length === 4010, 30_000);
    again.signal("SIGINT");
    expect((await again.exited).code).toBe(0);
    rep.signal("SIGTERM");
    await rep.exited;
    expect(readDatabase(copy)).toEqual(readDatabase(db));
  }, 90_000);

  it("follows an S3 replica (testkit's S3 server) the same way", async () => {
    const s3 = await startS3Server();
    try {
      const env = { LITESTREAM_ACCESS_KEY_ID: s3.accessKeyId, LITESTREAM_SECRET_ACCESS_KEY: s3.secretAccessKey, AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" };
      const { dir, db } = setup();
      const url = s3.url("followed");
      const rep = await spawnProcess(process.execPath, [CLI, "replicate", db, url], {
        name: "replicate-s3",
        env: { LOG_LEVEL: "", ...env },
        ready: /msg="replication started"/,
        readyTimeoutMs: 30_000,
      });
      await write(db, 10);
      await rep.waitForLine(/msg="replica sync"/);
      const copy = `${dir}/copy.db`;
      const follower = await spawnProcess(process.execPath, [CLI, "restore", "-f", "-follow-interval", "200ms", "-o", copy, url], {
        name: "follow-s3",
        env: { LITESTREAM_CONFIG: "/nonexistent/litestream.yml", ...env },
        ready: /^following /,
        readyTimeoutMs: 30_000,
      });
      const reader = new Database(copy, { readonly: true, fileMustExist: true, timeout: 10_000 });
      await write(db, 20);
      await until("the rows in the copy followed from S3", () => look(reader).count === 30);
      expect(look(reader)).toEqual({ count: 30, contiguous: true, integrity: "ok" });
      reader.close();
      follower.signal("SIGTERM");
      expect((await follower.exited).code).toBe(0);
      rep.signal("SIGTERM");
      expect((await rep.exited).code).toBe(0);
      expect(readDatabase(copy).rows).toEqual(readDatabase(db).rows);
    } finally {
      await s3.stop();
    }
  }, 60_000);

  it.each([
    [["-txid", "0000000000000002"], "cannot specify -txid with -f"],
    [["-timestamp", "2024-01-01T00:00:00Z"], "cannot specify -timestamp with -f"],
    [["-dry-run"], "cannot specify -dry-run with -f"],
    [["-follow-interval", "1d"], "invalid -follow-interval"],
    [["-follow-interval", "0"], "must be positive"],
  ])("refuses -f with %s", async (extra, message) => {
    const r = await runCli(["restore", "-f", ...extra, "-o", tmp.join("never.db"), `file://${tmp.join("none")}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(existsSync(tmp.join("never.db"))).toBe(false);
  });

  it("refuses -follow-interval without -f", async () => {
    const r = await runCli(["restore", "-follow-interval", "2s", "-o", tmp.join("never.db"), `file://${tmp.join("none")}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("-follow-interval requires -f");
  });
});
