/**
 * `replicate -once`: every database synced to every replica once (optionally a snapshot
 * and a retention run after it), then the process exits, as Litestream v0.5 does.
 */
import type { BackupEngine } from "@sqlrep/backup";
import type { Logger } from "@sqlrep/runtime";
import { CliError } from "./context.js";
import { formatTxid } from "./format.js";

/** What `-once` does besides the sync. */
export interface OnceOptions {
  /** `-force-snapshot`: a snapshot on every replica after the sync. */
  forceSnapshot: boolean;
  /** `-enforce-retention`: retention on every replica after that. */
  enforceRetention: boolean;
}

/**
 * Runs the one-shot replication on a started engine. Resolves when everything committed
 * is on every replica (and snapshotted, and pruned, when asked); rejects with a CliError
 * naming the database, the step and the replica that failed.
 */
export async function replicateOnce(engine: BackupEngine, options: OnceOptions, logger: Logger, signal: AbortSignal): Promise<void> {
  const paths = engine.status().map((s) => ({ path: s.path, state: s.state }));
  for (const { path, state } of paths) {
    if (state !== "replicating") throw new CliError(`sync database ${path}: ${state === "waiting" ? "the database does not exist" : `the database is ${state}`}`);
    logger.info("syncing database", { path });
    const step = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
      try {
        return await run();
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        throw new CliError(`${what} ${path}: ${message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message}`, { cause: err });
      }
    };
    for (const r of await step("sync database", () => engine.sync(path, { signal }))) logger.info("replica synced", { db: path, replica: r.replica, txid: formatTxid(r.txid) });
    if (options.forceSnapshot) {
      logger.info("taking snapshot", { path });
      for (const r of await step("snapshot", () => engine.snapshot(path, { signal }))) logger.info("snapshot written", { db: path, replica: r.replica, txid: formatTxid(r.txid) });
    }
    if (options.enforceRetention) {
      logger.info("enforcing retention", { path });
      for (const r of await step("enforce retention for", () => engine.enforceRetention(path)))
        logger.info("retention enforced", { db: path, replica: r.replica, deleted: r.deleted });
    }
  }
  logger.info("one-shot replication complete");
}
