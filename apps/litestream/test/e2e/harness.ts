// Helpers of the end-to-end tests: the writer process, `litestream replicate` as a child
// process (its log parsed for what it reported as synced), restores through the CLI, and
// checks of a restored database against the writer's deterministic history.
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeHeader, HEADER_SIZE } from "@sqlrep/ltx";
import { createFileReplicaClient, ReplicaRegistry, SNAPSHOT_LEVEL, type ReplicaClient } from "@sqlrep/replica";
import { createS3ReplicaClient, s3Backend } from "@sqlrep/replica-s3";
import { spawnProcess, startS3Server, stopAllProcesses, tempDir, type ProcessHandle, type S3Server, type TempDir } from "@sqlrep/testkit";
import Database from "better-sqlite3";
import { afterAll, beforeAll, expect } from "vitest";
import { CLI, runCli, type RunResult } from "../../src/testing/seed.js";
import { modelRows, type ModelRow } from "./model.mjs";

export { CLI, runCli, type RunResult };

const here = dirname(fileURLToPath(import.meta.url));
/** The writer script (a separate node process). */
export const WRITER = join(here, "writer.mjs");
/** Whether the CLI was built (the tests run `dist/cli.js`). */
export const built = existsSync(CLI);
/** The title suffix of a suite that needs the build. */
export const needsBuild = built ? "" : " — skipped: needs a build (pnpm turbo run build --filter @sqlrep/litestream...)";

// ---------------------------------------------------------------------------------------
// Seeds

