// Test helpers: `litefs mount` daemons as child processes (the built dist/cli.js), each
// with its own litefs.yml, mount and data directory, and SQLite clients in other processes.
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { lockctlBinary } from "@sqlrep/fuse/testing";
import { freePort, spawnProcess, unmountFuse, waitFor, type ProcessHandle } from "@sqlrep/testkit";

const run = promisify(execFile);

/** The built CLI the daemons run. */
export const CLI = join(dirname(fileURLToPath(import.meta.url)), "../../dist/cli.js");
/** Where better-sqlite3 resolves for child scripts. */
export const APP_DIR = join(dirname(fileURLToPath(import.meta.url)), "../..");

/** One daemon. */
export interface TestNode {
  readonly name: string;
  readonly dir: string;
  readonly mnt: string;
  readonly data: string;
  readonly port: number;
  readonly url: string;
  readonly config: string;
  process: ProcessHandle;
  /** Starts it again on the same directories and port (after `kill` or `stop`). */
  restart(ready?: RegExp): Promise<void>;
  /** SIGTERM, then the mount cleared if it was left behind. */
  stop(): Promise<void>;
}

/** The lease part of a node's config. */
export type LeaseYaml = string;

/** Writes `<root>/<name>.yml` and starts `litefs mount` on it; resolves when `ready` is printed. */
export async function startNode(
  root: string,
  name: string,
  lease: (self: { port: number; url: string }) => LeaseYaml,
  options: { port?: number; extra?: string; ready?: RegExp; args?: string[] } = {},
): Promise<TestNode> {
  const port = options.port ?? (await freePort());
  const dir = join(root, name);
  const mnt = join(dir, "mnt");
  const data = join(dir, "data");
  mkdirSync(dir, { recursive: true });
  const url = `http://127.0.0.1:${port}`;
  const config = join(dir, "litefs.yml");
  writeFileSync(config, `fuse: {dir: ${mnt}}\ndata: {dir: ${data}}\nhttp: {addr: "127.0.0.1:${port}"}\n${lease({ port, url })}\n${options.extra ?? ""}`);
  const spawn = (ready: RegExp) => spawnProcess(process.execPath, [CLI, "mount", "-config", config, ...(options.args ?? [])], { name, ready, readyTimeoutMs: 20_000, cwd: dir });
  const node: TestNode = {
    name,
    dir,
    mnt,
    data,
    port,
    url,
    config,
    process: await spawn(options.ready ?? /node is ready/),
    async restart(ready = /node is ready/) {
      node.process = await spawn(ready);
    },
    async stop() {
      if (node.process.exitStatus === undefined) await node.process.stop(10_000);
      unmountFuse(mnt);
    },
  };
  return node;
}

/** `<db>-pos` of a mount: `{ txid, checksum }` as hex strings, or undefined when absent. */
export function readPos(mnt: string, db: string): { txid: number; checksum: string; text: string } | undefined {
  try {
    const text = readFileSync(join(mnt, `${db}-pos`), "utf8");
    const [txid, checksum] = text.trim().split("/");
    return { txid: parseInt(txid!, 16), checksum: checksum!, text };
  } catch {
    return undefined;
  }
}

/** Waits until every mount shows the same `<db>-pos` as the first one; returns it. */
export async function waitConverged(mnts: readonly string[], db: string, timeoutMs = 15_000): Promise<string> {
  return waitFor(
    () => {
      const texts = mnts.map((m) => readPos(m, db)?.text);
      return texts[0] !== undefined && texts[0].startsWith("0000") && texts.every((t) => t === texts[0]) && readPos(mnts[0]!, db)!.txid > 0 ? texts[0] : undefined;
    },
    { timeoutMs, message: `${db} converged on ${mnts.join(", ")}` },
  );
}

/**
 * A process holding fcntl locks on one file: @sqlrep/fuse's test helper `lockctl`
 * (Node has no fcntl), from `@sqlrep/fuse/testing`. Commands: `open rw|append`,
 * `F_OFD_SETLKW w|u 72 1`…; each answers "ok" or "err <errno>".
 */
export async function lockProcess(file: string): Promise<{ run(command: string): Promise<string>; stop(): Promise<void> }> {
  const proc = await spawnProcess(lockctlBinary(), [file], { name: "lockctl", stdin: "pipe" });
  let answered = 0;
  return {
    async run(command) {
      const index = answered++;
      let seen = -1;
      proc.stdin!.write(`${command}\n`);
      return proc.waitForLine(() => ++seen === index, 15_000);
    },
    async stop() {
      proc.stdin!.end();
      await proc.stop(2_000);
    },
  };
}

/** Runs SQL through the `sqlite3` shell; rejects with its stderr. */
export async function sqlite3(db: string, sql: string): Promise<string> {
  const { stdout } = await run("sqlite3", [db, sql], { timeout: 30_000 });
  return stdout.trim();
}

/** Starts an ES module script in its own node process, ready once it prints a line matching `ready`. */
export function startScript(script: string, args: string[], ready: RegExp): Promise<ProcessHandle> {
  return spawnProcess(process.execPath, ["--input-type=module", "-e", script, ...args], { cwd: APP_DIR, ready, name: "script", readyTimeoutMs: 20_000 });
}

/** Runs an ES module script with better-sqlite3 in its own node process; resolves with its stdout. */
export async function nodeScript(script: string, args: string[] = [], timeoutMs = 60_000): Promise<string> {
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script, ...args], { cwd: APP_DIR, timeout: timeoutMs, maxBuffer: 64 << 20 });
  return stdout.trim().split("\n").at(-1) ?? "";
}
