/**
 * The main loop's sleep: for a while, or less when the node closes or (when wakeable)
 * something it waits for happens (the lease store reports a change).
 */

/** Sleeps that end early when `signal` fires or {@link wakeUp} is called. */
export class WakeableSleep {
  private wake: (() => void) | undefined;

  constructor(private readonly signal: AbortSignal) {}

  /** Ends the current wakeable sleep, if any. */
  wakeUp(): void {
    this.wake?.();
  }

  /** Waits `ms`, or less when the signal fires or (`wakeable`) {@link wakeUp} is called. */
  sleep(ms: number, wakeable = true): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.signal.removeEventListener("abort", done);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.signal.addEventListener("abort", done, { once: true });
      if (wakeable) this.wake = done;
    });
  }
}
