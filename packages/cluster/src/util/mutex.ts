// A promise-chained mutex: one holder at a time, waiters served in arrival order.

/** Serialises async sections (one database's commits, applies and restores). */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private holders = 0;

  /** Whether someone holds it or waits for it. */
  get busy(): boolean {
    return this.holders > 0;
  }

  /** Runs `fn` once every earlier holder has finished; its result or error is passed through. */
  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    let release!: () => void;
    const previous = this.tail;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    this.holders++;
    try {
      await previous;
      return await fn();
    } finally {
      this.holders--;
      release();
    }
  }
}
