/** restoreLegacy: restores a database from a Litestream v0.3 replica, decompressing its snapshot and replaying its WAL segments with SQLite's checks. */
import { rm } from "node:fs/promises";
import { resolve } from "node:path";
import { ReplicaError, throwIfAborted } from "../errors.js";
import { checkOutput, installRestored } from "../restored-file.js";
import type { ReplicaClient } from "../replica-client.js";
import { planLegacyRestore } from "./plan.js";
import type { LegacyRestoreOptions, LegacyRestoreResult } from "./restore-options.js";
import { Progress } from "./restore-progress.js";
import { LegacyRestoreRun } from "./restore-run.js";

export type { LegacyRestoreOptions, LegacyRestoreProgress, LegacyRestoreResult } from "./restore-options.js";

/**
 * Restores a database from a Litestream v0.3 replica (see `planLegacyRestore` for the
 * choice of snapshot and segments): the snapshot is stream-decompressed into
 * `<output>.tmp`, then each WAL index is replayed natively, segment by segment as
 * they arrive, with SQLite's checksum chain verified frame by frame: pages of each
 * committed transaction are written, the file is truncated to the commit size at the
 * end of each index. Every index must be contiguous (a segment must start where the
 * previous one's decompressed bytes end) and end on a verified commit, except the
 * last, whose replay stops at its last valid commit. Then `verify`, fsync, rename,
 * fsync of the directory; on failure the temp files are removed.
 */
export async function restoreLegacy(client: ReplicaClient, options: LegacyRestoreOptions): Promise<LegacyRestoreResult> {
  if (!options.output) throw new ReplicaError("invalid-config", "a restore needs an output path");
  const output = resolve(options.output);
  const temp = `${output}.tmp`;
  const { signal } = options;
  throwIfAborted(signal);
  await checkOutput(output, options.overwrite ?? false);
  const progress = new Progress(options.onProgress);
  progress.set({ phase: "plan" });
  const plan = options.plan ?? (await planLegacyRestore(client, options.target, { logger: options.logger, signal }));
  const run = new LegacyRestoreRun(client, plan, options, progress, output);
  try {
    const result = await run.execute();
    if (options.verify) progress.set({ phase: "verify" });
    await installRestored(temp, output, options);
    progress.set({ phase: "done" });
    return result;
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
