/**
 * Where a restore's output goes, shared by the v0.5 and the legacy restore: the checks
 * before writing, and putting the finished temp file in place durably.
 */
import { lstat, rm } from "node:fs/promises";
import { replaceFile, syncDirectory } from "@sqlrep/page-file";
import { ReplicaError, throwIfAborted } from "./errors.js";
import { ioError } from "./restore-write.js";

/** Files beside a database that SQLite would apply to (or pair with) whatever database it finds. */
const SIDE_FILES = ["-wal", "-journal"] as const;
/** What `overwrite` removes beside the output before the rename. */
const STALE_FILES = ["-wal", "-shm", "-journal"] as const;

/** Refuses to replace a database (or to pair a new one with a stale WAL or journal) unless asked. */
export async function checkOutput(output: string, overwrite: boolean): Promise<void> {
  if (overwrite) return;
  for (const path of [output, ...SIDE_FILES.map((s) => output + s)]) {
    if ((await lstat(path).catch(() => undefined)) !== undefined) {
      const what = path === output ? "the output" : "a file SQLite would apply to the restored database";
      throw new ReplicaError("exists", `${path} exists (${what}); remove it, or restore to another path`, { key: path });
    }
  }
}

/** How a finished temp file becomes the output. */
export interface InstallOptions {
  /** Runs on the temp file first; a throw is a `corrupt` restore. */
  verify?: ((path: string) => void | Promise<void>) | undefined;
  /** Removes a stale `-wal`, `-shm` and `-journal` beside the output. */
  overwrite?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * `verify` on the fsynced temp file, then (with `overwrite`) the stale side files
 * removed, the rename over the output and an fsync of the directory so the rename
 * survives a crash (`replaceFile` of the page writer). The caller removes the temp file
 * when this throws.
 */
export async function installRestored(temp: string, output: string, options: InstallOptions): Promise<void> {
  await verifyRestored(temp, options.verify);
  throwIfAborted(options.signal);
  if (options.overwrite) for (const suffix of STALE_FILES) await rm(output + suffix, { force: true });
  await replaceFile(temp, output).catch((err: unknown) => {
    throw ioError(err, `cannot rename ${temp} to ${output}`);
  });
}

/** Runs `verify` on the finished temp file; its throw becomes a `corrupt` restore naming the file. */
export async function verifyRestored(temp: string, verify: InstallOptions["verify"]): Promise<void> {
  if (verify === undefined) return;
  try {
    await verify(temp);
  } catch (err) {
    throw new ReplicaError("corrupt", `verification of the restored database ${temp} failed: ${(err as Error).message}`, { cause: err, key: temp });
  }
}

/** fsync of a directory (the page writer's): what makes a rename or a new file in it durable. */
export { syncDirectory };
