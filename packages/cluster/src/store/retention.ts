/**
 * Retention of LTX files (`data.retention`, LiteFS's rule): a file goes once it is
 * older than the retention, never the newest, never one the backup has not shipped
 * (the shipper holds it as a consumer of the log), and never one after the durable
 * position (a crash re-applies those).
 */
import type { LtxLog } from "@sqlrep/shipper";

/** The log consumer name retention releases files under. */
export const RETENTION_CONSUMER = "retention";

/** Registers retention as a consumer of `log`: nothing goes until `applyRetention` lets it. */
export function holdForRetention(log: LtxLog): void {
  log.register(RETENTION_CONSUMER, 0);
}

/**
 * Lets go of the files of `log` older than `before` (ms since the epoch) up to TXID
 * `durableTXID`; the newest file always stays. Returns the TXID released up to.
 */
export function applyRetention(log: LtxLog, before: number, durableTXID: number): number {
  const entries = log.entries;
  let upTo = 0;
  for (let i = 0; i < entries.length - 1; i++) {
    const e = entries[i]!;
    if (e.timestamp >= before || e.maxTXID > durableTXID) break;
    upTo = e.maxTXID;
  }
  if (upTo > 0) log.release(RETENTION_CONSUMER, upTo);
  return upTo;
}
