/** Test helpers: run the built CLI as a child process, seed replicas with snapshots, and create and read test databases. */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { encodeLtx } from "@sqlrep/ltx";
import type { ReplicaClient } from "@sqlrep/replica";

/** The built CLI the tests run as a child process: the bundle `bin` points at (scripts/bundle.mjs). */
export const CLI = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "dist", "litestream.js");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/litestream.js …args` to completion. */
export async function runCli(args: readonly string[], options: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, LITESTREAM_CONFIG: "/nonexistent/litestream.yml", LOG_LEVEL: "" };
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { env, cwd: options.cwd, timeout: options.timeoutMs ?? 60_000, encoding: "utf8" });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") throw err;
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/**
 * Writes the database file at `dbPath` (not in WAL mode, or checkpointed) to a replica
 * as a level-9 snapshot ending at `txid`, stamped `timestamp`: a stand-in for what the
 * backup engine uploads, so that restore, ltx and status are tested on real SQLite files.
 */
export async function writeSnapshot(client: ReplicaClient, dbPath: string, txid: number, timestamp: Date): Promise<void> {
  const bytes = readFileSync(dbPath);
  const raw = (bytes[16]! << 8) | bytes[17]!;
  const pageSize = raw === 1 ? 65536 : raw;
  const commit = bytes.length / pageSize;
  const pages = Array.from({ length: commit }, (_, i) => ({ pgno: i + 1, data: bytes.subarray(i * pageSize, (i + 1) * pageSize) }));
  const body = encodeLtx({ pageSize, commit, minTXID: 1, maxTXID: txid, timestamp: timestamp.getTime() }, pages);
  await client.writeLtxFile({ level: 9, minTXID: 1, maxTXID: txid }, body, { timestamp });
}

export { addRows, createDatabase, readDatabase } from "@sqlrep/testkit";
