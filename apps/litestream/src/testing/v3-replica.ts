/** Test helper: replicas written by the real Litestream v0.3.13 binary, one generation per run, for the v0.3 compatibility tests. */
import { execFile } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { repoRoot, spawnProcess, type ProcessHandle } from "@sqlrep/testkit";
import Database from "better-sqlite3";

/** The real Litestream v0.3.13 binary (npm `@flydotio/litestream-linux-x64`). */
export const LITESTREAM_V3 = join(repoRoot, "node_modules", "@flydotio", "litestream-linux-x64", "litestream");
export const litestreamV3Available = existsSync(LITESTREAM_V3);

/**
 * A database replicated by the real Litestream v0.3.13 (`replicate -config`), written
 * row by row from this process between runs: each `generation()` starts replicate,
 * writes, stops it and checkpoints (TRUNCATE), so the next one is a new generation.
 */
export class V3Replica {
  readonly db: string;
  readonly config: string;
  rows = 0;

  constructor(dir: string, replicaYaml: string) {
    this.db = join(dir, "app.db");
    this.config = join(dir, "litestream-v3.yml");
    const yaml = [
      "dbs:",
      `  - path: ${this.db}`,
      "    monitor-interval: 100ms",
      "    min-checkpoint-page-count: 30",
      "    replicas:",
      replicaYaml,
      "        sync-interval: 200ms",
      "",
    ];
    writeFileSync(this.config, yaml.join("\n"));
    const db = new Database(this.db);
    db.pragma("journal_mode = wal");
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
    db.close();
  }

  /** Runs replicate while `rows` rows are inserted one transaction each; `snapshot`: wait for a new generation's snapshot first. */
  async generation(rows: number, options: { snapshot?: boolean; checkpoint?: boolean; paceMs?: number } = {}): Promise<void> {
    const proc: ProcessHandle = await spawnProcess(LITESTREAM_V3, ["replicate", "-config", this.config], {
      name: "litestream-v0.3.13",
      ready: /replicating to/,
      readyTimeoutMs: 15_000,
    });
    try {
      if (options.snapshot ?? true) await proc.waitForLine(/snapshot written/, 15_000);
      const db = new Database(this.db, { timeout: 5000 });
      const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
      for (let i = 0; i < rows; i++) {
        insert.run(`row ${++this.rows} ${"z".repeat(600)}`);
        await sleep(options.paceMs ?? 40);
      }
      db.close();
      await sleep(400); // one more sync interval
    } finally {
      await proc.stop(10_000);
    }
    if (options.checkpoint ?? true) {
      const db = new Database(this.db, { timeout: 5000 });
      db.pragma("wal_checkpoint(TRUNCATE)");
      db.close();
    }
  }

  /** Runs the v0.3.13 binary with `args`; resolves with stdout (async: the test's S3 server runs in this process). */
  static async run(args: readonly string[], env: Record<string, string> = {}): Promise<string> {
    const { stdout } = await promisify(execFile)(LITESTREAM_V3, args, { env: { ...process.env, ...env }, timeout: 60_000, encoding: "utf8" });
    return stdout;
  }
}
