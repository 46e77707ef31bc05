// Starts test daemons (src/testing/daemon.ts) as child processes on temporary mount
// points and data directories, talks to them, and always unmounts.
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnProcess, tempDir, tempMountDir, unmountFuse, type ProcessHandle, type TempDir } from "@sqlrep/testkit";
import { lockctlBinary } from "../testing.js";
import type { TestDaemonConfig } from "./daemon.js";

/** The package root (packages/fuse). */
export const packageRoot = fileURLToPath(new URL("../..", import.meta.url));

let built: string | undefined;

/** Transpiles the current sources for child processes once per process (scripts/build-testing.mjs). */
export async function testDist(): Promise<string> {
  if (!built) {
    const script = join(packageRoot, "scripts", "build-testing.mjs");
    const { buildTesting } = (await import(script)) as { buildTesting: () => string };
    built = buildTesting();
  }
  return built;
}

/** A running test daemon. */
export interface TestDaemon {
  readonly mountpoint: string;
  readonly dataDir: string;
  readonly ltxDir: string;
  readonly process: ProcessHandle;
  /** Sends a command; resolves with the daemon's answer. */
  send<T = Record<string, unknown>>(cmd: string, timeoutMs?: number): Promise<T>;
  /** Lines the daemon logged at warn or error level so far. */
  warnings(): string[];
  /** Waits for a warn or error line containing every one of `parts` (logs cross a pipe: they lag). */
  waitForWarning(parts: readonly string[], timeoutMs?: number): Promise<string>;
  /** SIGTERM (it unmounts), then unmounts whatever is left and removes the directories. */
  stop(): Promise<void>;
}

/** Options of {@link startTestDaemon}: the config minus the directories it creates. */
export interface StartTestDaemonOptions extends Partial<Omit<TestDaemonConfig, "role">> {
  role: TestDaemonConfig["role"];
  name?: string;
}

/**
 * Starts a daemon with its own mount point and data directory (and an LTX directory
 * for a primary; a replica reads `ltxDir`, normally its primary's).
 */
export async function startTestDaemon(options: StartTestDaemonOptions): Promise<TestDaemon> {
  const dist = await testDist();
  const mnt = tempMountDir();
  const work: TempDir = tempDir("sqlrep-fuse-");
  const config: TestDaemonConfig = {
    role: options.role,
    mountpoint: options.mountpoint ?? mnt.path,
    dataDir: options.dataDir ?? work.join("data"),
    ltxDir: options.ltxDir ?? work.join("ltx"),
    primaryHostname: options.primaryHostname,
    durability: options.durability,
    discard: options.discard,
    pollMs: options.pollMs,
    debug: options.debug,
  };
  mkdirSync(config.dataDir, { recursive: true });
  const proc = await spawnProcess(process.execPath, [join(dist, "testing", "daemon.js"), JSON.stringify(config)], {
    name: options.name ?? `fuse-${options.role}`,
    ready: /^ready /,
    stdin: "pipe",
    readyTimeoutMs: 15_000,
  });
  let nextId = 1;
  const daemon: TestDaemon = {
    mountpoint: config.mountpoint,
    dataDir: config.dataDir,
    ltxDir: config.ltxDir,
    process: proc,
    async send<T>(cmd: string, timeoutMs = 30_000): Promise<T> {
      const id = nextId++;
      const from = proc.output().length;
      proc.stdin!.write(`${JSON.stringify({ id, cmd })}\n`);
      const line = await proc.waitForLine((l) => l.startsWith(`{"id":${id},`), timeoutMs, Math.max(0, from - 5));
      const answer = JSON.parse(line) as T & { error?: string };
      if (answer.error) throw new Error(`daemon ${cmd}: ${answer.error}`);
      return answer;
    },
    warnings: () => proc.output().filter((l) => l.startsWith("[warn]") || l.startsWith("[error]")),
    waitForWarning: (parts, timeoutMs = 5_000) =>
      proc.waitForLine((l) => (l.startsWith("[warn]") || l.startsWith("[error]")) && parts.every((part) => l.includes(part)), timeoutMs),
    async stop() {
      if (!proc.exitStatus) await proc.stop(10_000);
      unmountFuse(config.mountpoint);
      mnt.remove();
      work.remove();
    },
  };
  return daemon;
}

/** Drives fcntl locks on one file from a separate process (lockctl). */
export interface LockClient {
  /** Sends one command line; resolves with its answer ("ok", "err 11", "getlk w 72 1 1234"). */
  run(command: string, timeoutMs?: number): Promise<string>;
  /** Sends a command without waiting (a blocking F_SETLKW); `answer()` waits for it. */
  start(command: string): void;
  answer(timeoutMs?: number): Promise<string>;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts a lockctl process on `file`. */
export async function lockClient(file: string): Promise<LockClient> {
  const proc = await spawnProcess(lockctlBinary(), [file], { name: "lockctl", stdin: "pipe" });
  let answered = 0;
  const answer = async (timeoutMs = 10_000) => {
    const index = answered++;
    let seen = -1;
    return proc.waitForLine(() => ++seen === index, timeoutMs);
  };
  return {
    pid: proc.pid,
    start(command) {
      proc.stdin!.write(`${command}\n`);
    },
    answer,
    async run(command, timeoutMs) {
      proc.stdin!.write(`${command}\n`);
      return answer(timeoutMs);
    },
    async stop() {
      proc.stdin!.end();
      await proc.stop(2_000);
    },
  };
}

/** Runs the better-sqlite3 child (src/testing/sqlite-child.ts) to completion; returns its JSON lines. */
export async function sqliteChild(args: readonly string[], timeoutMs = 60_000): Promise<Record<string, unknown>[]> {
  const proc = await spawnProcess(process.execPath, [join(await testDist(), "testing", "sqlite-child.js"), ...args], { name: `sqlite-child ${args[0]}` });
  const timer = setTimeout(() => proc.kill(), timeoutMs);
  const status = await proc.exited;
  clearTimeout(timer);
  const lines = proc
    .output()
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  if (status.code !== 0) throw new Error(`sqlite-child ${args.join(" ")} exited with ${status.code ?? status.signal}: ${proc.output().slice(-5).join(" | ")}`);
  return lines;
}

/** Starts the better-sqlite3 child without waiting (a long-open reader). */
export async function startSqliteChild(args: readonly string[]): Promise<ProcessHandle> {
  return spawnProcess(process.execPath, [join(await testDist(), "testing", "sqlite-child.js"), ...args], {
    name: `sqlite-child ${args[0]}`,
    stdin: "pipe",
    ready: /"started":true/,
  });
}

/** Runs SQL in the `sqlite3` shell; returns { status, stdout, stderr }. */
export function sqlite3(db: string, sql: string): { status: number; stdout: string; stderr: string } {
  const result = spawnSync("sqlite3", [db], { input: sql, encoding: "utf8", timeout: 60_000 });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Whether the `sqlite3` shell is installed. */
export const hasSqlite3Shell: boolean = spawnSync("sqlite3", ["-version"]).status === 0;
