/** What a follow is given: the copy, the replicas, the poll interval, a logger and a signal. */
import type { NamedReplicaClient } from "@sqlrep/replica";

/**
 * Where a follow says what it did: one line per applied batch, restart and stop. The
 * `info` and `warn` of a structured logger (`@sqlrep/runtime`'s, the shipper's) fit as they are.
 */
export interface FollowLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  /** A replica that could not be read (retried at the next interval), a replica skipped by a fresh restore. */
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** A logger that drops everything (the default). */
export const silentFollowLogger: FollowLogger = { info() {}, warn() {} };

/** What a follow needs: where, from which replicas, how often, and where to say what it did. */
export interface FollowOptions {
  /** The followed copy. */
  output: string;
  /** The replicas a fresh restore chooses from (the newest wins, as `restoreNewest`). */
  replicas: readonly NamedReplicaClient[];
  /** Poll interval in ms (litestream's `-follow-interval`, default 1 s). */
  interval: number;
  /** Ranged downloads in flight during a fresh restore (the restore's default when unset). */
  parallelism?: number | undefined;
  /** SQLite's check of a fresh restore's file (e.g. `PRAGMA integrity_check`), run before it is used; throwing stops the follow. */
  check?: ((path: string) => Promise<void>) | undefined;
  logger?: FollowLogger | undefined;
  signal: AbortSignal;
}

/** Where a follow starts: the replica to follow, the copy's TXID and the replica's database header for it. */
export interface FollowStart {
  /** The name of the replica (in {@link FollowOptions.replicas}) the copy was restored from. */
  replica: string;
  txid: number;
  header: Uint8Array;
  /** Resuming a copy followed before (`<output>-txid`): checked against the replica before going on. */
  resumed: boolean;
}
