// A manual clock for the renewal tests: time moves only when the test says so.
import type { Clock } from "../clock.js";

interface Timer {
  id: number;
  due: number;
  fn: () => void;
}

/** A `Clock` whose time advances only through `advance()`. */
export class FakeClock implements Clock {
  private time = 1_000_000;
  private nextId = 1;
  private timers: Timer[] = [];

  now(): number {
    return this.time;
  }

  wallNow(): number {
    return 1_700_000_000_000 + this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer = { id: this.nextId++, due: this.time + Math.max(0, ms), fn };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Jumps forward `ms` without running any timer (a frozen process). */
  jump(ms: number): void {
    this.time += ms;
  }

  /** Moves forward `ms`, running each timer at its due time, letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      await settle();
      const next = this.timers.filter((t) => t.due <= end).sort((a, b) => a.due - b.due || a.id - b.id)[0];
      if (!next) break;
      this.time = Math.max(this.time, next.due);
      this.timers = this.timers.filter((t) => t !== next);
      next.fn();
    }
    this.time = end;
    await settle();
  }
}

/** Lets pending promise chains run (several macrotask turns). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
