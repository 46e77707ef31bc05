/**
 * Acting as primary for as long as the lease holds: commits are accepted only while
 * its signal has not fired (checked under each database's lock, right before the LTX
 * file is written), every replica's stream is served, the backup ships, halts and
 * forwarded transactions are answered, and the lease is handed to a caught-up replica
 * on request.
 */
import type { Lease } from "@sqlrep/lease";
import { decodeLtx, formatTxid } from "@sqlrep/ltx";
import type { Logger } from "@sqlrep/shipper";
import { ClusterBackup, type BackupOptions } from "../backup.js";
import { ClusterError, describeError } from "../errors.js";
import type { NodeEvent } from "../events.js";
import type { DatabasePosition } from "../store/database.js";
import type { Store } from "../store/store.js";
import type { MapPosition } from "../stream/codec.js";
import { sessionFailure, StreamSession, type FrameSink } from "../stream/session.js";
import { HaltTable } from "./halt.js";
import { traceHandoff } from "../util/handoff-trace.js";

/** How long a handoff lets its target catch up before commits stop. */
const HANDOFF_CATCH_UP_MS = 5_000;
/** Transactions the target may still lack when commits stop. */
const HANDOFF_BEHIND = 2;

/** What the primary role needs of its node. */
export interface PrimaryContext {
  readonly store: Store;
  readonly logger: Logger;
  readonly hostname: string;
  readonly backup?: BackupOptions | undefined;
  emit(event: NodeEvent): void;
}

/** A halt granted (the JSON `/halt` answers with). */
export interface HaltGrant {
  readonly id: string;
  readonly position: DatabasePosition;
  /** Milliseconds since the epoch. */
  readonly expires: number;
}

