/**
 * A node about to become primary by handoff (it asked for the lease, or the Handoff
 * frame came): commits sent to it meanwhile wait for the outcome instead of being
 * refused and retried elsewhere, and `promote()` is woken by the role change, not a poll.
 * Its steps go to the handoff trace.
 */
import type { Logger } from "@sqlrep/shipper";
import { traceHandoff } from "../util/handoff-trace.js";

/** Whether a takeover is under way, and a wake-up for whoever waits on its outcome. */
export class Takeover {
  private until = 0;
  private readonly waiters = new Set<() => void>();
  /** A handed-off lease was taken over and its first commit is still to come: its steps are traced. */
  tracing = false;

  /** Traces a step of the takeover (`handoff: <step>`) while {@link tracing}. */
  trace(logger: Logger, step: string, fields?: Record<string, unknown>): void {
    if (this.tracing) traceHandoff(logger, step, fields);
  }

  /** Traces the first commit after a takeover, once. */
  traceFirstCommit(logger: Logger, txid: number): void {
    this.trace(logger, "first commit", { txid });
    this.tracing = false;
  }

  /** A takeover is expected to end within `ms` (extends one under way). */
  expect(ms: number): void {
    this.until = Math.max(this.until, Date.now() + ms);
  }

  /** Milliseconds left of the takeover under way (0: none). */
  get remaining(): number {
    return Math.max(0, this.until - Date.now());
  }

  /** The takeover ended (this node is primary, or it failed): waiters look again. */
  end(): void {
    this.until = 0;
    this.changed();
  }

  /** The node's role changed: waiters look again. */
  changed(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolves at the next change, or after `ms`. */
  next(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }
}
