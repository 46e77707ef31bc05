/**
 * A cluster node: LiteFS's main loop over a lease (cluster ID check; candidates
 * acquire, the others follow; the primary streams, a replica applies; a handed-off
 * lease is taken over at once) and the API the litefs app and the FUSE mount use:
 * commit, create, drop, positions, role, lag, halt, promote, handoff, events.
 */
import { isLeaseError, type Lease, type Leaser, type PrimaryInfo } from "@sqlrep/lease";
import type { Logger } from "@sqlrep/shipper";
import { ClusterError, describeError, isClusterError } from "../errors.js";
import { Emitter, type NodeEvent } from "../events.js";
import { answerText, peerRequest, type PeerIdentity } from "../http/peer.js";
import { peerHistory } from "../http/peer-history.js";
import type { CommitOptions, DatabasePosition } from "../store/database.js";
import type { CommitPages } from "../store/commit-pages.js";
import { newClusterId } from "../store/data-dir.js";
import type { Store } from "../store/store.js";
import { runReplicaStream } from "../stream/client.js";
import { traceHandoff } from "../util/handoff-trace.js";
import { WakeableSleep } from "../util/wakeable-sleep.js";
import { adoptClusterId, leaseClusterIdMismatch } from "./cluster-id.js";
import type { NodeInfo, NodeLag, NodeOptions } from "./node-types.js";
import { PrimaryRole } from "./primary.js";
import { watchPrimaryChanges } from "./primary-watch.js";
import { ReplicaHalts } from "./replica-halt.js";
import { forwardStoreEvents } from "./store-events.js";
import { Takeover } from "./takeover.js";

export type { NodeInfo, NodeLag, NodeOptions } from "./node-types.js";

/**
 * One node of a cluster. `start()` runs the main loop; `close()` stops it (releasing
 * the lease). Commits go through `commit` on the primary (or a replica holding the
 * halt lock of the database).
 */
export class ClusterNode {
  readonly store: Store;
  readonly leaser: Leaser;
  readonly logger: Logger;
  readonly events = new Emitter<NodeEvent>();
  private readonly options: NodeOptions;
  private primaryRole: PrimaryRole | undefined;
  private followed: PrimaryInfo | undefined;
  private connected = false;
  private lastContact = 0;
  private readyValue = false;
  private readyResolve!: () => void;
  /** Resolves once the node is primary or a caught-up replica (LiteFS's `exec` readiness). */
  readonly whenReady: Promise<void>;
  private handoffLeaseId: string | undefined;
  private readonly stopping = new AbortController();
  private readonly sleeper = new WakeableSleep(this.stopping.signal);
  private streamAbort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private readonly halts: ReplicaHalts;
  private readonly hwms = new Map<string, number>();
  private promoted = false;
  /** Why the node cannot take part (a cluster ID mismatch), until it can. */
  private refusal: ClusterError | undefined;
  private proxyURLValue: string | undefined;
  /** A handoff to this node under way: commits wait for it. */
  private readonly takeover = new Takeover();

  constructor(options: NodeOptions) {
    this.options = options;
    this.store = options.store;
    this.leaser = options.leaser;
    this.logger = options.logger;
    this.whenReady = new Promise((resolve) => (this.readyResolve = resolve));
    this.halts = new ReplicaHalts(this);
    forwardStoreEvents(this.store, this.events);
  }

  /** This process's node ID. */
  get nodeId(): string {
    return this.store.nodeId;
  }

  /** The identity this node uses toward others. */
  get identity(): PeerIdentity {
    return { nodeId: this.nodeId, clusterId: this.store.dataDir.clusterId, authToken: this.options.authToken, candidate: this.leaser.candidate };
  }

  /** Whether this node is acting as primary now (the lease holds, no handoff under way). */
  get isPrimary(): boolean {
    return this.primaryRole?.writable ?? false;
  }