/** The primary's duties while `lease` holds. */
export class PrimaryRole {
  readonly lease: Lease;
  readonly halts = new HaltTable();
  private readonly sessions = new Map<StreamSession, AbortController>();
  private readonly candidates = new Set<StreamSession>();
  private readonly backup: ClusterBackup | undefined;
  private handoffSession: StreamSession | undefined;
  private handingOff = false;
  private stopped = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly context: PrimaryContext,
    lease: Lease,
  ) {
    this.lease = lease;
    this.backup = context.backup === undefined ? undefined : new ClusterBackup(context.backup, context.logger, (db, e) => this.onBackupEvent(db, e));
    this.unsubscribe = context.store.subscribe((event) => {
      const name = event.name;
      for (const session of this.sessions.keys()) session.markDirty(name);
      if (event.type === "created") this.startBackup(name);
      if (event.type === "dropped") void this.backup?.remove(name);
    });
    for (const name of context.store.databases()) this.startBackup(name);
  }

  /** The lease epoch every LTX frame of this primary carries. */
  get epoch(): number {
    return this.lease.epoch;
  }

  /** Whether commits are accepted now. */
  get writable(): boolean {
    return !this.stopped && !this.handingOff && !this.lease.signal.aborted;
  }

  /** Throws `ClusterError("not-primary")` unless commits are accepted (run under each database's lock). */
  readonly guard = (): void => {
    if (this.writable) return;
    const why = this.handingOff ? "is handing the lease over" : this.lease.signal.aborted ? `lost its lease (${describeError(this.lease.signal.reason)})` : "stopped being primary";
    throw new ClusterError("not-primary", `this node ${why}: commits go to the new primary`, { retryable: true });
  };

  /** The backup's TXID of a database (0 without a backup). */
  hwm(name: string): number {
    return this.backup?.hwm(name) ?? 0;
  }

  /** The backup, when configured. */
  get backups(): ClusterBackup | undefined {
    return this.backup;
  }

  /** Node IDs of the replicas streaming now. */
  get replicas(): string[] {
    return [...this.sessions.keys()].map((s) => s.replicaNodeId);
  }

  /**
   * Node IDs of the replicas streaming now that said they may become primary
   * (`Litefs-Candidate: true`) and have caught up once: whom a stopping primary can
   * hand its lease to.
   */
  get candidateReplicas(): string[] {
    return [...this.sessions.keys()].filter((s) => this.candidates.has(s) && s.ready).map((s) => s.replicaNodeId);
  }

  /**
   * Serves one replica's `/stream` until it goes, this role stops, or a handoff was
   * delivered. `candidate`: the replica said it may become primary.
   */
  async serve(
    replicaNodeId: string,
    positions: Map<string, MapPosition>,
    sink: FrameSink,
    filter: readonly string[] | undefined,
    signal: AbortSignal,
    candidate = false,
  ): Promise<void> {
    if (this.stopped) throw new ClusterError("not-primary", "this node is no longer primary", { retryable: true });
    const session = new StreamSession(
      {
        store: this.context.store,
        logger: this.context.logger,
        epoch: this.epoch,
        hwm: (name) => this.hwm(name),
        onSnapshot: (db, replica, reason, bytes, ms) => this.context.emit({ type: "snapshotSent", db, replica, reason, bytes, ms }),
      },
      sink,
      replicaNodeId,
      positions,
      filter,
    );
    // One stream per replica: an older one of the same node is dead or dying (the replica reconnected).
    for (const [old, c] of this.sessions)
      if (old.replicaNodeId === replicaNodeId && old !== this.handoffSession) c.abort(new ClusterError("aborted", `node ${replicaNodeId} opened a new stream`));
    const controller = new AbortController();
    this.sessions.set(session, controller);
    if (candidate) this.candidates.add(session);
    const onAbort = () => controller.abort(signal.reason);
    signal.addEventListener("abort", onAbort);
    try {
      await session.run(controller.signal);
      this.context.logger.debug("stream to replica ended", { replica: replicaNodeId, aborted: controller.signal.aborted ? describeError(controller.signal.reason) : false });
    } catch (err) {
      this.context.logger.debug("stream to replica failed", { replica: replicaNodeId, error: describeError(err) });
      const why = sessionFailure(err);
      if (why !== undefined) this.context.logger.warn("stream to replica ended", { replica: replicaNodeId, error: why });
    } finally {
      signal.removeEventListener("abort", onAbort);
      this.sessions.delete(session);
      this.candidates.delete(session);
    }
  }

  /**
   * Hands the lease to `nodeId`, which must be streaming from this primary: commits
   * stop, the ones in flight finish, the lease is renewed once more and handed over,
   * and its ID goes down that replica's stream after everything it lacks.
   */
  async handoff(nodeId: string): Promise<void> {
    if (!this.writable) throw new ClusterError("not-primary", "this node is not acting as primary", { retryable: true });
    const session = [...this.sessions.keys()].reverse().find((s) => s.replicaNodeId === nodeId && s.ready);
    if (session === undefined) throw new ClusterError("handoff", `node ${nodeId} has no caught-up stream open to this primary (streaming: ${this.replicas.join(", ") || "none"})`);
    const log = this.context.logger;
    traceHandoff(log, "requested", { to: nodeId, behind: session.behind() });
    // Let the target catch up while commits go on, so that the write gap is only the
    // last few transactions, the final renew and one frame.
    const deadline = Date.now() + HANDOFF_CATCH_UP_MS;
    while (session.behind() > HANDOFF_BEHIND && Date.now() < deadline && this.writable) await new Promise((r) => setTimeout(r, 2));
    this.handingOff = true;
    this.handoffSession = session;
    const started = performance.now();
    traceHandoff(log, "commits stopped", { to: nodeId, behind: session.behind() });
    try {
      for (const name of this.context.store.databases()) await this.context.store.get(name)?.exclusive(() => undefined);
      traceHandoff(log, "commits in flight done", { behind: session.behind() });
      const ticket = await this.lease.handoff(nodeId);
      traceHandoff(log, "lease handed off");
      const delivered = await session.handoff(ticket.leaseId);
      traceHandoff(log, "frame written", { delivered });
      if (!delivered)
        throw new ClusterError("handoff", `the handoff frame could not be sent to node ${nodeId}; its lease expires in ${this.lease.ttlMs} ms and another node is elected`);
      this.context.logger.info("lease handed off", { to: nodeId, ms: Math.round(performance.now() - started) });
    } catch (err) {
      if (!this.lease.signal.aborted) {
        this.handingOff = false;
        this.handoffSession = undefined;
      }
      throw err;
    }
  }

  /** Takes `name`'s halt lock for a replica (`POST /halt`): resolves once commits in flight are done. */
  async halt(name: string, id: string, signal?: AbortSignal): Promise<HaltGrant> {
    this.guard();
    const db = this.context.store.require(name);
    const expires = await this.halts.acquire(name, id, signal);
    const position = await db.exclusive(() => db.position);
    return { id, position, expires };
  }

  /** Releases a halt (`DELETE /halt`). */
  unhalt(name: string, id: string): void {
    this.halts.release(name, id);
  }

  /**
   * A replica's transaction under its halt (`POST /tx`): it must continue the position
   * exactly and come to the checksum it says; then it is committed like a local one.
   */
  async forwarded(name: string, lockId: string, bytes: Uint8Array): Promise<DatabasePosition> {
    this.halts.check(name, lockId);
    const db = this.context.store.require(name);
    const ltx = decodeLtx(bytes, { file: `forwarded transaction of ${name}` });
    const h = ltx.header;
    if (h.minTXID !== h.maxTXID) throw new ClusterError("protocol", `${name}: forwarded LTX ${formatTxid(h.minTXID)}-${formatTxid(h.maxTXID)} spans several TXIDs`, { db: name });
    return db.exclusive(async () => {
      if (h.minTXID > 1 && h.preApplyChecksum !== db.position.checksum) {
        throw new ClusterError("position-mismatch", `${name}: forwarded LTX ${formatTxid(h.minTXID)} does not continue TXID ${formatTxid(db.position.txid)}`, { db: name });
      }
      return db.commitNow(ltx.pages, h.commit, {
        guard: this.guard,
        epoch: this.epoch,
        timestamp: h.timestamp,
        expect: { txid: h.minTXID, checksum: ltx.trailer.postApplyChecksum },
      });
    });
  }

  /** Stops: streams end (except a handoff being delivered), halts are released, the backup stops. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe();
    this.halts.releaseAll();
    for (const [session, controller] of this.sessions) if (session !== this.handoffSession) controller.abort(new ClusterError("not-primary", "this node stopped being primary"));
    await this.backup?.close((name) => this.context.store.get(name));
  }

  private startBackup(name: string): void {
    const db = this.context.store.get(name);
    if (db !== undefined && this.backup !== undefined) this.backup.add(db);
  }

  private onBackupEvent(db: string, event: { type: string }): void {
    if (event.type === "uploaded" || event.type === "snapshot") for (const session of this.sessions.keys()) session.markDirty(db);
  }
}
