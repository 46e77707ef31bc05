/**
 * `restore -force`: replacing an existing database. The restore goes to a file beside it;
 * only once that is complete and checked are the old database's side files removed and
 * the new file renamed over it, so a failed restore leaves the old database as it was.
 */
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { replaceFile } from "@sqlrep/page-file";

/** The files beside a database SQLite would apply to (or pair with) a new one there. */
const SIDE_FILES = ["-wal", "-journal"] as const;
/** What a replaced database leaves behind that must go with it. */
const STALE_FILES = ["-wal", "-shm", "-journal"] as const;

/** The side files (`-wal`, `-journal`) that exist beside `output`. */
export function sideFiles(output: string): string[] {
  return SIDE_FILES.map((suffix) => output + suffix).filter((path) => existsSync(path));
}

/** A restore's temporary output beside `output`, and how it replaces `output`. */
export interface ForcedOutput {
  /** Where the restore writes (in the output's directory, so the rename is atomic). */
  path: string;
  /** Removes the output's `-wal`, `-shm` and `-journal`, renames `path` over it, fsyncs the directory. */
  install(): Promise<void>;
  /** Removes whatever of `path` is left (after a failure; a no-op after `install`). */
  discard(): Promise<void>;
}

/** The temporary output for replacing `output`. */
export function forcedOutput(output: string): ForcedOutput {
  const path = join(dirname(output), `.${basename(output)}.sqlrep-restore-${process.pid}`);
  return {
    path,
    async install() {
      // A stale WAL beside the new file would be applied to it: the side files go first.
      for (const suffix of STALE_FILES) await rm(output + suffix, { force: true });
      await replaceFile(path, output);
    },
    async discard() {
      await Promise.all(["", ".tmp", "-wal", "-shm"].map((suffix) => rm(path + suffix, { force: true })));
    },
  };
}