/** mulberry32: a small seeded PRNG, so a trial's choices replay from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed from `$name` (decimal or 0x hex) or `fallback`. */
export function seedFrom(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name}=${text}: expected a non-negative integer seed`);
  return n;
}

/** Helpers over a PRNG. */
export function chooser(random: () => number): { int(min: number, max: number): number; pick<T>(items: readonly T[]): T; chance(p: number): boolean } {
  return {
    int: (min, max) => min + Math.floor(random() * (max - min + 1)),
    pick: (items) => items[Math.floor(random() * items.length)]!,
    chance: (p) => random() < p,
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------
// The writer

/** One commit of the writer: when BEGIN was issued and when COMMIT returned (wall-clock ms). */
export interface Commit {
  i: number;
  started: number;
  returned: number;
}

/** Options of the writer process (writer.mjs). */
export interface WriterOptions {
  /** Transactions per second; 0 as fast as possible. */
  rate?: number;
  count?: number;
  quiet?: boolean;
  checkpointAfter?: number;
  checkpointEvery?: number;
  checkpointMode?: "PASSIVE" | "FULL" | "RESTART" | "TRUNCATE";
}

/** The writer as a child process. */
export class Writer {
  private constructor(
    readonly handle: ProcessHandle,
    /** The first transaction it commits. */
    readonly first: number,
  ) {}

  /** Starts the writer on `db` (created in WAL mode if absent) and waits until it is about to commit. */
  static async start(db: string, options: WriterOptions = {}): Promise<Writer> {
    const json = JSON.stringify({ ...options, count: Number.isFinite(options.count) ? options.count : undefined });
    const handle = await spawnProcess(process.execPath, [WRITER, db, json], { name: "writer", ready: /^writer ready next=\d+$/, readyTimeoutMs: 20_000 });
    const ready = handle.output().find((l) => l.startsWith("writer ready"))!;
    return new Writer(handle, Number(/next=(\d+)/.exec(ready)![1]));
  }

  /** Runs the writer to completion (`count` must be set) and returns its commits. */
  static async run(db: string, options: WriterOptions & { count: number }): Promise<Commit[]> {
    const writer = await Writer.start(db, options);
    const status = await writer.handle.exited;
    if (status.code !== 0) throw new Error(`writer exited with ${JSON.stringify(status)}:\n${writer.handle.output().slice(-20).join("\n")}`);
    return writer.commits();
  }

  /** The commits printed so far. */
  commits(): Commit[] {
    const commits: Commit[] = [];
    for (const line of this.handle.output()) {
      const m = /^commit (\d+) (\d+\.\d+) (\d+\.\d+)$/.exec(line);
      if (m) commits.push({ i: Number(m[1]), started: Number(m[2]), returned: Number(m[3]) });
    }
    return commits;
  }

  /** SIGTERM (the running transaction finishes), then the last transaction committed. */
  async stop(): Promise<number> {
    this.handle.signal("SIGTERM");
    const status = await this.handle.exited;
    const output = this.handle.output();
    const done = output.find((l) => l.startsWith("writer done"));
    if (status.code !== 0 || done === undefined) throw new Error(`writer failed (${JSON.stringify(status)}):\n${output.slice(-20).join("\n")}`);
    return Number(/last=(\d+)/.exec(done)![1]);
  }
}

/** A WAL-mode database holding transactions 1..count of the history, fully checkpointed (no -wal left). */
export async function prefilledDatabase(path: string, count: number): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  await Writer.run(path, { rate: 0, count, quiet: true });
  if (existsSync(`${path}-wal`)) throw new Error(`${path}-wal is left after the writer closed`);
}

/** Copies a checkpointed database (made by {@link prefilledDatabase}) to `path`. */
export function copyDatabase(from: string, path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  copyFileSync(from, path);
}

/** What every end-to-end suite starts from; see {@link e2eSuite}. */
export interface E2eSuite {
  readonly tmp: TempDir;
  /** A checkpointed database of the history's first transactions, copied by each test. */
  readonly template: string;
  /** The suite's S3 server on 127.0.0.1 (started before the suite's first test). */
  readonly s3: S3Server;
}

/**
 * Registers the hooks of an end-to-end suite: a temp dir (prefix `sqlrep-e2e-<name>-`),
 * an S3 server and a template database of `rows` transactions before the first test
 * (only when the CLI is built: the suite is skipped otherwise), and after the last, every
 * child process stopped, the server stopped, the temp dir removed.
 */
export function e2eSuite(name: string, rows: number): E2eSuite {
  const tmp = tempDir(`sqlrep-e2e-${name}-`);
  const template = tmp.join("template", "app.db");
  let s3: S3Server | undefined;
  beforeAll(async () => {
    if (!built) return;
    s3 = await startS3Server();
    await prefilledDatabase(template, rows);
  }, 60_000);
  afterAll(async () => {
    await stopAllProcesses();
    await s3?.stop();
    tmp.remove();
  }, 30_000);
  return {
    tmp,
    template,
    get s3(): S3Server {
      if (s3 === undefined) throw new Error(`the ${name} suite's S3 server is not running (it starts in beforeAll, when the CLI is built)`);
      return s3;
    },
  };
}

// ---------------------------------------------------------------------------------------
// litestream replicate

