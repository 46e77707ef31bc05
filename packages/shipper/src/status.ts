/** What a shipper reports: its status and the events an engine turns into logs and metrics. */

/** Where one replica is and how it is doing. */
export interface ShipperStatus {
  name: string;
  /** The client's type: "file", "s3", … */
  type: string;
  location: string;
  /** The replica's TXID (0 before its first snapshot). */
  txid: number;
  /** TXIDs in the local log the replica does not have yet. */
  pendingTXIDs: number;
  /** Age of the oldest change not yet uploaded, ms; 0 when caught up. */
  lagMs: number;
  lastSyncAt?: Date | undefined;
  /** The last sync error, until a sync succeeds. */
  lastError?: string | undefined;
  lastVerifiedAt?: Date | undefined;
  /** Why the last validation failed, until one succeeds. */
  validationError?: string | undefined;
}

/** Something a shipper did or met. */
export type ShipperEvent =
  /** A file reached the replica: a level-0 upload. */
  | { type: "uploaded"; replica: string; level: number; minTXID: number; maxTXID: number; bytes: number; durationMs: number; timestamp: Date }
  /** A snapshot reached level 9. */
  | { type: "snapshot"; replica: string; txid: number; pages: number; bytes: number; reason: string; durationMs: number; timestamp: Date }
  /** A sync or a maintenance task failed (retried). */
  | { type: "failed"; replica: string; what: string; error: unknown; retryInMs?: number }
  /** A validation ran. */
  | { type: "validated"; replica: string; ok: boolean; txid?: number; message?: string }
  /** The replica holds files that are not ours: a snapshot of our own follows. */
  | { type: "conflict"; replica: string; message: string }
  /** A snapshot's pages did not add up to the log's checksum: the feeder starts a new lineage. */
  | { type: "diverged"; replica: string; message: string };
