// What a FUSE daemon finds at its mount point when it starts: nothing, a dead mount a killed
// daemon left behind (every access fails with ENOTCONN; cleared), or a live one (refused).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { FuseError } from "./errors.js";
import type { FuseLogger } from "./mount.js";

/** Whether `path` is a mount point now (read from /proc/self/mountinfo). */
export function isMountPoint(path: string): boolean {
  const target = resolve(path);
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const field = line.split(" ")[4];
    // mountinfo escapes space, tab, newline and backslash as \ooo
    if (field !== undefined && field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))) === target) return true;
  }
  return false;
}

/** Options of {@link clearStaleMount}. */
export interface ClearStaleMountOptions {
  /** Told when a stale mount is found and cleared. */
  logger?: Pick<FuseLogger, "info"> | undefined;
}

/**
 * Clears a stale FUSE mount at `dir`, one whose daemon died without unmounting; returns
 * whether there was one. Nothing mounted there is a no-op. A live mount belongs to a
 * running daemon and is left alone: `FuseError("mount-in-use")`, also when it cannot
 * be cleared (fusermount failed).
 */
export function clearStaleMount(dir: string, options: ClearStaleMountOptions = {}): boolean {
  if (!isMountPoint(dir)) return false;
  let stale = false;
  try {
    // opendir always reaches the daemon (a stat may be answered from the kernel's attribute cache)
    readdirSync(dir);
  } catch (err) {
    stale = (err as NodeJS.ErrnoException).code === "ENOTCONN";
    if (!stale) throw new FuseError("mount-in-use", `${dir} is a mount point that cannot be read: ${(err as Error).message}`, { cause: err, file: dir });
  }
  if (!stale) throw new FuseError("mount-in-use", `${dir} is already mounted (another daemon serving it?); stop it or mount elsewhere`, { file: dir });
  options.logger?.info(`clearing the stale mount at ${dir} of a daemon that did not stop cleanly`);
  for (const args of [
    ["-u", dir],
    ["-uz", dir],
  ]) {
    try {
      execFileSync("fusermount", args, { stdio: "ignore" });
    } catch {
      // busy: the lazy unmount below detaches it anyway
    }
    if (!isMountPoint(dir)) return true;
  }
  throw new FuseError("mount-in-use", `cannot clear the stale mount at ${dir} (fusermount -uz failed)`, { file: dir });
}