  /** The primary's role while this node holds the lease. */
  get primary(): PrimaryRole | undefined {
    return this.primaryRole;
  }

  /** Ready: primary, or a replica that caught up once. */
  get ready(): boolean {
    return this.readyValue;
  }

  /** `.primary`: the primary's hostname while this node is a replica connected to it; null otherwise. */
  primaryHostname(): string | null {
    return this.primaryRole === undefined && this.connected && this.followed !== undefined ? this.followed.hostname : null;
  }

  /** The primary this node follows (connected or not), if any. */
  get followedPrimary(): PrimaryInfo | undefined {
    return this.followed;
  }

  /** `.lag`. */
  lag(): NodeLag {
    if (this.primaryRole !== undefined) return { kind: "primary" };
    if (!this.readyValue || this.lastContact === 0) return { kind: "syncing" };
    return { kind: "since", timestamp: this.lastContact };
  }

  /** The backup's high-water mark of a database as this node knows it. */
  hwm(name: string): number {
    return this.primaryRole?.hwm(name) ?? this.hwms.get(name) ?? 0;
  }

  /** Whether `name` may be written here: on the primary, or on a replica holding its halt lock. */
  writable(name: string): boolean {
    return this.isPrimary || this.halts.holds(name);
  }

  /** The URL of this node's HTTP proxy, published in `/info` (set by the proxy; undefined: none). */
  get proxyURL(): string | undefined {
    return this.proxyURLValue;
  }

  /** Publishes (or, with undefined, withdraws) this node's proxy URL in `/info`. */
  advertiseProxy(url: string | undefined): void {
    this.proxyURLValue = url;
  }

  /** `/info`. */
  info(): NodeInfo {
    const primary = this.primaryRole !== undefined ? { hostname: this.leaser.hostname, advertiseURL: this.leaser.advertiseURL } : this.followed;
    return {
      clusterID: this.store.dataDir.clusterId,
      isPrimary: this.isPrimary,
      candidate: this.leaser.candidate,
      path: this.store.dataDir.dir,
      nodeID: this.nodeId,
      primary: primary === undefined ? undefined : { hostname: primary.hostname, advertiseURL: primary.advertiseURL },
      ...(this.proxyURLValue === undefined ? {} : { proxyURL: this.proxyURLValue }),
    };
  }

  /** Why the node is not taking part, if it is refused (another cluster's lease). */
  get refused(): ClusterError | undefined {
    return this.refusal;
  }

  /** Starts the main loop. */
  start(): void {
    this.loop ??= this.run();
    void watchPrimaryChanges(this.leaser, this.logger, this.sleeper, this.options.reconnectDelay ?? 1000, this.stopping.signal, (p) => this.primaryChanged(p));
  }

  /**
   * Commits a transaction to `name` (created on its first commit): on the primary, or
   * on a replica holding the database's halt lock (the transaction is forwarded to the
   * primary first). `ClusterError("not-primary")` / `("read-only")` otherwise.
   */
  async commit(name: string, pages: CommitPages, commit: number, options: Omit<CommitOptions, "guard" | "epoch" | "expect"> = {}): Promise<DatabasePosition> {
    let role = this.primaryRole;
    // While a handed-off lease is being taken over here, a commit waits for it (woken the
    // moment this node is primary) rather than being refused and sent back to the old one.
    while (!(role?.writable ?? false) && this.takeover.remaining > 0 && !this.halts.holds(name)) {
      await this.takeover.next(this.takeover.remaining);
      role = this.primaryRole;
    }
    if (role !== undefined && role.writable) {
      await role.halts.waitFree(name);
      const db = this.store.get(name) ?? (await this.store.create(name));
      const pos = await db.commit(pages, commit, { ...options, guard: role.guard, epoch: role.epoch });
      this.takeover.traceFirstCommit(this.logger, pos.txid);
      return pos;
    }
    if (this.halts.holds(name)) return this.halts.commit(name, pages, commit, options);
    throw new ClusterError(
      role === undefined ? "read-only" : "not-primary",
      `${name} is read-only on this node: it is a replica${this.followed === undefined ? "" : ` of ${this.followed.hostname}`}; write on the primary or take the halt lock`,
      { db: name, retryable: true },
    );
  }

