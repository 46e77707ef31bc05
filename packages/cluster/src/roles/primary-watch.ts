/**
 * A node's watch of the lease store: the primary as the store pushes it (etcd watch,
 * Consul blocking query), changes only, watched again after a failure until the node stops.
 */
import type { Leaser, PrimaryInfo } from "@sqlrep/lease";
import type { Logger } from "@sqlrep/shipper";
import { describeError } from "../errors.js";
import type { WakeableSleep } from "../util/wakeable-sleep.js";

/** Calls `changed` with every change of the primary (URL or epoch) until `signal` fires; a failed watch is retried after `retryMs`. */
export async function watchPrimaryChanges(
  leaser: Leaser,
  logger: Logger,
  sleeper: WakeableSleep,
  retryMs: number,
  signal: AbortSignal,
  changed: (primary: PrimaryInfo | undefined) => void,
): Promise<void> {
  let watched: PrimaryInfo | undefined;
  while (!signal.aborted) {
    try {
      for await (const primary of leaser.watchPrimary({ signal })) {
        const before = watched;
        watched = primary;
        if (before?.advertiseURL === primary?.advertiseURL && before?.epoch === primary?.epoch) continue;
        logger.debug("the lease store reports a primary change", { hostname: primary?.hostname ?? null, epoch: primary?.epoch ?? null });
        changed(primary);
      }
    } catch (err) {
      if (!signal.aborted) logger.warn("primary watch ended; watching again", { error: describeError(err) });
    }
    if (!signal.aborted) await sleeper.sleep(retryMs, false);
  }
}
