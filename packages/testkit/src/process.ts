/** Runs programs under test as child processes in their own process group: waits until ready, captures output, and never leaves one behind. */
import { spawn, type ChildProcess } from "node:child_process";
import { basename } from "node:path";
import { createInterface } from "node:readline";
import type { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { TestkitError, type TestkitErrorCode } from "./errors.js";
import { httpStatus, isPortOpen } from "./ports.js";

/**
 * When a spawned program counts as ready: a line of its output (stdout or stderr)
 * matching a pattern or predicate, an HTTP URL answering 2xx or 3xx, or a TCP port
 * accepting connections.
 */
export type ReadyCheck = RegExp | ((line: string) => boolean) | { url: string } | { port: number; host?: string };

/** How a child process ended: one of the two is set. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Options of {@link spawnProcess}. */
export interface SpawnOptions {
  /** Added to (not replacing) the test process's environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Names the process in errors and echoed output (default: the command's base name). */
  name?: string;
  /** Resolve only once this holds (default: as soon as the process is spawned). */
  ready?: ReadyCheck;
  /** Give up (and kill the process) when not ready after this long (default 10 000 ms). */
  readyTimeoutMs?: number;
  /** Bytes written to stdin before it is closed, or "pipe" to keep it open (`handle.stdin`). Default: no stdin. */
  stdin?: string | Uint8Array | "pipe";
  /** Also print every line with a `[name]` prefix (default: when SQLREP_TESTKIT_ECHO is set). */
  echo?: boolean;
}

/** A running child process started by {@link spawnProcess}. */
export interface ProcessHandle {
  readonly pid: number;
  readonly name: string;
  /** Writable stdin when spawned with `stdin: "pipe"`, else null. */
  readonly stdin: Writable | null;
  /** Every line printed on stdout and stderr so far (the oldest dropped beyond 100 000). */
  output(): string[];
  /**
   * The first line matching `pattern`, counting from line `fromLine` (0: everything so far).
   * Rejects when the process exits first or `timeoutMs` (default 10 000) passes.
   */
  waitForLine(pattern: RegExp | string | ((line: string) => boolean), timeoutMs?: number, fromLine?: number): Promise<string>;
  /** Sends `sig` to the process itself (not its children). */
  signal(sig: NodeJS.Signals): void;
  /** SIGKILL to the whole process group: the process and everything it started. */
  kill(): void;
  /**
   * SIGTERM to the process, SIGKILL to its group after `timeoutMs` (default 5 000), and
   * SIGKILL to whatever of the group outlived it. Resolves with how the process ended.
   */
  stop(timeoutMs?: number): Promise<ExitStatus>;
  /** Resolves when the process exits, however that happens. */
  readonly exited: Promise<ExitStatus>;
  /** How the process ended, once it has. */
  readonly exitStatus: ExitStatus | undefined;
}

const MAX_LINES = 100_000;
const TAIL_LINES = 30;

/** Process groups that may still have members; killed at exit whatever happens. */
const live = new Set<ChildHandle>();
let hooksInstalled = false;

/**
 * Starts `command` in its own process group and resolves once it is ready. A child that
 * exits first, or is not ready in time (it is then killed), rejects the promise with a
 * {@link TestkitError} that carries its last lines of output. Every child still running
 * when the test process exits, is interrupted (SIGINT, SIGTERM, SIGHUP) or crashes, is
 * killed with its process group; call {@link stopAllProcesses} in `afterAll` to stop
 * them earlier.
 */
export async function spawnProcess(command: string, args: readonly string[] = [], options: SpawnOptions = {}): Promise<ProcessHandle> {
  installHooks();
  const name = options.name ?? basename(command);
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  const input = options.stdin;
  const child = spawn(command, args, {
    cwd: options.cwd,
    env,
    // A new session and process group: signals to the group reach every descendant,
    // and the terminal's Ctrl-C does not (our hooks forward it as a kill).
    detached: true,
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", (error) => reject(new TestkitError("SPAWN_FAILED", `cannot start ${name} (${command}): ${error.message}`, { cause: error })));
  });
  const handle = new ChildHandle(child, name, options.echo ?? Boolean(process.env["SQLREP_TESTKIT_ECHO"]));
  if (input !== undefined && input !== "pipe") child.stdin?.end(input);
  if (options.ready) {
    try {
      await handle.untilReady(options.ready, options.readyTimeoutMs ?? 10_000);
    } catch (error) {
      handle.kill();
      throw error;
    }
  }
  return handle;
}

/** Stops every child started by {@link spawnProcess} that is still running (see `stop()`). */
export async function stopAllProcesses(timeoutMs = 5_000): Promise<void> {
  await Promise.all([...live].map((handle) => handle.stop(timeoutMs)));
}

class ChildHandle implements ProcessHandle {
  readonly pid: number;
  readonly stdin: Writable | null;
  readonly exited: Promise<ExitStatus>;
  exitStatus: ExitStatus | undefined;
  private readonly lines: string[] = [];
  private dropped = 0;
  private readonly listeners = new Set<() => void>();

  constructor(
    child: ChildProcess,
    readonly name: string,
    echo: boolean,
  ) {
    this.pid = child.pid!;
    this.stdin = child.stdin;
    this.stdin?.on("error", () => {}); // EPIPE when the child exits with stdin open
    live.add(this);
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exitStatus = { code, signal };
        // Nothing left of the group: forget it, so its number is never signalled again.
        if (!groupAlive(this.pid)) live.delete(this);
        resolve(this.exitStatus);
        this.notify();
      });
    });
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => {
        if (echo) process.stderr.write(`[${name}] ${line}\n`);
        this.lines.push(line);
        if (this.lines.length > MAX_LINES) {
          this.lines.shift();
          this.dropped += 1;
        }
        this.notify();
      });
    }
  }

  output(): string[] {
    return [...this.lines];
  }

  waitForLine(pattern: RegExp | string | ((line: string) => boolean), timeoutMs = 10_000, fromLine = 0): Promise<string> {
    const test = lineTest(pattern);
    let next = fromLine;
    const describe = `a line matching ${String(pattern)}`;
    return new Promise((resolve, reject) => {
      const check = () => {
        for (let index = Math.max(next, this.dropped); index < this.dropped + this.lines.length; index++) {
          const line = this.lines[index - this.dropped]!;
          if (test(line)) return finish(() => resolve(line));
        }
        next = Math.max(next, this.dropped + this.lines.length);
        if (this.exitStatus) finish(() => reject(this.error("PROCESS_EXITED", `${this.describeExit()} before printing ${describe}`)));
      };
      const timer = setTimeout(() => finish(() => reject(this.error("TIMEOUT", `${this.label()} printed no ${describe} within ${timeoutMs} ms`))), timeoutMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        settle();
      };
      this.listeners.add(check);
      check();
    });
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.exitStatus) signalQuietly(this.pid, sig);
  }

  kill(): void {
    signalQuietly(-this.pid, "SIGKILL");
    live.delete(this);
  }

  async stop(timeoutMs = 5_000): Promise<ExitStatus> {
    if (!this.exitStatus) {
      this.signal("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([this.exited, timedOut]);
      clearTimeout(timer);
    }
    this.kill();
    return this.exited;
  }

  async untilReady(ready: ReadyCheck, timeoutMs: number): Promise<void> {
    if (ready instanceof RegExp || typeof ready === "function") {
      await this.waitForLine(ready, timeoutMs).catch((error: unknown) => {
        throw error instanceof TestkitError && error.code === "TIMEOUT"
          ? this.error("NOT_READY", `${this.label()} was not ready within ${timeoutMs} ms (no line matching ${String(ready)})`)
          : error;
      });
      return;
    }
    const deadline = Date.now() + timeoutMs;
    const what = "url" in ready ? ready.url : `${ready.host ?? "127.0.0.1"}:${ready.port}`;
    const probe = async () => {
      if (!("url" in ready)) return isPortOpen(ready.port, ready.host);
      const status = await httpStatus(ready.url, Math.max(1, Math.min(1_000, deadline - Date.now())));
      return status !== undefined && status >= 200 && status < 400;
    };
    for (;;) {
      if (this.exitStatus) throw this.error("PROCESS_EXITED", `${this.describeExit()} before ${what} answered`);
      if (await probe()) return;
      if (Date.now() >= deadline) {
        throw this.error("NOT_READY", `${this.label()} was not ready within ${timeoutMs} ms (${what} did not answer)`);
      }
      await Promise.race([sleep(50), this.exited]);
    }
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private label(): string {
    return `${this.name} (pid ${this.pid})`;
  }

  private describeExit(): string {
    const { code, signal } = this.exitStatus ?? { code: null, signal: null };
    return `${this.label()} exited with ${signal ? `signal ${signal}` : `code ${code}`}`;
  }

  private error(code: TestkitErrorCode, message: string): TestkitError {
    const tail = this.lines.slice(-TAIL_LINES);
    const shown = tail.length ? `; last output:\n${tail.map((line) => `  ${line}`).join("\n")}` : "; it printed nothing";
    return new TestkitError(code, message + shown, { output: tail });
  }
}

function lineTest(pattern: RegExp | string | ((line: string) => boolean)): (line: string) => boolean {
  if (typeof pattern === "string") return (line) => line.includes(pattern);
  if (pattern instanceof RegExp) {
    // Without g/y, test() keeps no lastIndex between lines.
    const regex = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ""));
    return (line) => regex.test(line);
  }
  return pattern;
}

function signalQuietly(target: number, sig: NodeJS.Signals): void {
  try {
    process.kill(target, sig);
  } catch (error) {
    // ESRCH: already gone, which is what we wanted.
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function killAll(): void {
  for (const handle of [...live]) {
    try {
      handle.kill();
    } catch {
      // at exit there is no one to report to; the other children still need killing
    }
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.once("exit", killAll);
  // Observes a crash without changing it; when nobody handles the exception the process
  // dies without an "exit" event, so this is the last chance.
  process.on("uncaughtExceptionMonitor", () => {
    if (process.listenerCount("uncaughtException") === 0) killAll();
  });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = () => {
      killAll();
      // Alone, we keep the default outcome (death by this signal); others decide for themselves.
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}