  /** Creates an empty database (TXID 0) on the primary. */
  async create(name: string): Promise<void> {
    if (!this.isPrimary) throw new ClusterError("read-only", `cannot create ${name} on a replica`, { db: name });
    await this.store.create(name);
  }

  /** Drops a database on the primary; replicas drop it when they hear of it. */
  async drop(name: string): Promise<void> {
    if (!this.isPrimary) throw new ClusterError("read-only", `cannot drop ${name} on a replica`, { db: name });
    await this.store.drop(name);
  }

  /** Takes `name`'s halt lock on the primary and catches up to it (a replica); a no-op on the primary. */
  halt(name: string, signal?: AbortSignal): Promise<void> {
    if (this.isPrimary) return Promise.resolve();
    return this.halts.halt(name, signal);
  }

  /** Releases `name`'s halt lock. */
  unhalt(name: string): Promise<void> {
    return this.halts.unhalt(name);
  }

  /**
   * Becomes primary by handoff (`/promote`, `lease.promote`): asks the primary this
   * node streams from to hand the lease over, and resolves once this node is primary.
   */
  async promote(timeoutMs = 10_000): Promise<void> {
    if (this.isPrimary) return;
    if (!this.leaser.candidate) throw new ClusterError("handoff", "this node is not a candidate (lease.candidate: false)");
    const primary = this.followed;
    if (primary === undefined || !this.connected) throw new ClusterError("handoff", "this node is not connected to a primary", { retryable: true });
    // From here commits sent to this node wait for the lease instead of being refused.
    this.takeover.expect(2 * timeoutMs);
    try {
      const res = await peerRequest(primary.advertiseURL, this.identity, { method: "POST", path: `/handoff?nodeID=${this.nodeId}`, timeoutMs });
      if (res.status !== 200) throw new ClusterError("handoff", `${primary.advertiseURL} refused the handoff: HTTP ${res.status}: ${answerText(res)}`, { status: res.status });
      const deadline = Date.now() + timeoutMs;
      while (!this.isPrimary) {
        if (Date.now() > deadline) throw new ClusterError("handoff", `not primary ${timeoutMs} ms after ${primary.advertiseURL} handed the lease over`);
        await this.takeover.next(deadline - Date.now());
      }
    } finally {
      if (!this.isPrimary) this.takeover.end();
    }
  }

  /** Hands the lease to `nodeId` (`/handoff` on the primary). */
  async handoff(nodeId: string): Promise<void> {
    const role = this.primaryRole;
    if (role === undefined) throw new ClusterError("not-primary", "this node is not the primary", { retryable: true });
    await role.handoff(nodeId);
  }

  /** Stops: streams end, the lease is released (another node takes over at once), positions are made durable. */
  async close(): Promise<void> {
    if (this.stopping.signal.aborted) return;
    this.stopping.abort(new ClusterError("closed", "the node is closing"));
    this.takeover.end();
    this.streamAbort?.abort(new ClusterError("closed", "the node is closing"));
    this.sleeper.wakeUp();
    await this.halts.releaseAll();
    await this.primaryRole?.lease.release().catch(() => undefined);
    await this.loop?.catch(() => undefined);
    await this.leaser.close().catch(() => undefined);
    await this.store.syncAll().catch(() => undefined);
  }

  // ------------------------------------------------------------------------------------
  // The main loop

