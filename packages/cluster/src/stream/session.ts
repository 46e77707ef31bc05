/**
 * One replica's `/stream` on the primary: the catch-up pass over every database, then
 * whatever changes, as LTX frames — or a snapshot when the replica cannot continue
 * (LiteFS's rules) — with Ready, HWM and a heartbeat every second. Each session keeps
 * a set of dirty databases, not a queue: a slow replica costs the primary nothing.
 */
import { formatChecksum, formatTxid } from "@sqlrep/ltx";
import type { Logger } from "@sqlrep/shipper";
import { describeError, isClusterError } from "../errors.js";
import type { Database } from "../store/database.js";
import { encodeSnapshot } from "../store/snapshot.js";
import type { Store } from "../store/store.js";
import { CHUNKS_END, encodeChunks, encodeFrame, encodeLtxFrameHeader, type Frame, type MapPosition } from "./codec.js";
import { FrameBatch } from "./frame-batch.js";
import { readLtxFile } from "./ltx-files.js";

/** Where a session writes: an HTTP response, or anything with the same shape. */
export interface FrameSink {
  /** Writes bytes; resolves once they may be followed by more (backpressure). */
  write(bytes: Uint8Array): Promise<void>;
  /** Ends the response. */
  end(): void;
}

/** What a session needs of the primary it belongs to. */
export interface SessionContext {
  readonly store: Store;
  readonly logger: Logger;
  /** The lease epoch this primary streams under. */
  readonly epoch: number;
  /** The backup's high-water mark of a database (0 without a backup). */
  hwm(name: string): number;
  /** A snapshot was sent (metrics, events). */
  onSnapshot?(name: string, replica: string, reason: string, bytes: number, ms: number): void;
}

/** The heartbeat period: LiteFS's 1 s. */
export const HEARTBEAT_MS = 1000;

/**
 * A replica's stream on the primary. `run` writes frames until the signal fires, the
 * sink fails, or a handoff was delivered.
 */
export class StreamSession {
  readonly replicaNodeId: string;
  private readonly positions: Map<string, MapPosition>;
  private readonly dirty = new Set<string>();
  private readonly sentHwm = new Map<string, number>();
  private wake: (() => void) | undefined;
  private handoffLeaseId: string | undefined;
  private handoffDelivered: ((ok: boolean) => void) | undefined;
  private readonly filter: ReadonlySet<string> | undefined;
  /** Databases this replica is up to date with (or has been sent a snapshot of) since it connected. */
  private caughtUp = false;

  constructor(
    private readonly context: SessionContext,
    private readonly sink: FrameSink,
    replicaNodeId: string,
    positions: Map<string, MapPosition>,
    filter?: readonly string[],
  ) {
    this.replicaNodeId = replicaNodeId;
    this.positions = positions;
    this.filter = filter === undefined || filter.length === 0 ? undefined : new Set(filter);
    for (const name of [...context.store.databases(), ...positions.keys()]) if (this.wanted(name)) this.dirty.add(name);
  }

  /** Whether the first pass (Ready) is done. */
  get ready(): boolean {
    return this.caughtUp;
  }

  /** A database changed (or appeared, or went): send it on the next pass. */
  markDirty(name: string): void {
    if (!this.wanted(name)) return;
    this.dirty.add(name);
    this.wake?.();
  }

  /**
   * Ends the stream with a Handoff frame carrying `leaseId`, after everything dirty was
   * sent. Resolves true once the frame was written.
   */
  handoff(leaseId: string): Promise<boolean> {
    this.handoffLeaseId = leaseId;
    return new Promise((resolve) => {
      this.handoffDelivered = resolve;
      this.wake?.();
    });
  }

  /** Transactions the replica lacks, over every database (0: caught up). */
  behind(): number {
    let n = 0;
    for (const name of this.context.store.databases()) {
      if (!this.wanted(name)) continue;
      const db = this.context.store.get(name);
      if (db === undefined || db.failed !== undefined) continue;
      n += Math.max(0, db.position.txid - (this.positions.get(name)?.txid ?? 0));
    }
    return n;
  }

