/**
 * Real Litestream v0.3.13 replicas, written during the test: the Go binary from npm
 * `@flydotio/litestream-linux-x64` replicates a database that `sqlite3` processes
 * write to, with short intervals so that a few seconds give several WAL indexes,
 * mid-stream snapshots and (with external checkpoints between runs) several
 * generations. Every transaction also records its number in `meta.k`, so a restored
 * database says which commit it holds, and `expectedRows(k)` is what it must contain.
 */
import { execFile } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { repoRoot, spawnProcess, type ProcessHandle } from "@sqlrep/testkit";

const run = promisify(execFile);

/** The real v0.3.13 binary. */
export const litestreamV3 = join(repoRoot, "node_modules", "@flydotio", "litestream-linux-x64", "litestream");
/** Why the real-binary tests cannot run here, or undefined when they can. */
export const litestreamV3Missing: string | undefined = !existsSync(litestreamV3)
  ? `${litestreamV3} is missing (npm @flydotio/litestream-linux-x64)`
  : !["/usr/bin/sqlite3", "/usr/local/bin/sqlite3", "/bin/sqlite3"].some((p) => existsSync(p))
    ? "the sqlite3 shell is missing"
    : undefined;

/** One committed transaction of the writer. */
export interface Commit {
  k: number;
  /** When the writer process exited (the commit is durable in the WAL by then). */
  at: Date;
  /** Only a small insert (no update or delete). */
  quiet: boolean;
}

export interface ScenarioOptions {
  /** The `replicas:` entry (YAML lines, indented for the list item, without `sync-interval`/`snapshot-interval`). */
  replica: string;
  /** Extra per-database settings (YAML lines). */
  db?: string;
  snapshotInterval?: string;
}

/**
 * A database under `litestream replicate`. `write` commits transactions (inserts,
 * periodic updates touching many pages, deletes) through short-lived `sqlite3`
 * processes; `stop` / `start` / `externalCheckpoint` make new generations.
 */
export class V3Scenario {
  readonly db: string;
  readonly config: string;
  readonly commits: Commit[] = [];
  /** `litestream replicate` output of every run so far. */
  readonly log: string[] = [];
  private process: ProcessHandle | undefined;

  constructor(
    readonly dir: string,
    options: ScenarioOptions,
  ) {
    this.db = join(dir, "source.db");
    this.config = join(dir, "litestream.yml");
    const yaml = [
      "dbs:",
      `  - path: ${this.db}`,
      "    monitor-interval: 100ms",
      "    checkpoint-interval: 1m",
      "    min-checkpoint-page-count: 60",
      ...(options.db ? [options.db] : []),
      "    replicas:",
      options.replica,
      "        sync-interval: 200ms",
      `        snapshot-interval: ${options.snapshotInterval ?? "1500ms"}`,
      "",
    ].join("\n");
    writeFileSync(this.config, yaml);
  }

  /** Creates the database (WAL mode, the tables) without committing any counted transaction. */
  async create(): Promise<void> {
    await sql(
      this.db,
      "PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, n INTEGER NOT NULL, v TEXT NOT NULL); CREATE TABLE meta(k INTEGER); INSERT INTO meta VALUES (0);",
    );
  }

  /** Starts `litestream replicate` and waits until it has written the snapshot of a new generation. */
  async start(): Promise<void> {
    this.process = await spawnProcess(litestreamV3, ["replicate", "-config", this.config], { name: "litestream-v0.3.13", ready: /replicating to/, readyTimeoutMs: 15_000 });
    await this.process.waitForLine(/snapshot written/, 15_000);
  }

  /** Stops replicate (SIGTERM: it syncs once more, then exits). */
  async stop(): Promise<void> {
    const p = this.process;
    if (p === undefined) return;
    this.process = undefined;
    await p.stop(10_000);
    this.log.push(...p.output());
  }

  /** `PRAGMA wal_checkpoint(TRUNCATE)` by another process: the next `start` begins a new generation. */
  async externalCheckpoint(): Promise<void> {
    await sql(this.db, "PRAGMA wal_checkpoint(TRUNCATE);");
  }

  /** Commits `n` transactions, `pauseMs` apart; `quiet` ones only insert a small row (few pages, no checkpoint). */
  async write(n: number, options: { pauseMs?: number; quiet?: boolean } = {}): Promise<void> {
    for (let i = 0; i < n; i++) {
      const k = this.commits.length + 1;
      const quiet = options.quiet ?? false;
      await sql(this.db, transaction(k, quiet));
      this.commits.push({ k, at: new Date(), quiet });
      if (options.pauseMs) await sleep(options.pauseMs);
    }
  }

  /** The last commit whose process had exited by `time`: a restore to `time` holds no later one. */
  committedBy(time: Date): number {
    let k = 0;
    for (const c of this.commits) if (c.at <= time) k = c.k;
    return k;
  }

  /** The rows `(id, n)` after commit `k`, as `inspect` prints them. */
  expectedRows(k: number): string {
    const rows = new Map<number, number>();
    for (const c of this.commits.slice(0, k)) {
      const j = c.k;
      rows.set(j, 0);
      if (!c.quiet && j % 4 === 0) for (const id of rows.keys()) if (id % 5 === j % 5) rows.set(id, rows.get(id)! + 1);
      if (!c.quiet && j % 10 === 0) rows.delete(j - 7);
    }
    return [...rows].map(([id, n]) => `${id}:${n}`).join(",");
  }
}

/** The statements of transaction `k`. */
function transaction(k: number, quiet: boolean): string {
  const parts = [`INSERT INTO t VALUES (${k}, 0, ${quiet ? `'${k}:q'` : `printf('%d:', ${k}) || hex(zeroblob(700))`});`];
  if (!quiet && k % 4 === 0) parts.push(`UPDATE t SET n = n + 1 WHERE id % 5 = ${k % 5};`);
  if (!quiet && k % 10 === 0) parts.push(`DELETE FROM t WHERE id = ${k - 7};`);
  parts.push(`UPDATE meta SET k = ${k};`);
  return `BEGIN IMMEDIATE; ${parts.join(" ")} COMMIT;`;
}

/** What a restored database holds: its `meta.k`, `(id, n)` rows, rows whose text is wrong, and `integrity_check`. */
export async function inspect(path: string): Promise<{ k: number; rows: string; badRows: number; integrity: string }> {
  const out = await sql(
    path,
    [
      "SELECT k FROM meta;",
      "SELECT coalesce(group_concat(id || ':' || n, ','), '') FROM (SELECT id, n FROM t ORDER BY id);",
      "SELECT count(*) FROM t WHERE v NOT IN (printf('%d:', id) || hex(zeroblob(700)), id || ':q');",
      "PRAGMA integrity_check;",
    ].join(" "),
    ["-readonly"],
  );
  const [k, rows, bad, ...integrity] = out.trimEnd().split("\n");
  return { k: Number(k), rows: rows ?? "", badRows: Number(bad), integrity: integrity.join("\n") };
}

/** Runs statements in the sqlite3 shell (busy timeout 5 s); resolves with its output. */
export async function sql(path: string, statements: string, flags: string[] = []): Promise<string> {
  const { stdout } = await run("sqlite3", [...flags, "-cmd", ".timeout 5000", path, statements], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/**
 * Runs the v0.3.13 binary (`restore …`, `snapshots …`): resolves with its output, rejects
 * with it on failure. Asynchronous on purpose: the test's S3 server runs in this process.
 */
export async function litestreamV3Run(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(litestreamV3, args, { maxBuffer: 16 * 1024 * 1024, timeout: 60_000 });
}
