/**
 * How long a replica has been waiting for its primary's next bytes: the measure of a
 * silent primary. Not the time since the last frame began — one frame can be a
 * snapshot of a large database taking many seconds to arrive while bytes flow all
 * along — nor time the replica spends on its own work (writing, fsync, a swap), when it
 * is not reading.
 */

/** A byte source that knows whether its reader is waiting on it, and since when. */
export class WaitClock implements AsyncIterable<Uint8Array> {
  private since: number | undefined;

  constructor(
    private readonly source: AsyncIterable<Uint8Array>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds the current read has been waiting for bytes (0 when no read is waiting). */
  waitingMs(): number {
    return this.since === undefined ? 0 : this.now() - this.since;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const inner = this.source[Symbol.asyncIterator]();
    return {
      next: async () => {
        this.since = this.now();
        try {
          return await inner.next();
        } finally {
          this.since = undefined;
        }
      },
      return: async () => (await inner.return?.()) ?? { done: true, value: undefined },
    };
  }
}
