// Helpers of the extension's end-to-end tests: hosts in their own processes (the sqlite3
// shell, better-sqlite3, Debian's python3), `litestream replicate`/`restore` of
// apps/litestream as children, a writer, and cleanup of the page servers they start.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnProcess, stopAllProcesses, tempDir, type ProcessHandle, type S3Server, type TempDir } from "@sqlrep/testkit";

const here = dirname(fileURLToPath(import.meta.url));
const appDir = join(here, "..", "..");
export const EXTENSION = join(appDir, "lib", "litestream-vfs.so");
export const SERVER = join(appDir, "dist", "server.js");
export const CLI = join(appDir, "..", "litestream", "dist", "cli.js");
const HOST = join(here, "host.mjs");
const WRITER = join(here, "writer.mjs");
export const PYTHON = "/usr/bin/python3";

/** Whether the extension, the page server and the litestream CLI are built. */
export const built = existsSync(EXTENSION) && existsSync(SERVER) && existsSync(CLI);
export const needsBuild = built ? "" : " (skipped: needs `pnpm turbo run build --filter @sqlrep/litestream-vfs... --filter @sqlrep/litestream...`)";

/** Why Debian's python3 cannot run these tests, or undefined when it can. */
export function pythonUnusable(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing`;
  const r = spawnSync(PYTHON, ["-c", "import sqlite3; sqlite3.connect(':memory:').enable_load_extension(True)"], { encoding: "utf8" });
  return r.status === 0 ? undefined : `${PYTHON} cannot load SQLite extensions (${r.stderr.trim().split("\n").pop()})`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A suite's directories: scratch space and a short private runtime dir for the page servers. */
export interface VfsSuite {
  tmp: TempDir;
  runtime: string;
  cleanup(): Promise<void>;
}

export function vfsSuite(name: string): VfsSuite {
  const tmp = tempDir(`sqlrep-vfs-${name}-`);
  // Unix socket paths are short: the runtime dir lives directly under /tmp.
  const runtime = mkdtempSync(`/tmp/vfsrt-`);
  chmodSync(runtime, 0o700);
  return {
    tmp,
    runtime,
    async cleanup() {
      await stopAllProcesses();
      killServers(runtime);
      rmSync(runtime, { recursive: true, force: true });
      tmp.remove();
      scratch?.remove();
      scratch = undefined;
    },
  };
}

/** The environment of a host process using the extension on `url`. */
export function vfsEnv(suite: VfsSuite, url: string, extra: Record<string, string> = {}, s3?: S3Server): Record<string, string> {
  return {
    LITESTREAM_REPLICA_URL: url,
    SQLREP_VFS_RUNTIME_DIR: suite.runtime,
    SQLREP_VFS_IDLE_TIMEOUT: "3s",
    LITESTREAM_LOG_LEVEL: "DEBUG",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    ...(s3 ? s3Env(s3) : {}),
    ...extra,
  };
}

/** Credentials of the testkit's S3 server, by Litestream's names. */
export function s3Env(s3: S3Server): Record<string, string> {
  return { LITESTREAM_ACCESS_KEY_ID: s3.accessKeyId, LITESTREAM_SECRET_ACCESS_KEY: s3.secretAccessKey, AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" };
}

/** Pids of the page servers running under a runtime dir. */
export function serverPids(runtime: string): number[] {
  if (!existsSync(runtime)) return [];
  return readdirSync(runtime)
    .filter((f) => f.endsWith(".pid"))
    .map((f) => Number(readFileSync(join(runtime, f), "utf8").trim()))
    .filter((pid) => Number.isSafeInteger(pid) && alive(pid));
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGKILLs every page server of a runtime dir (what a crash leaves behind). */
export function killServers(runtime: string): number[] {
  const pids = serverPids(runtime);
  for (const pid of pids) process.kill(pid, "SIGKILL");
  return pids;
}

/** The page servers' log lines under a runtime dir. */
export function serverLog(runtime: string): string {
  if (!existsSync(runtime)) return "";
  return readdirSync(runtime)
    .filter((f) => f.endsWith(".log") || f.endsWith(".out"))
    .map((f) => readFileSync(join(runtime, f), "utf8"))
    .join("");
}

/** What a finished child printed. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

let scratch: TempDir | undefined;

/**
 * The working directory of every SQLite host a test starts: a host that opens
 * `file:app.db?vfs=litestream` without the extension (the failure tests) creates a file by
 * that literal name in its working directory, which must not be the repository.
 */
export function hostCwd(): string {
  scratch ??= tempDir("sqlrep-vfs-hosts-");
  return scratch.path;
}

/** Runs a program to completion with `input` on stdin. */
export async function run(command: string, args: string[], env: Record<string, string>, input = "", timeoutMs = 60_000): Promise<RunResult> {
  const { spawn } = await import("node:child_process");
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: hostCwd(), env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/** The stock sqlite3 shell with the extension loaded, running `sql` on `file:app.db?vfs=litestream`. */
export function sqliteShell(env: Record<string, string>, sql: string, options: { bail?: boolean } = {}): Promise<RunResult> {
  const script = `.load ${EXTENSION.replace(/\.so$/, "")}\n.open file:app.db?vfs=litestream\n${sql}\n`;
  return run("sqlite3", options.bail === false ? [] : ["-bail"], env, script);
}

/** Debian's python3 with the extension loaded; `body` runs with `db` open on the replica. */
export function python(env: Record<string, string>, body: string): Promise<RunResult> {
  const script = [
    "import sqlite3, sys",
    "loader = sqlite3.connect(':memory:')",
    "loader.enable_load_extension(True)",
    `loader.load_extension(${JSON.stringify(EXTENSION.replace(/\.so$/, ""))})`,
    "db = sqlite3.connect('file:app.db?vfs=litestream', uri=True, isolation_level=None)",
    body,
  ].join("\n");
  return run(PYTHON, ["-c", script], env);
}

/** A better-sqlite3 host process driven one command at a time. */
export class Host {
  private next = 0;

  private constructor(readonly handle: ProcessHandle) {}

  static async start(env: Record<string, string>, options: { load?: boolean; open?: boolean } = {}): Promise<Host> {
    const handle = await spawnProcess(process.execPath, [HOST, EXTENSION], { cwd: hostCwd(), env, stdin: "pipe", ready: /^host ready$/, name: "host" });
    const host = new Host(handle);
    if (options.load !== false) await host.ok({ op: "load" });
    if (options.open !== false && options.load !== false) await host.ok({ op: "open" });
    return host;
  }

  /** Runs a command; resolves with the answer (ok or error). */
  async call(
    cmd: Record<string, unknown>,
    timeoutMs = 30_000,
  ): Promise<{ ok: boolean; rows?: unknown[][]; value?: unknown; result?: unknown; error?: { code: string; message: string } }> {
    const id = ++this.next;
    const from = this.handle.output().length;
    this.handle.stdin!.write(`${JSON.stringify({ id, raw: true, ...cmd })}\n`);
    const line = await this.handle.waitForLine((l) => l.startsWith(`{"id":${id},`), timeoutMs, from);
    return JSON.parse(line);
  }

  /** Runs a command that must succeed. */
  async ok(cmd: Record<string, unknown>): Promise<{ rows?: unknown[][]; value?: unknown }> {
    const r = await this.call(cmd);
    if (!r.ok) throw new Error(`host: ${JSON.stringify(cmd)} failed: ${r.error?.code} ${r.error?.message}\n${this.handle.output().slice(-10).join("\n")}`);
    return r;
  }

  async rows(sql: string, db = "main"): Promise<unknown[][]> {
    return (await this.ok({ op: "all", sql, db })).rows!;
  }

  /** What the host printed on stderr/stdout that is not an answer (the extension's messages). */
  messages(): string[] {
    return this.handle.output().filter((l) => !l.startsWith("{") && l !== "host ready");
  }

  async exit(): Promise<void> {
    this.handle.stdin!.write(`${JSON.stringify({ op: "exit" })}\n`);
    await this.handle.exited;
  }
}

/** `litestream replicate DB URL` (apps/litestream) with a short sync interval. */
export async function replicate(db: string, url: string, env: Record<string, string> = {}): Promise<ProcessHandle> {
  const config = join(dirname(db), `litestream-${Date.now()}.yml`);
  const { writeFileSync } = await import("node:fs");
  writeFileSync(config, `dbs:\n  - path: ${db}\n    replicas:\n      - url: ${url}\n        sync-interval: 100ms\n`);
  return spawnProcess(process.execPath, [CLI, "replicate", "-config", config], {
    name: "replicate",
    env: { LOG_LEVEL: "", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...env },
    ready: /msg="replication started"/,
    readyTimeoutMs: 30_000,
  });
}

/** The writer process: one row per transaction at `rate`/s; `count` rows or until stopped. */
export async function writer(db: string, rate: number, count?: number): Promise<ProcessHandle> {
  return spawnProcess(process.execPath, [WRITER, db, String(rate), ...(count === undefined ? [] : [String(count)])], { name: "writer", ready: /^writer ready$/ });
}

/** The commits a writer printed: row id and when COMMIT returned. */
export function commits(handle: ProcessHandle): { id: number; at: number }[] {
  return handle
    .output()
    .map((l) => /^commit (\d+) (\d+)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ id: Number(m[1]), at: Number(m[2]) }));
}

/** `litestream restore` of apps/litestream; returns its result and the output path. */
export async function litestreamRestore(url: string, output: string, args: string[] = [], env: Record<string, string> = {}): Promise<RunResult> {
  return run(process.execPath, [CLI, "restore", ...args, "-o", output, url], { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...env });
}

/** Rows of a plain database file, through the sqlite3 shell (never the extension). */
export function fileRows(path: string, sql: string): string {
  return execFileSync("sqlite3", [path, sql], { encoding: "utf8" });
}
