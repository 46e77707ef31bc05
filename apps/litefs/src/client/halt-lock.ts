/**
 * LiteFS's halt lock from Node, which has no fcntl: a small native helper
 * (native/halt-lock.c, built with the system C compiler at build time or on first use)
 * opens `<db>-lock` and holds the blocking OFD write lock on byte 72 that the mount
 * turns into a halt of the primary, until it is told to let go or this process dies.
 */
import { execFileSync, spawn, type ChildProcessByStdio } from "node:child_process";
import { existsSync, mkdirSync, renameSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Readable, Writable } from "node:stream";
import { LitefsError } from "../errors.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SOURCE = `${ROOT}native/halt-lock.c`;
/** Where the build puts the helper. */
export const HALT_HELPER = `${ROOT}dist/halt-lock`;

/** The helper's path, compiled now if the build did not (or its source is newer). */
export function haltHelper(): string {
  const fresh = existsSync(HALT_HELPER) && (!existsSync(SOURCE) || statSync(HALT_HELPER).mtimeMs >= statSync(SOURCE).mtimeMs);
  if (fresh) return HALT_HELPER;
  const tmp = `${HALT_HELPER}.${process.pid}.tmp`;
  try {
    mkdirSync(`${ROOT}dist`, { recursive: true });
    execFileSync("cc", ["-O2", "-o", tmp, SOURCE], { stdio: ["ignore", "ignore", "pipe"] });
    renameSync(tmp, HALT_HELPER);
  } catch (err) {
    throw new LitefsError("halt", `-with-halt-lock-on needs its lock helper ${HALT_HELPER}, and building it from ${SOURCE} with cc failed: ${(err as Error).message}`, {
      cause: err,
      file: SOURCE,
    });
  }
  return HALT_HELPER;
}

/** A held halt lock. */
export interface HaltLock {
  /** The `-lock` file. */
  readonly file: string;
  /** Unlocks byte 72 and closes the file; resolves once the helper confirmed it. */
  release(): Promise<void>;
}

/**
 * Takes the halt lock on `<db>-lock` (waiting as long as the mount makes it wait: the
 * primary's halt, the catch-up). `signal` gives up waiting (the helper is killed, which
 * drops the lock if it was just granted).
 */
export async function takeHaltLock(db: string, signal?: AbortSignal): Promise<HaltLock> {
  const file = `${db}-lock`;
  const helper: ChildProcessByStdio<Writable, Readable, null> = spawn(haltHelper(), [file], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = lineReader(helper);
  const onAbort = () => helper.kill("SIGTERM");
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const first = await lines.next();
    if (first === "locked") {
      return {
        file,
        async release() {
          helper.stdin.end("unlock\n");
          const answer = await lines.next();
          if (answer !== "unlocked") throw haltError(file, "release", answer);
        },
      };
    }
    helper.kill("SIGTERM");
    if (signal?.aborted) throw new LitefsError("halt", `waiting for the halt lock on ${file}: aborted`, { file });
    throw haltError(file, "take", first);
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

function haltError(file: string, what: string, answer: string | undefined): LitefsError {
  const m = answer === undefined ? null : /^error (\d+) (.*)$/.exec(answer);
  if (m !== null && m[2]!.startsWith("open:") && Number(m[1]) === 2) {
    return new LitefsError("halt", `lock file ${file} not available: is its directory a LiteFS mount? (${m[2]})`, { file });
  }
  return new LitefsError("halt", `could not ${what} the halt lock on ${file}: ${m === null ? (answer ?? "the lock helper exited") : m[2]}`, { file });
}

/** Reads the helper's answers one line at a time; undefined once it exited. */
function lineReader(child: ChildProcessByStdio<Writable, Readable, null>): { next(): Promise<string | undefined> } {
  const queue: string[] = [];
  const waiters: ((line: string | undefined) => void)[] = [];
  let buf = "";
  let ended = false;
  const push = (line: string | undefined) => {
    const w = waiters.shift();
    if (w !== undefined) w(line);
    else if (line !== undefined) queue.push(line);
  };
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    buf += chunk;
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  const end = () => {
    ended = true;
    while (waiters.length > 0) waiters.shift()!(undefined);
  };
  child.on("close", end);
  child.on("error", end);
  child.stdin.on("error", () => undefined);
  return {
    next: () => (queue.length > 0 ? Promise.resolve(queue.shift()) : ended ? Promise.resolve(undefined) : new Promise((resolve) => waiters.push(resolve))),
  };
}