  private async run(): Promise<void> {
    const delay = this.options.reconnectDelay ?? 1000;
    while (!this.stopping.signal.aborted) {
      let skipDelay = false;
      try {
        skipDelay = await this.step();
      } catch (err) {
        if (this.stopping.signal.aborted) break;
        if (isClusterError(err, "cluster-id-mismatch") || isLeaseError(err, "cluster-id-mismatch")) {
          this.refusal = err instanceof ClusterError ? err : new ClusterError("cluster-id-mismatch", (err as Error).message, { cause: err });
          this.logger.error("refused: another cluster", { error: this.refusal.message });
        } else {
          this.logger.warn("lease loop", { error: describeError(err) });
        }
      }
      if (!skipDelay && !this.stopping.signal.aborted) await this.sleeper.sleep(delay);
    }
  }

  /** One turn of the loop; true when the next turn should follow at once. */
  private async step(): Promise<boolean> {
    const ticket = this.handoffLeaseId;
    // A handed-off lease comes down a stream whose cluster ID was checked against ours,
    // from a primary that holds the lease: the lease store's ID was checked before this
    // node followed it. One etcd round trip less in the write gap.
    if (ticket === undefined) await this.checkClusterId();
    this.refusal = undefined;
    if (ticket !== undefined) {
      this.handoffLeaseId = undefined;
      try {
        traceHandoff(this.logger, "taking the lease over");
        const lease = await this.leaser.acquireExisting(ticket, { signal: this.stopping.signal });
        this.takeover.tracing = true;
        this.takeover.trace(this.logger, "lease taken over", { epoch: lease.epoch });
        await this.actAsPrimary(lease);
        return true;
      } catch (err) {
        this.takeover.end();
        this.logger.warn("could not take over the handed-off lease; electing normally", { error: describeError(err) });
      }
    }
    let primary = await this.leaser.primary({ signal: this.stopping.signal });
    // The static lease names a candidate itself as the primary; a store may still name
    // this node after a restart (its old lease not expired yet): both mean "try to acquire".
    // (A static non-candidate's leaser names the primary, not this node: never "self".)
    const self = this.leaser.candidate && primary !== undefined && primary.advertiseURL === this.leaser.advertiseURL;
    if ((primary === undefined || self) && this.leaser.candidate && this.mayLead()) {
      try {
        const lease = await this.leaser.acquire({ signal: this.stopping.signal });
        await this.actAsPrimary(lease);
        return false;
      } catch (err) {
        if (isLeaseError(err, "primary-exists")) primary = err.primary;
        else if (isLeaseError(err, "lock-delay")) {
          await this.sleeper.sleep(err.retryAfterMs ?? 1000);
          return true;
        } else throw err;
      }
    }
    if (primary === undefined) return false;
    if (self) {
      this.logger.warn("the lease names this node's URL but this node does not hold it; waiting for it to expire", { url: primary.advertiseURL });
      return false;
    }
    return this.actAsReplica(primary);
  }

  /** A node without a cluster ID may not lead a cluster that has one (LiteFS): it joins as a replica and adopts it. */
  private mayLead(): boolean {
    return this.store.dataDir.clusterId !== undefined || this.leaserClusterId === undefined;
  }

  private leaserClusterId: string | undefined;

  private async checkClusterId(): Promise<void> {
    const remote = await this.leaser.clusterId({ signal: this.stopping.signal });
    this.leaserClusterId = remote;
    const refusal = leaseClusterIdMismatch(remote, this.store.dataDir);
    if (refusal !== undefined) throw refusal;
  }