/** Credentials for the testkit's S3 server, by Litestream's variable names. */
export function s3Env(s3: S3Server): Record<string, string> {
  return { LITESTREAM_ACCESS_KEY_ID: s3.accessKeyId, LITESTREAM_SECRET_ACCESS_KEY: s3.secretAccessKey, AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" };
}

/**
 * Starts `litestream replicate …args` and resolves once it has logged its replicas,
 * before the engine starts (so a kill can land in the initial snapshot). Pass
 * `ready: "started"` to wait for "replication started".
 */
export function startReplicate(args: readonly string[], options: { env?: Record<string, string>; ready?: "logged" | "started"; name?: string } = {}): Promise<ProcessHandle> {
  const ready = options.ready === "started" ? /msg="replication started"/ : /msg="replicating to"/;
  return spawnProcess(process.execPath, [CLI, "replicate", ...args], {
    name: options.name ?? "litestream",
    env: { LOG_LEVEL: "", LITESTREAM_CONFIG: "/nonexistent/litestream.yml", ...options.env },
    ready,
    readyTimeoutMs: 30_000,
  });
}

/** Fails the test (softly: the rest still runs) if a process printed Node warnings. */
export function expectNoWarnings(lines: readonly string[], what: string): void {
  expect
    .soft(
      lines.filter((l) => /Warning:/.test(l)),
      `Node warnings printed by ${what}`,
    )
    .toEqual([]);
}

/** A TXID as the CLI prints it (16 hex digits) → number. */
export function parseTxid(hex: string): number {
  return Number.parseInt(hex, 16);
}

/** An event of the replicate log that moved a replica's position. */
export interface SyncedLine {
  kind: "sync" | "snapshot";
  txid: number;
  /** The log line's time (after the upload finished). */
  at: number;
  line: string;
}

/** Every "replica sync" and "snapshot uploaded" line of a replicate log, in order. */
export function syncedLines(lines: readonly string[]): SyncedLine[] {
  const out: SyncedLine[] = [];
  for (const line of lines) {
    const m = /^time=(\S+) level=\w+ msg="(replica sync|snapshot uploaded)" .*\btxid=([0-9a-f]{16})\b/.exec(line);
    if (m) out.push({ kind: m[2] === "replica sync" ? "sync" : "snapshot", txid: parseTxid(m[3]!), at: Date.parse(m[1]!), line });
  }
  return out;
}

/** The highest TXID a replicate log reported as uploaded (0: none). */
export function lastSyncedTxid(lines: readonly string[]): number {
  return Math.max(0, ...syncedLines(lines).map((s) => s.txid));
}

/** A minimal YAML writer for the configs of these tests (maps, lists, scalars). */
export function toYaml(value: unknown, indent = ""): string {
  if (Array.isArray(value)) {
    return value
      .map((item) => {
        const body = toYaml(item, `${indent}  `);
        return typeof item === "object" && item !== null ? `${indent}- ${body.trimStart()}` : `${indent}- ${body.trim()}\n`;
      })
      .join("");
  }
  if (typeof value === "object" && value !== null) {
    return Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => (typeof v === "object" && v !== null ? `${indent}${k}:\n${toYaml(v, `${indent}  `)}` : `${indent}${k}: ${String(v)}\n`))
      .join("");
  }
  return `${String(value)}\n`;
}

/** Writes `config` as YAML to `path` and returns the path. */
export function writeConfig(path: string, config: Record<string, unknown>): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, toYaml(config));
  return path;
}

// ---------------------------------------------------------------------------------------
// Restores

/** What `litestream restore` said, parsed. */
export interface Restored {
  output: string;
  txid: number;
  files: number;
  checksumVerified: boolean;
  integrityOk: boolean;
  stdout: string;
}

let outputs = 0;

/**
 * `litestream restore -integrity-check -o OUT [-txid|-timestamp] URL`; fails the test
 * unless it exits 0 with the summary line. Returns what the summary says.
 */
export async function restore(dir: string, url: string, options: { env?: Record<string, string>; txid?: number; timestamp?: number } = {}): Promise<Restored> {
  return expectRestored(await runRestore(dir, url, options), url, options);
}

/** Checks a restore's raw result as {@link restore} does: exit 0, quiet stderr, the summary line. */
export function expectRestored(r: { output: string; result: RunResult }, url: string, options: { txid?: number; timestamp?: number } = {}): Restored {
  const what = `restore ${url} ${options.txid !== undefined ? `-txid ${options.txid}` : options.timestamp !== undefined ? `-timestamp ${new Date(options.timestamp).toISOString()}` : "(latest)"}`;
  expectQuietStderr(r.result.stderr, what);
  expect(r.result.code, `${what}: ${r.result.stderr}`).toBe(0);
  const m =
    /^restored (\S+) from .*: TXID ([0-9a-f]{16}) \([^)]*\), [^,]+, (\d+) LTX files, (database checksum verified|database checksum not verified[^,]*), (integrity_check ok)\n$/.exec(
      r.result.stdout,
    );
  expect(m, `summary line: ${r.result.stdout}`).not.toBeNull();
  return {
    output: r.output,
    txid: parseTxid(m![2]!),
    files: Number(m![3]),
    checksumVerified: m![4] === "database checksum verified",
    integrityOk: m![5] === "integrity_check ok",
    stdout: r.result.stdout,
  };
}

const reported = new Set<string>();