  /** Whether a handoff is being delivered (the session outlives the lease until it is). */
  get handingOff(): boolean {
    return this.handoffLeaseId !== undefined;
  }

  /** Streams until `signal` fires, a write fails, or a handoff went out. */
  async run(signal: AbortSignal): Promise<void> {
    const onAbort = () => this.wake?.();
    signal.addEventListener("abort", onAbort);
    try {
      for (;;) {
        // A handoff is delivered even after the lease's signal fired (that is what fires it).
        if (signal.aborted && this.handoffLeaseId === undefined) break;
        // One pass over what is dirty now (what changes meanwhile waits for the next):
        // under constant writes the first pass still ends, and Ready goes out.
        const batch = [...this.dirty];
        this.dirty.clear();
        for (const name of batch) {
          await this.sendDatabase(name, signal);
          if (signal.aborted && this.handoffLeaseId === undefined) break;
        }
        if (!this.caughtUp) {
          this.caughtUp = true;
          await this.sink.write(encodeFrame({ type: "ready" }));
          await this.sink.write(encodeFrame({ type: "heartbeat", timestamp: Date.now() }));
        }
        if (this.handoffLeaseId !== undefined) {
          // Commits are stopped: send what changed until nothing is left, then the lease.
          if (this.dirty.size > 0) continue;
          await this.sink.write(encodeFrame({ type: "handoff", leaseId: this.handoffLeaseId }));
          this.handoffDelivered?.(true);
          this.handoffDelivered = undefined;
          break;
        }
        if (signal.aborted) break;
        const ticked = await this.idle();
        if (ticked && this.dirty.size === 0) await this.sink.write(encodeFrame({ type: "heartbeat", timestamp: Date.now() }));
      }
      if (signal.aborted && this.handoffLeaseId === undefined) await this.sink.write(encodeFrame({ type: "end" })).catch(() => undefined);
    } finally {
      signal.removeEventListener("abort", onAbort);
      this.handoffDelivered?.(false);
      this.sink.end();
    }
  }

