/** Test helpers: a WAL database with a reader pinning it, and another process that commits to it and then runs its own TRUNCATE checkpoint (which waits for that reader). */
import { spawn } from "node:child_process";
import Database from "better-sqlite3";
import { waitFor } from "@sqlrep/testkit";

/** A WAL database with table `t` (one row), and a second connection whose open read transaction pins the WAL's current end. */
export function pinnedWalDatabase(path: string): { db: Database.Database; reader: Database.Database; close(): void } {
  const db = new Database(path);
  db.pragma("journal_mode = wal");
  db.exec("CREATE TABLE t (x)");
  db.exec("INSERT INTO t VALUES (1)");
  const reader = new Database(path);
  reader.exec("BEGIN");
  reader.prepare("SELECT count(*) FROM t").get();
  return {
    db,
    reader,
    close() {
      reader.close();
      db.close();
    },
  };
}

/** The other process: its progress, and its checkpoint's answer once it returned. */
export interface AppCheckpoint {
  /** Resolves once the process committed (its checkpoint starts right after). */
  committed(): Promise<void>;
  /** Resolves with the checkpoint's `busy` and how long it took, once it returned. */
  finished(): Promise<{ busy: number; ms: number }>;
  /** Whether the checkpoint has returned. */
  readonly done: boolean;
  kill(): void;
}

/**
 * Starts a process that inserts a row into `t` of `path`, says so, then runs
 * `wal_checkpoint(TRUNCATE)` with a 20 s busy timeout: a checkpoint that holds SQLite's
 * checkpointer lock for as long as some reader keeps it waiting.
 */
export function startAppCheckpoint(path: string): AppCheckpoint {
  const script = [
    "const D = require('better-sqlite3');",
    `const c = new D(${JSON.stringify(path)});`,
    "c.pragma('busy_timeout = 20000');",
    "c.exec('INSERT INTO t VALUES (2)');",
    "process.stdout.write('committed\\n');",
    "const t0 = Date.now(); const r = c.pragma('wal_checkpoint(TRUNCATE)')[0];",
    "process.stdout.write(JSON.stringify({ busy: r.busy, ms: Date.now() - t0 }) + '\\n');",
  ].join("\n");
  // Run from this package, whose node_modules holds better-sqlite3.
  const child = spawn(process.execPath, ["-e", script], { cwd: import.meta.dirname, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (b: Buffer) => {
    out += b.toString();
  });
  const result = () => out.split("\n").find((l) => l.startsWith("{"));
  return {
    async committed() {
      await waitFor(() => out.includes("committed"), { timeoutMs: 15_000, message: "the other process's commit" });
    },
    async finished() {
      await waitFor(() => result() !== undefined, { timeoutMs: 15_000, message: "the other process's checkpoint returning" });
      return JSON.parse(result()!) as { busy: number; ms: number };
    },
    get done() {
      return result() !== undefined;
    },
    kill: () => void child.kill(),
  };
}