/**
 * A successful restore prints nothing on stderr. Anything there is a defect of its own,
 * so it fails the test softly (the restore's result is still checked), once per test and
 * distinct message (process ids aside).
 */
function expectQuietStderr(stderr: string, what: string): void {
  if (stderr === "") return;
  const key = `${expect.getState().currentTestName ?? ""}\0${stderr.replace(/\(node:\d+\)/g, "(node)")}`;
  if (reported.has(key)) return;
  reported.add(key);
  expect.soft(stderr, `stderr of ${what}`).toBe("");
}

/** Runs a restore and returns the raw result (for the restores that must fail). */
export async function runRestore(
  dir: string,
  url: string,
  options: { env?: Record<string, string>; txid?: number; timestamp?: number } = {},
): Promise<{ output: string; result: RunResult }> {
  const output = join(dir, `restored-${++outputs}.db`);
  const args = ["restore", "-integrity-check", "-o", output];
  if (options.txid !== undefined) args.push("-txid", options.txid.toString(16));
  if (options.timestamp !== undefined) args.push("-timestamp", new Date(options.timestamp).toISOString());
  args.push(url);
  return { output, result: await runCli(args, { env: options.env ?? {}, timeoutMs: 120_000 }) };
}

/** The rows of `t` and SQLite's integrity check of a database file. */
export function readTable(path: string): { rows: ModelRow[]; integrity: string } {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const integrity = db.pragma("integrity_check", { simple: true }) as string;
    const rows = db.prepare("SELECT id, v, h FROM t ORDER BY id").all() as ModelRow[];
    return { rows, integrity };
  } finally {
    db.close();
  }
}

/**
 * Checks that the database at `path` passes `integrity_check` and is exactly the state
 * after transactions 1..k of the history, for the k its largest row names; returns k
 * (0 for an empty table).
 */
export function expectHistoryState(path: string, what: string): number {
  const { rows, integrity } = readTable(path);
  expect(integrity, `${what}: integrity_check`).toBe("ok");
  const k = rows.at(-1)?.id ?? 0;
  const expected = modelRows(k);
  if (rows.length !== expected.length || rows.some((r, i) => r.id !== expected[i]!.id || r.v !== expected[i]!.v || r.h !== expected[i]!.h)) {
    const first = rows.findIndex((r, i) => r.id !== expected[i]?.id || r.v !== expected[i]?.v || r.h !== expected[i]?.h);
    expect.fail(
      `${what}: not the state after transaction ${k}: ${rows.length} rows, expected ${expected.length}; first difference at row index ${first} (id ${rows[first]?.id} vs ${expected[first]?.id})`,
    );
  }
  return k;
}

// ---------------------------------------------------------------------------------------
// Reading replicas directly (timestamps, corruption)

/** A client for a replica URL (S3 ones with the test server's credentials). */
export function replicaClient(url: string, s3?: S3Server): ReplicaClient {
  if (url.startsWith("file://")) return createFileReplicaClient(url.slice("file://".length));
  if (s3 === undefined) throw new Error(`${url} needs the S3 server`);
  // The SDK otherwise warns on every client that its 2027 releases need Node 22 (as the CLI does).
  process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] ??= "true";
  const registry = new ReplicaRegistry([s3Backend]).register("s3", (spec) =>
    createS3ReplicaClient(spec, { env: { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey } }),
  );
  return registry.create(url);
}

/** An LTX file of a replica with the timestamp from its header. */
export interface TimedFile {
  level: number;
  minTXID: number;
  maxTXID: number;
  timestamp: number;
}

/** The files of `levels` with their header timestamps, by level then MinTXID. */
export async function timedFiles(client: ReplicaClient, levels: readonly number[] = [0, SNAPSHOT_LEVEL]): Promise<TimedFile[]> {
  const out: TimedFile[] = [];
  for (const level of levels) {
    for await (const f of client.ltxFiles(level)) {
      const header = decodeHeader(await client.readLtxRange(f, 0, HEADER_SIZE));
      out.push({ level, minTXID: f.minTXID, maxTXID: f.maxTXID, timestamp: header.timestamp });
    }
  }
  return out;
}
