// What is mounted at fuse.dir when the daemon starts: nothing, a dead mount left by a
// killed daemon (cleared, as LiteFS does unless -skip-unmount), or a live one (refused).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Logger } from "@sqlrep/runtime";
import { LitefsError } from "./errors.js";

/** Whether `path` is a mount point now (/proc/self/mountinfo). */
export function isMountPoint(path: string): boolean {
  const target = resolve(path);
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const field = line.split(" ")[4];
    if (field !== undefined && field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))) === target) return true;
  }
  return false;
}

/**
 * Clears a stale FUSE mount at `dir` (its daemon died: every access fails with
 * ENOTCONN). A live mount there is another daemon's: `LitefsError("mount-in-use")`.
 */
export function clearStaleMount(dir: string, logger: Logger): void {
  if (!isMountPoint(dir)) return;
  let stale = false;
  try {
    // opendir always reaches the daemon (a stat may be answered from the kernel's attribute cache)
    readdirSync(dir);
  } catch (err) {
    stale = (err as NodeJS.ErrnoException).code === "ENOTCONN";
    if (!stale) throw new LitefsError("mount-in-use", `fuse.dir ${dir} is a mount point that cannot be read: ${(err as Error).message}`, { cause: err });
  }
  if (!stale) throw new LitefsError("mount-in-use", `fuse.dir ${dir} is already mounted (another litefs mount running?); stop it or pick another fuse.dir`);
  logger.info("clearing the stale mount of a daemon that did not stop cleanly", { dir });
  for (const args of [
    ["-u", dir],
    ["-uz", dir],
  ]) {
    try {
      execFileSync("fusermount", args, { stdio: "ignore" });
    } catch {
      // busy: the lazy unmount below detaches it anyway
    }
    if (!isMountPoint(dir)) return;
  }
  throw new LitefsError("mount-in-use", `cannot clear the stale mount at fuse.dir ${dir} (fusermount -uz failed)`);
}
