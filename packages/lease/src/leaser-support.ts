// What every leaser shares besides the lease itself: checking the node's identity, the
// leases it holds (released on close), and the "closed" state.
import type { NodeIdentity } from "./contract.js";
import { LeaseError } from "./errors.js";
import type { ManagedLease } from "./managed-lease.js";

/** A node identity with `candidate` filled in. */
export interface CheckedIdentity {
  hostname: string;
  advertiseURL: string;
  candidate: boolean;
}

/** Checks `hostname` and `advertiseURL` (an http(s) URL); `candidate` defaults to true. */
export function checkIdentity(node: NodeIdentity, where: string): CheckedIdentity {
  const bad = (key: string, why: string) => new LeaseError("invalid-config", `${where}.${key}: ${why}`, { key: `${where}.${key}` });
  if (typeof node?.hostname !== "string" || node.hostname === "") throw bad("hostname", "required: the name other nodes know this one by");
  if (typeof node.advertiseURL !== "string" || node.advertiseURL === "") throw bad("advertise-url", "required: this node's API URL, e.g. http://node1:20202");
  let url: URL;
  try {
    url = new URL(node.advertiseURL);
  } catch {
    throw bad("advertise-url", `not a URL: ${JSON.stringify(node.advertiseURL)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw bad("advertise-url", `must be http or https: ${node.advertiseURL}`);
  if (node.candidate !== undefined && typeof node.candidate !== "boolean") throw bad("candidate", "must be true or false");
  return { hostname: node.hostname, advertiseURL: node.advertiseURL, candidate: node.candidate ?? true };
}

/** The open/closed state of a leaser and the leases it holds. */
export class LeaserLifecycle {
  private readonly closing = new AbortController();
  private readonly held = new Set<ManagedLease>();

  constructor(private readonly describe: string) {}

  /** Fires when the leaser closes: watches end, calls in flight stop. */
  get closed(): AbortSignal {
    return this.closing.signal;
  }

  /** Throws `LeaseError("closed")` once closed. */
  assertOpen(what: string): void {
    if (this.closing.signal.aborted) throw new LeaseError("closed", `${this.describe}: ${what} after close()`);
  }

  /** A signal for one call: the caller's and the leaser's close. */
  callSignal(signal: AbortSignal | undefined): AbortSignal {
    return signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal;
  }

  /** Remembers a held lease until it ends (`forget`, given to `createManagedLease` as `onEnd`). */
  track(lease: ManagedLease): void {
    this.held.add(lease);
  }

  /** For `createManagedLease({ onEnd })`. */
  readonly forget = (lease: ManagedLease): void => {
    this.held.delete(lease);
  };

  /** Marks the leaser closed and releases every lease still held (graceful shutdown), then runs `closeClient`. */
  async close(closeClient: () => Promise<void> | void): Promise<void> {
    if (this.closing.signal.aborted) return;
    const reason = new LeaseError("closed", `${this.describe}: closed`);
    await Promise.all([...this.held].map((lease) => lease.shutdown(reason)));
    this.closing.abort(reason);
    await closeClient();
  }
}
