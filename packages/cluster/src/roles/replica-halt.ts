/**
 * Write forwarding from a replica (LiteFS's halt lock, `litefs run` and litefs-node's
 * `WithHalt`): take the primary's halt lock of a database, catch up to the position it
 * returns, then send each local transaction to the primary as an LTX file (`/tx`)
 * before committing it locally at the same TXID. The primary streams it back; the
 * replica skips it, having it already.
 */
import { randomBytes } from "node:crypto";
import { formatTxid, parseChecksum } from "@sqlrep/ltx";
import { ClusterError, describeError } from "../errors.js";
import { answerText, peerRequest } from "../http/peer.js";
import type { CommitOptions, DatabasePosition } from "../store/database.js";
import type { CommitPages } from "../store/commit-pages.js";
import type { Logger } from "@sqlrep/shipper";
import type { PrimaryInfo } from "@sqlrep/lease";
import type { PeerIdentity } from "../http/peer.js";
import type { Store } from "../store/store.js";

/** What the halts need of their node. */
export interface HaltHost {
  readonly store: Store;
  readonly logger: Logger;
  readonly identity: PeerIdentity;
  /** The primary this replica follows. */
  readonly followedPrimary: PrimaryInfo | undefined;
  /** The primary's hostname while connected to it, else null. */
  primaryHostname(): string | null;
}

/** How long a halt waits for this replica to reach the primary's position. */
const CATCH_UP_MS = 10_000;

interface Held {
  readonly id: string;
  readonly url: string;
}

/** The halt locks this replica holds, by database. */
export class ReplicaHalts {
  private readonly held = new Map<string, Held>();

  constructor(private readonly node: HaltHost) {}

  /** Whether this node holds `name`'s halt lock. */
  holds(name: string): boolean {
    return this.held.has(name);
  }

  /** Takes the primary's halt lock of `name`, then waits until this replica is at the position it returned. */
  async halt(name: string, signal?: AbortSignal): Promise<void> {
    if (this.held.has(name)) throw new ClusterError("halt", `${name}: this node already holds its halt lock`, { db: name });
    const primary = this.node.followedPrimary;
    if (primary === undefined || this.node.primaryHostname() === null)
      throw new ClusterError("unavailable", `${name}: no primary connected to take the halt lock from`, { db: name, retryable: true });
    const id = haltId();
    const res = await peerRequest(primary.advertiseURL, this.node.identity, { method: "POST", path: `/halt?name=${encodeURIComponent(name)}&id=${id}`, signal, timeoutMs: 15_000 });
    if (res.status !== 200)
      throw new ClusterError("halt", `${name}: ${primary.advertiseURL} refused the halt lock: HTTP ${res.status}: ${answerText(res)}`, {
        db: name,
        status: res.status,
        retryable: true,
      });
    const json = JSON.parse(Buffer.from(res.body).toString("utf8")) as { pos: { TXID: string; PostApplyChecksum: string } };
    const target = { txid: Number.parseInt(json.pos.TXID, 16), checksum: parseChecksum(json.pos.PostApplyChecksum) ?? 0n };
    this.held.set(name, { id, url: primary.advertiseURL });
    try {
      await this.catchUp(name, target, signal);
    } catch (err) {
      await this.unhalt(name).catch(() => undefined);
      throw err;
    }
  }

  /** A local transaction under the halt: forwarded, then committed here at the same TXID. */
  async commit(name: string, pages: CommitPages, commit: number, options: Omit<CommitOptions, "guard" | "epoch" | "expect">): Promise<DatabasePosition> {
    const held = this.held.get(name);
    if (held === undefined) throw new ClusterError("read-only", `${name}: this node does not hold its halt lock`, { db: name });
    const db = this.node.store.get(name) ?? (await this.node.store.create(name));
    return db.exclusive(async () => {
      const tx = db.encodeTransaction(pages, commit, options.timestamp);
      const res = await peerRequest(held.url, this.node.identity, {
        method: "POST",
        path: `/tx?name=${encodeURIComponent(name)}&lockID=${held.id}`,
        body: tx.bytes,
        timeoutMs: 15_000,
      });
      if (res.status !== 200) {
        throw new ClusterError(
          res.status === 409 ? "halt" : "unavailable",
          `${name}: the primary refused forwarded transaction ${formatTxid(tx.txid)}: HTTP ${res.status}: ${answerText(res)}`,
          { db: name, status: res.status },
        );
      }
      return db.commitNow(pages, commit, { ...options, expect: { txid: tx.txid, checksum: tx.checksum } });
    });
  }

  /** Releases `name`'s halt lock on the primary. */
  async unhalt(name: string): Promise<void> {
    const held = this.held.get(name);
    if (held === undefined) return;
    this.held.delete(name);
    const res = await peerRequest(held.url, this.node.identity, { method: "DELETE", path: `/halt?name=${encodeURIComponent(name)}&id=${held.id}`, timeoutMs: 5_000 }).catch(
      (err: unknown) => {
        this.node.logger.warn("could not release the halt lock on the primary (it expires by itself)", { db: name, error: describeError(err) });
        return undefined;
      },
    );
    if (res !== undefined && res.status !== 200) this.node.logger.warn("the primary did not release the halt lock", { db: name, status: res.status });
  }

  /** Releases every halt lock (closing). */
  async releaseAll(): Promise<void> {
    for (const name of [...this.held.keys()]) await this.unhalt(name);
  }

  private async catchUp(name: string, target: { txid: number; checksum: bigint }, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + CATCH_UP_MS;
    for (;;) {
      const pos = this.node.store.get(name)?.position ?? { txid: 0, checksum: 0n };
      if (pos.txid === target.txid && (target.txid === 0 || pos.checksum === target.checksum)) return;
      if (pos.txid > target.txid || (pos.txid === target.txid && pos.checksum !== target.checksum)) {
        throw new ClusterError("halt", `${name}: this replica is at TXID ${formatTxid(pos.txid)}, not at the primary's halted position ${formatTxid(target.txid)}`, { db: name });
      }
      if (Date.now() > deadline)
        throw new ClusterError("halt", `${name}: did not reach the primary's position TXID ${formatTxid(target.txid)} within ${CATCH_UP_MS} ms`, { db: name, retryable: true });
      if (signal?.aborted) throw new ClusterError("aborted", `${name}: halt aborted`, { db: name });
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}

/** A random halt lock ID (LiteFS: a random int64, in decimal). */
export function haltId(): string {
  return BigInt.asIntN(64, BigInt(`0x${randomBytes(8).toString("hex")}`)).toString();
}
