/**
 * What a shipper needs from the engine that fills its log: a consistent full state to
 * snapshot, and a way to say the log's checksums no longer describe the database.
 */
import type { LogPage, WalMark } from "./ltx-log.js";

/** A full database state at the log's tip, read lazily while it is uploaded. */
export interface SnapshotState {
  /** The log's TXID this state is. */
  readonly txid: number;
  readonly pageSize: number;
  readonly commit: number;
  readonly timestamp: number;
  /** The log's checksum at `txid`: what the pages must add up to. */
  readonly expected: bigint;
  /** Where the state is in the feeder's WAL (kept in the snapshot's header). */
  readonly wal?: (WalMark & { readonly start: number }) | undefined;
  /** Pages 1…commit (the lock page left out), ascending, each used before the next is asked for. */
  pages(): Iterable<LogPage>;
  /** Throws (retryable) when what was read can no longer be trusted (the WAL was reset meanwhile). */
  verify(): void;
  /** Releases what `pages` holds (locks); called once the upload ended either way. */
  release(): void;
}

/** The engine behind a log, as its shippers see it. */
export interface LogFeeder {
  /**
   * A consistent state at the log's tip, for a snapshot: the feeder first appends
   * whatever is committed and not yet in the log, so the tip is the database as it is.
   */
  snapshotState(signal: AbortSignal): Promise<SnapshotState>;
  /**
   * A snapshot's pages did not add up to the log's checksum: the database is not what
   * the log says. The feeder re-reads it and starts a new lineage (a break) from what is
   * really there.
   */
  diverged(reason: string): void;
  /**
   * Called before a shipper seals and uploads: the feeder stages what is committed and
   * checks its database is still the one the log describes (a replaced or deleted file
   * is found here at the latest). False: nothing is to be uploaded now.
   */
  prepare?(): boolean;
}