  /** Waits for a change, a handoff or the heartbeat period; true when the period ran out. */
  private idle(): Promise<boolean> {
    if (this.dirty.size > 0 || this.handoffLeaseId !== undefined) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve(true);
      }, HEARTBEAT_MS);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve(false);
      };
    });
  }

  private wanted(name: string): boolean {
    return this.filter === undefined || this.filter.has(name);
  }

  /** Brings the replica's copy of one database to the primary's position. */
  private async sendDatabase(name: string, signal: AbortSignal): Promise<void> {
    const db = this.context.store.get(name);
    if (db === undefined) {
      if (this.positions.has(name)) {
        await this.sink.write(encodeFrame({ type: "drop", name }));
        this.positions.delete(name);
      }
      return;
    }
    if (db.failed !== undefined) return;
    // Up to where the database is now: what is committed meanwhile marks it dirty again,
    // so one busy database never holds up the others (nor Ready).
    const target = db.position.txid;
    while (!(signal.aborted && this.handoffLeaseId === undefined)) {
      const pos = this.positions.get(name) ?? { txid: 0, checksum: 0n };
      const primary = db.position;
      if (primary.txid === 0) return;
      if (pos.txid === primary.txid && pos.checksum === primary.checksum) break;
      if (pos.txid >= target && pos.txid < primary.txid) {
        this.dirty.add(name);
        break;
      }
      const reason = snapshotReason(db, pos);
      if (reason !== undefined) {
        await this.sendSnapshot(db, reason, signal);
        continue;
      }
      const entries = db.log.after(pos.txid);
      let sent = false;
      // A replica that is behind gets its frames in a few large writes, not one each.
      const batch = new FrameBatch((bytes) => this.sink.write(bytes));
      for (const entry of entries) {
        const at = this.positions.get(name) ?? pos;
        if (entry.lineage !== undefined || entry.minTXID !== at.txid + 1 || entry.preApply !== at.checksum || entry.maxTXID > db.position.txid) break;
        let bytes: Uint8Array;
        try {
          bytes = await readLtxFile(entry.file, entry.size);
        } catch (err) {
          if (isClusterError(err, "not-found")) break; // pruned meanwhile: the next round decides (a snapshot)
          throw err;
        }
        await batch.add(encodeLtxFrameHeader(name, this.context.epoch), encodeChunks(bytes), CHUNKS_END);
        this.positions.set(name, { txid: entry.maxTXID, checksum: entry.postApply });
        sent = true;
      }
      await batch.flush();
      await this.sendHwm(name);
      if (!sent) {
        // Nothing could be sent although the replica is behind: the entry it needs is
        // being written (position not moved yet), or gone: wait for the next change.
        const now = this.positions.get(name) ?? pos;
        if (now.txid >= db.position.txid) continue;
        return;
      }
    }
  }

  private async sendHwm(name: string): Promise<void> {
    const hwm = this.context.hwm(name);
    if (hwm === 0 || this.sentHwm.get(name) === hwm) return;
    this.sentHwm.set(name, hwm);
    await this.sink.write(encodeFrame({ type: "hwm", name, txid: hwm }));
  }

  private async sendSnapshot(db: Database, reason: string, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    const view = await db.openView();
    this.context.logger.info("sending snapshot", { db: db.name, replica: this.replicaNodeId, txid: formatTxid(view.txid), reason });
    let bytes = 0;
    await this.sink.write(encodeLtxFrameHeader(db.name, this.context.epoch));
    try {
      for await (const chunk of encodeSnapshot(view, { signal, file: db.files.database })) {
        bytes += chunk.length;
        await this.sink.write(encodeChunks(chunk));
      }
    } catch (err) {
      if (isClusterError(err, "verify-failed")) db.fail(err);
      // The frame is cut: the replica's decoder fails, it reconnects.
      throw err;
    }
    await this.sink.write(CHUNKS_END);
    this.positions.set(db.name, { txid: view.txid, checksum: view.checksum });
    this.context.onSnapshot?.(db.name, this.replicaNodeId, reason, bytes, performance.now() - started);
  }
}

/**
 * Why a replica at `pos` needs a snapshot of `db` (LiteFS's rules, in order), or
 * undefined when the log can continue it.
 */
export function snapshotReason(db: Database, pos: MapPosition): string | undefined {
  const primary = db.position;
  if (pos.txid > primary.txid) return `replica is ahead (TXID ${formatTxid(pos.txid)} > ${formatTxid(primary.txid)})`;
  if (pos.txid === primary.txid) return `replica's checksum at TXID ${formatTxid(pos.txid)} is ${formatChecksum(pos.checksum)}, the primary's ${formatChecksum(primary.checksum)}`;
  if (pos.txid === 0) return "replica has no data";
  const first = db.log.after(pos.txid)[0];
  if (first === undefined || first.minTXID !== pos.txid + 1) return `TXID ${formatTxid(pos.txid + 1)} is no longer in the primary's log (retention)`;
  if (first.lineage !== undefined) return `lineage break at TXID ${formatTxid(first.minTXID)}: ${first.lineage}`;
  if (first.preApply !== pos.checksum)
    return `replica's checksum at TXID ${formatTxid(pos.txid)} is ${formatChecksum(pos.checksum)}, the primary's ${formatChecksum(first.preApply)}`;
  return undefined;
}

/** Frames as plain objects, for logs. */
export function describeFrame(frame: Frame): string {
  return frame.type === "ltx" ? `LTX ${frame.name} (epoch ${frame.epoch})` : frame.type;
}

/** A session error worth a warning (not a replica that went away). */
export function sessionFailure(err: unknown): string | undefined {
  if (isClusterError(err, "aborted") || isClusterError(err, "closed")) return undefined;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ERR_STREAM_DESTROYED" || code === "EPIPE" || code === "ECONNRESET" || code === "ERR_STREAM_WRITE_AFTER_END") return undefined;
  return describeError(err);
}
