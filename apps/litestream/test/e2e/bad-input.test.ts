// Bad input through the CLI: unknown config keys at every level, wrong replica URLs, a
// damaged or missing LTX file in a replica written by `replicate`, and a database that is
// not in WAL mode. Each must fail (exit non-zero) with a message naming what is wrong,
// and a failed restore must leave nothing behind.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import {
  built,
  copyDatabase,
  e2eSuite,
  expectHistoryState,
  needsBuild,
  replicaClient,
  restore,
  runCli,
  runRestore,
  s3Env,
  sleep,
  startReplicate,
  writeConfig,
  Writer,
} from "./harness.js";

const suite = e2eSuite("bad-input", 800);
const { tmp, template } = suite;

let files = 0;
function configFile(text: string): string {
  const path = tmp.join(`config-${++files}.yml`);
  writeFileSync(path, text);
  return path;
}

/** A replica written by `replicate` from a live writer: a snapshot, then one level-0 file per sync. */
async function replicated(name: string, url: (dir: string) => string, env: Record<string, string> = {}): Promise<{ dir: string; db: string; url: string; last: number }> {
  const dir = tmp.join(name);
  const db = join(dir, "app.db");
  copyDatabase(template, db);
  const target = url(dir);
  const config = writeConfig(join(dir, "litestream.yml"), { dbs: [{ path: db, replicas: [{ url: target, "sync-interval": "100ms" }] }] });
  const proc = await startReplicate(["-config", config], { env, ready: "started" });
  const writer = await Writer.start(db, { rate: 100 });
  await sleep(1500);
  const last = await writer.stop();
  proc.signal("SIGTERM");
  expect((await proc.exited).code).toBe(0);
  return { dir, db, url: target, last };
}

