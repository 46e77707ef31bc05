/**
 * The halt lock on the primary (LiteFS's write forwarding, `/halt` and `/tx`): a
 * replica holds a database's write lock on the primary for up to 30 s; meanwhile the
 * primary's own commits to it wait, and the replica's transactions arrive as LTX files
 * that must continue the position exactly.
 */
import { ClusterError } from "../errors.js";

/** LiteFS's halt lifetime. */
export const HALT_TTL_MS = 30_000;
/** How long an acquirer waits for another holder (LiteFS: 10 s). */
export const HALT_WAIT_MS = 10_000;

interface Hold {
  readonly id: string;
  expires: number;
  timer: NodeJS.Timeout;
  release: () => void;
  readonly released: Promise<void>;
}

/** The halt locks of one primary, by database. */
export class HaltTable {
  private readonly holds = new Map<string, Hold>();

  /** The holder of `name`'s halt, if any. */
  holder(name: string): string | undefined {
    return this.holds.get(name)?.id;
  }

  /**
   * Takes `name`'s halt for `id` (waiting up to 10 s for another holder); it expires
   * after 30 s. Taking it again with the same id renews it. Resolves with the expiry.
   */
  async acquire(name: string, id: string, signal?: AbortSignal): Promise<number> {
    const deadline = Date.now() + HALT_WAIT_MS;
    for (;;) {
      const hold = this.holds.get(name);
      if (hold === undefined) break;
      if (hold.id === id) {
        hold.expires = Date.now() + HALT_TTL_MS;
        hold.timer.refresh();
        return hold.expires;
      }
      const left = deadline - Date.now();
      if (left <= 0)
        throw new ClusterError("halt", `${name}: the halt lock is held by ${hold.id} (expires in ${Math.max(0, hold.expires - Date.now())} ms)`, { db: name, retryable: true });
      await Promise.race([hold.released, sleep(left, signal)]);
      if (signal?.aborted) throw new ClusterError("aborted", `${name}: waiting for the halt lock aborted`, { db: name });
    }
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const hold: Hold = {
      id,
      expires: Date.now() + HALT_TTL_MS,
      timer: setTimeout(() => this.release(name, id), HALT_TTL_MS),
      release,
      released,
    };
    hold.timer.unref();
    this.holds.set(name, hold);
    return hold.expires;
  }

  /** Throws `ClusterError("halt")` unless `id` holds `name`'s halt. */
  check(name: string, id: string): void {
    const hold = this.holds.get(name);
    if (hold?.id !== id)
      throw new ClusterError("halt", `${name}: halt lock ${id} is not held${hold === undefined ? " (expired or released)" : ` (held by ${hold.id})`}`, { db: name });
  }

  /** Releases `name`'s halt if `id` holds it. */
  release(name: string, id: string): void {
    const hold = this.holds.get(name);
    if (hold?.id !== id) return;
    clearTimeout(hold.timer);
    this.holds.delete(name);
    hold.release();
  }

  /** Resolves once nobody (else than `id`) holds `name`'s halt: the primary's own commits wait here. */
  async waitFree(name: string, id?: string, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const hold = this.holds.get(name);
      if (hold === undefined || hold.id === id) return;
      await Promise.race([hold.released, sleep(HALT_TTL_MS, signal)]);
      if (signal?.aborted) throw new ClusterError("aborted", `${name}: waiting for the halt lock aborted`, { db: name });
    }
  }

  /** Releases every halt (the node stops being primary). */
  releaseAll(): void {
    for (const [name, hold] of [...this.holds]) this.release(name, hold.id);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
