// The `exec` child of a daemon (`litestream replicate -exec`, LiteFS's `exec:`): runs with our
// stdio and environment, gets our signals while it runs, and its exit code becomes ours.
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { RuntimeError } from "./errors.js";
import type { Shutdown } from "./shutdown.js";

/** How a child ended. */
export interface ChildExit {
  /** Its exit status, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** What to exit with: the status, or 128 + the signal's number (as a shell reports it). */
  exitCode: number;
}

/** Options of {@link runChild}. */
export interface RunChildOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Default "inherit": the child writes to our stdout and stderr. */
  stdio?: "inherit" | "ignore" | "pipe";
  /** While the child runs, this shutdown forwards every signal to it. */
  shutdown?: Shutdown;
}

/**
 * Runs `argv` (no shell; split a command line with `splitShellWords`) and resolves when it
 * exits. Throws RuntimeError("exec") when it cannot start (not found, not executable).
 */
export async function runChild(argv: readonly string[], options: RunChildOptions = {}): Promise<ChildExit> {
  const [command, ...args] = argv;
  if (command === undefined) throw new RuntimeError("exec", "the exec command is empty");
  const child = spawn(command, args, { stdio: options.stdio ?? "inherit", env: options.env ?? process.env, cwd: options.cwd });
  if (options.shutdown) options.shutdown.child = child;
  try {
    const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | Error>((resolve) => {
      child.once("error", resolve);
      child.once("exit", (code, signal) => resolve({ code, signal }));
    });
    if (ended instanceof Error) throw new RuntimeError("exec", `cannot run exec command ${JSON.stringify(command)}: ${ended.message}`, { cause: ended });
    return { ...ended, exitCode: exitCodeOf(ended.code, ended.signal) };
  } finally {
    if (options.shutdown?.child === child) options.shutdown.child = undefined;
  }
}

/** A process's exit code as a shell reports it: the status, or 128 + the number of the signal that ended it. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  return code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
}