describe.skipIf(!built)(`bad input${needsBuild}`, () => {
  describe("unknown config keys stop replicate, naming the file, line, column and key", () => {
    const cases = [
      ["top level", 'addr: ":0"\nlevles:\n  - interval: 1s\ndbs:\n  - path: /tmp/a.db\n    replica:\n      path: /tmp/r\n', ':2:1: levles: unknown key (did you mean "levels"?)'],
      [
        "database",
        "dbs:\n  - path: /tmp/a.db\n    monitor-intervall: 1s\n    replica:\n      path: /tmp/r\n",
        ':3:5: dbs[0].monitor-intervall: unknown key (did you mean "monitor-interval"?)',
      ],
      // (cli.test.ts covers the first replica; this is the second one of the second database.)
      [
        "replica",
        "dbs:\n  - path: /tmp/a.db\n    replica: { path: /tmp/r }\n  - path: /tmp/b.db\n    replicas:\n      - path: /tmp/r2\n      - url: s3://b/p\n        sync-intervl: 1s\n",
        ':8:9: dbs[1].replicas[1].sync-intervl: unknown key (did you mean "sync-interval"?)',
      ],
      ["nested block", "snapshot:\n  interval: 1h\n  retain: 2h\ndbs:\n  - path: /tmp/a.db\n    replica: { path: /tmp/r }\n", ":3:3: snapshot.retain: unknown key"],
    ] as const;
    it.each(cases)("%s", async (_level, text, tail) => {
      const file = configFile(text);
      const r = await runCli(["replicate", "-config", file]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(`error: ${file}${tail}`);
    });
  });

  describe("wrong replica URLs are refused before anything runs, naming the URL's fault", () => {
    const db = (): string => {
      const path = tmp.join("url-db", "app.db");
      if (!existsSync(path)) copyDatabase(template, path);
      return path;
    };
    const cases = [
      ["an unknown scheme", "foo://bucket/db", "unknown replica scheme foo:// in foo://bucket/db (supported: file, s3, "],
      ["oss:// (not supported yet)", "oss://bucket/db", "replica scheme oss:// is not supported by sqlrep yet (supported: file, s3, "],
      [
        "an unknown query parameter",
        "s3://bucket/db?endpint=http://127.0.0.1:9",
        // The known list goes on (every key the s3 backend declares); its start names the one meant.
        'unknown query parameter "endpint" in replica URL s3://bucket/db?endpint=http://127.0.0.1:9 (known: endpoint, region,',
      ],
      [
        "a query parameter that is not a boolean",
        "s3://bucket/db?force-path-style=maybe",
        "query parameter force-path-style=maybe in s3://bucket/db?force-path-style=maybe is not a boolean",
      ],
      ["a query parameter on a file URL", "file:///tmp/r?region=x", 'unknown query parameter "region" in replica URL file:///tmp/r?region=x'],
      ["a file URL with a host", "file://host/tmp/r", "file URL file://host/tmp/r must not name a host"],
      ["an S3 URL without a bucket", "s3:///db", "has no bucket"],
    ] as const;
    it.each(cases)("%s: replicate and restore", async (_what, url, message) => {
      const rep = await runCli(["replicate", db(), url]);
      expect(rep.code, rep.stderr).toBe(1);
      expect(rep.stderr).toContain(message);
      expect(rep.stdout).toBe("");
      const out = tmp.join("url-out", "x.db");
      const res = await runCli(["restore", "-o", out, url]);
      expect(res.code, res.stderr).toBe(1);
      expect(res.stderr).toContain(message);
      expect(existsSync(out)).toBe(false);
    });

    it("in a config file, with the file and line of the url key", async () => {
      const file = configFile(`dbs:\n  - path: ${db()}\n    replicas:\n      - url: oss://bucket/db\n`);
      const r = await runCli(["replicate", "-config", file]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(`^error: ${file.replace(/[.]/g, "\\.")}:4:\\d+: dbs\\[0\\]\\.replicas\\[0\\]\\.url: replica scheme oss:// is not supported by sqlrep yet`),
      );
    });
  });

  describe("a damaged replica: the restore fails, names the file, and leaves nothing behind", () => {
    it("directory replica: a flipped byte in a middle LTX file", async () => {
      const { dir, url } = await replicated("corrupt-dir", (d) => `file://${join(d, "replica")}`);
      const level0 = join(dir, "replica", "ltx", "0");
      const names = readdirSync(level0)
        .filter((n) => n.endsWith(".ltx"))
        .sort();
      expect(names.length).toBeGreaterThanOrEqual(5);
      const victim = names[Math.floor(names.length / 2)]!;
      const bytes = readFileSync(join(level0, victim));
      const offset = Math.floor(bytes.length / 2);
      bytes[offset] = bytes[offset]! ^ 0x5a;
      writeFileSync(join(level0, victim), bytes);

      const { output, result } = await runRestore(dir, url);
      console.log(`[corrupt ${victim} at byte ${offset}] ${result.stderr.trim()}`);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(victim);
      expect(result.stderr).toMatch(/level 0/);
      expect(existsSync(output)).toBe(false);
      expect(readdirSync(dir).filter((n) => n.includes(".tmp"))).toEqual([]);
      // A TXID before the damage still restores.
      const before = Number.parseInt(names[0]!.slice(0, 16), 16);
      const ok = await restore(dir, url, { txid: before });
      expectHistoryState(ok.output, `restore -txid ${before}`);
    }, 60_000);

    it("directory replica: a deleted middle LTX file is a gap, named by its TXIDs", async () => {
      const { dir, url } = await replicated("missing-dir", (d) => `file://${join(d, "replica")}`);
      const level0 = join(dir, "replica", "ltx", "0");
      const names = readdirSync(level0)
        .filter((n) => n.endsWith(".ltx"))
        .sort();
      expect(names.length).toBeGreaterThanOrEqual(5);
      const victim = names[Math.floor(names.length / 2)]!;
      rmSync(join(level0, victim));
      const txid = victim.slice(0, 16);

      const { output, result } = await runRestore(dir, url);
      console.log(`[deleted ${victim}] ${result.stderr.trim()}`);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`TXIDs ${txid}…${txid} are missing`);
      expect(existsSync(output)).toBe(false);
    }, 60_000);

    it("S3 replica: a flipped byte in one middle object, and a deleted other one", async () => {
      const env = s3Env(suite.s3);
      const { dir, url } = await replicated("corrupt-s3", () => suite.s3.url("corrupt"), env);
      const client = replicaClient(url, suite.s3);
      const level0: { level: number; minTXID: number; maxTXID: number; size: number }[] = [];
      for await (const f of client.ltxFiles(0)) level0.push(f);
      expect(level0.length).toBeGreaterThanOrEqual(6);
      const name = (f: { minTXID: number; maxTXID: number }) => `${f.minTXID.toString(16).padStart(16, "0")}-${f.maxTXID.toString(16).padStart(16, "0")}.ltx`;

      // The object rewritten with one byte flipped (the client stores bytes as given).
      const victim = level0[Math.floor(level0.length / 2)]!;
      const bytes = await client.readLtxRange(victim, 0, victim.size);
      bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x5a;
      await client.writeLtxFile(victim, bytes);
      const corrupt = await runRestore(dir, url, { env });
      console.log(`[S3 corrupt ${name(victim)}] ${corrupt.result.stderr.trim()}`);
      expect(corrupt.result.code).toBe(1);
      expect(corrupt.result.stderr).toContain(name(victim));
      expect(existsSync(corrupt.output)).toBe(false);

      const gone = level0[Math.floor(level0.length / 2) - 2]!;
      await client.deleteLtxFiles([gone]);
      const missing = await runRestore(dir, url, { env });
      console.log(`[S3 deleted ${name(gone)}] ${missing.result.stderr.trim()}`);
      expect(missing.result.code).toBe(1);
      const hex = gone.minTXID.toString(16).padStart(16, "0");
      expect(missing.result.stderr).toContain(`TXIDs ${hex}…${hex} are missing`);
      expect(existsSync(missing.output)).toBe(false);
    }, 60_000);
  });

  describe("a database that is not in WAL mode", () => {
    it("from a config with a WAL database beside it: replicate exits non-zero naming it, and nothing was uploaded", async () => {
      const wal = tmp.join("mixed", "wal.db");
      copyDatabase(template, wal);
      const journal = tmp.join("mixed", "journal.db");
      const conn = new Database(journal);
      conn.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)");
      conn.close();
      const file = configFile(
        [
          "dbs:",
          `  - path: ${wal}`,
          `    replica: { path: ${tmp.join("mixed", "wal-replica")} }`,
          `  - path: ${journal}`,
          `    replica: { path: ${tmp.join("mixed", "journal-replica")} }`,
          "",
        ].join("\n"),
      );
      const r = await runCli(["replicate", "-config", file], { timeoutMs: 30_000 });
      console.log(`[non-WAL] ${r.stderr.trim()}`);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${journal} is in journal mode "delete", not WAL`);
      expect(r.stderr).toContain("PRAGMA journal_mode=WAL");
      // Nothing started: neither database was uploaded.
      expect(existsSync(tmp.join("mixed", "journal-replica", "ltx"))).toBe(false);
      expect(existsSync(tmp.join("mixed", "wal-replica", "ltx"))).toBe(false);
    });

    it("a file that is not a SQLite database at all", async () => {
      const path = tmp.join("garbage.db");
      writeFileSync(path, Buffer.alloc(8192, 0x41));
      const r = await runCli(["replicate", path, `file://${tmp.join("garbage-replica")}`], { timeoutMs: 30_000 });
      console.log(`[not SQLite] ${r.stderr.trim()}`);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(path);
      expect(r.stderr).toMatch(/not a database|file is not a database/i);
    });
  });
});