  private async actAsPrimary(lease: Lease): Promise<void> {
    try {
      this.store.dataDir.noteEpoch(lease.epoch, "this node's own lease");
      this.takeover.trace(this.logger, "epoch durable", { epoch: lease.epoch });
      let id = this.store.dataDir.clusterId ?? this.leaserClusterId;
      if (id === undefined) id = newClusterId();
      // Stored already (read back by the last check): another round trip would only lengthen a handoff's write gap.
      if (id !== this.leaserClusterId) await this.leaser.setClusterId(id, { signal: this.stopping.signal });
      this.store.dataDir.setClusterId(id);
    } catch (err) {
      await lease.release().catch(() => undefined);
      throw err;
    }
    const role = new PrimaryRole({ store: this.store, logger: this.logger, hostname: this.leaser.hostname, backup: this.options.backup, emit: (e) => this.events.emit(e) }, lease);
    this.primaryRole = role;
    this.takeover.trace(this.logger, "accepting commits");
    this.takeover.end(); // wakes the commits and the promote() waiting for this
    this.followed = undefined;
    this.connected = false;
    this.logger.info("primary", { hostname: this.leaser.hostname, epoch: lease.epoch, clusterId: this.store.dataDir.clusterId });
    this.events.emit({ type: "primaryChange", isPrimary: true, hostname: this.leaser.hostname });
    this.markReady();
    await new Promise<void>((resolve) => {
      if (lease.signal.aborted || this.stopping.signal.aborted) return resolve();
      lease.signal.addEventListener("abort", () => resolve(), { once: true });
      this.stopping.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await role.stop();
    this.primaryRole = undefined;
    const reason = lease.signal.aborted ? describeError(lease.signal.reason) : "closing";
    this.logger.info("no longer primary", { reason });
    this.events.emit({ type: "primaryChange", isPrimary: false, hostname: undefined });
  }

  private async actAsReplica(primary: PrimaryInfo): Promise<boolean> {
    this.followed = primary;
    const controller = new AbortController();
    this.streamAbort = controller;
    const signal = AbortSignal.any([controller.signal, this.stopping.signal]);
    try {
      const end = await runReplicaStream({
        store: this.store,
        primaryURL: primary.advertiseURL,
        identity: this.identity,
        logger: this.logger,
        databases: this.options.databases,
        primaryHistory: peerHistory(primary.advertiseURL, this.identity),
        signal,
        events: {
          clusterId: (id, primaryNodeId) => adoptClusterId(this.store.dataDir, id, primaryNodeId, primary),
          ready: () => {
            this.markReady();
            if (this.options.promote && !this.promoted && this.leaser.candidate) {
              this.promoted = true;
              void this.promote().catch((err: unknown) => this.logger.warn("promotion failed", { error: describeError(err) }));
            }
          },
          contact: (timestamp) => {
            this.lastContact = timestamp;
            if (!this.connected) {
              this.connected = true;
              this.events.emit({ type: "primaryChange", isPrimary: false, hostname: primary.hostname });
            }
            this.events.emit({ type: "lag" });
          },
          hwm: (name, txid) => this.hwms.set(name, txid),
          snapshot: (db, txid, bytes, ms) => this.events.emit({ type: "snapshot", db, txid, bytes, ms }),
          diverged: (divergence) => this.events.emit({ type: "diverged", divergence }),
        },
      });
      if (end.kind === "handoff") {
        this.handoffLeaseId = end.leaseId;
        // Bounded by the lease store's call timeout (at most the TTL) in acquireExisting.
        this.takeover.expect(Math.min(this.leaser.ttlMs, 10_000));
        this.logger.info("the primary handed its lease to this node", { from: primary.hostname });
        return true;
      }
      return false;
    } finally {
      this.streamAbort = undefined;
      if (this.connected) {
        this.connected = false;
        this.events.emit({ type: "primaryChange", isPrimary: false, hostname: undefined });
      }
    }
  }

  /** A new primary in the lease store ends the current stream; a vacancy wakes the loop. */
  private primaryChanged(primary: PrimaryInfo | undefined): void {
    if (this.followed !== undefined && primary?.advertiseURL !== this.followed.advertiseURL) {
      this.streamAbort?.abort(new ClusterError("unavailable", `the primary is now ${primary?.hostname ?? "nobody"}`, { retryable: true }));
    }
    this.sleeper.wakeUp();
  }

  private markReady(): void {
    if (this.readyValue) return;
    this.readyValue = true;
    this.readyResolve();
    this.events.emit({ type: "ready" });
  }
}
