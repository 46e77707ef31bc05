// FUSE mount helpers for tests: whether this machine can mount, a directory to mount
// on, and unmounting that always happens (also of a stale mount a killed daemon left).
import { execFileSync } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { TestkitError } from "./errors.js";
import { tempDir, type TempDir } from "./temp.js";

/** Why FUSE mounts cannot run here, or undefined when they can (root, /dev/fuse, fusermount). */
export function fuseUnavailableReason(): string | undefined {
  try {
    accessSync("/dev/fuse", constants.R_OK | constants.W_OK);
  } catch {
    return "/dev/fuse is missing or not accessible";
  }
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "FUSE tests mount as root and this process is not root";
  if (!commandExists("fusermount")) return "fusermount is not installed (Debian package fuse)";
  return undefined;
}

/** True when {@link fuseUnavailableReason} finds nothing missing. */
export function fuseAvailable(): boolean {
  return fuseUnavailableReason() === undefined;
}

function commandExists(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Whether `path` is a mount point now (from /proc/self/mountinfo). */
export function isMounted(path: string): boolean {
  const target = path.replace(/\/+$/, "");
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const mountPoint = line.split(" ")[4];
    if (mountPoint && unescapeMount(mountPoint) === target) return true;
  }
  return false;
}

function unescapeMount(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * Unmounts `path` if it is mounted: `fusermount -u`, then lazily (`-uz`) when busy,
 * which also clears the "Transport endpoint is not connected" mount of a killed daemon.
 */
export function unmountFuse(path: string): void {
  if (!isMounted(path)) return;
  for (const args of [
    ["-u", path],
    ["-uz", path],
  ]) {
    try {
      execFileSync("fusermount", args, { stdio: "ignore" });
    } catch {
      // busy or already gone: the lazy form below, or nothing left to do
    }
    if (!isMounted(path)) return;
  }
  throw new TestkitError("INVALID_ARGUMENT", `cannot unmount ${path}`);
}

/** Resolves once `path` is mounted (true) or unmounted (false). */
export async function waitForMount(path: string, mounted = true, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isMounted(path) !== mounted) {
    if (Date.now() > deadline) throw new TestkitError("TIMEOUT", `${path} was not ${mounted ? "mounted" : "unmounted"} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** A temporary directory to mount on, unmounted (if still mounted) before it is removed. */
export function tempMountDir(prefix = "sqlrep-mnt-"): TempDir {
  const dir = tempDir(prefix);
  const remove = dir.remove;
  const unmountThenRemove = () => {
    unmountFuse(dir.path);
    remove();
  };
  return Object.assign(dir, { remove: unmountThenRemove, [Symbol.dispose]: unmountThenRemove });
}
