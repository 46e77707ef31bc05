/**
 * What a node tells its listeners (`/events`, metrics, the mount): LiteFS's `tx` and
 * `primaryChange` events with their JSON shapes, and the engine's own (ready,
 * snapshots, divergence, refusals).
 */
import { formatChecksum, formatTxid } from "@sqlrep/ltx";
import type { Divergence } from "./divergence.js";
import type { ClusterError } from "./errors.js";
import type { DatabasePosition } from "./store/database.js";

/** An event of a node. */
export type NodeEvent =
  /** A transaction was committed (primary) or applied (replica), or a snapshot restored. */
  | { type: "tx"; db: string; position: DatabasePosition; pageSize: number; commit: number }
  /** This node became primary or stopped being it, or follows another primary. */
  | { type: "primaryChange"; isPrimary: boolean; hostname: string | undefined }
  /** The node is ready: primary, or a replica that caught up (the first `Ready` frame). */
  | { type: "ready" }
  /** `.lag`'s state changed: connected or not, a heartbeat arrived. */
  | { type: "lag" }
  /** Databases appeared or went. */
  | { type: "databases" }
  /** A replica received a snapshot. */
  | { type: "snapshot"; db: string; txid: number; bytes: number; ms: number }
  /** A primary sent a snapshot to a replica. */
  | { type: "snapshotSent"; db: string; replica: string; reason: string; bytes: number; ms: number }
  /** This node had transactions the primary never received; they were kept. */
  | { type: "diverged"; divergence: Divergence }
  /** A database is refused (verification or a write failed). */
  | { type: "refused"; db: string; error: ClusterError };

/** LiteFS's JSON line for an event (`/events`), or undefined for the engine's own events. */
export function litefsEventJSON(event: NodeEvent): Record<string, unknown> | undefined {
  switch (event.type) {
    case "tx":
      return {
        type: "tx",
        db: event.db,
        data: {
          txID: formatTxid(event.position.txid),
          postApplyChecksum: formatChecksum(event.position.checksum),
          pageSize: event.pageSize,
          commit: event.commit,
          timestamp: new Date(event.position.timestamp).toISOString(),
        },
      };
    case "primaryChange":
      return { type: "primaryChange", data: { isPrimary: event.isPrimary, hostname: event.hostname } };
    case "diverged":
      return {
        type: "diverged",
        db: event.divergence.db,
        data: {
          dir: event.divergence.dir,
          from: formatTxid(event.divergence.from),
          to: formatTxid(event.divergence.to),
          files: event.divergence.files.length,
          missing: event.divergence.missing.length,
        },
      };
    default:
      return undefined;
  }
}

/** A set of listeners. */
export class Emitter<E> {
  private readonly listeners = new Set<(event: E) => void>();

  /** Adds a listener; returns its removal. */
  subscribe(listener: (event: E) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls every listener; one that throws does not stop the others. */
  emit(event: E): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  /** Listeners now. */
  get size(): number {
    return this.listeners.size;
  }
}
