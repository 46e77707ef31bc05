/**
 * A readers-writer lock for one database: snapshots read the database under the shared
 * side (several replicas at once), our checkpoints and read-transaction hand-offs
 * change what the files hold and take the exclusive side. A waiting exclusive
 * request holds back new shared ones, so a checkpoint is not starved by a busy replica.
 */
export class RwLock {
  private shared = 0;
  private exclusive = false;
  private readonly queue: { exclusive: boolean; grant: () => void }[] = [];

  /** Runs `fn` under the shared side. */
  async withShared<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire(false);
    try {
      return await fn();
    } finally {
      this.release(false);
    }
  }

  /** Runs `fn` under the exclusive side. */
  async withExclusive<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire(true);
    try {
      return await fn();
    } finally {
      this.release(true);
    }
  }

  /** Takes the shared side until the returned function is called (once). */
  async acquireShared(): Promise<() => void> {
    await this.acquire(false);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release(false);
    };
  }

  /** True while anything holds or waits for the lock. */
  get busy(): boolean {
    return this.exclusive || this.shared > 0 || this.queue.length > 0;
  }

  private acquire(exclusive: boolean): Promise<void> {
    if (this.queue.length === 0 && this.canGrant(exclusive)) {
      this.take(exclusive);
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push({ exclusive, grant: resolve }));
  }

  private canGrant(exclusive: boolean): boolean {
    return exclusive ? !this.exclusive && this.shared === 0 : !this.exclusive;
  }

  private take(exclusive: boolean): void {
    if (exclusive) this.exclusive = true;
    else this.shared++;
  }

  private release(exclusive: boolean): void {
    if (exclusive) this.exclusive = false;
    else this.shared--;
    while (this.queue.length > 0 && this.canGrant(this.queue[0]!.exclusive)) {
      const next = this.queue.shift()!;
      this.take(next.exclusive);
      next.grant();
      if (next.exclusive) break;
    }
  }
}
