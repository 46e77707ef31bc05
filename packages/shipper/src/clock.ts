/**
 * Time for the shipper and the engines that feed it: `now()` and one-shot timers, so
 * that the upload policy, back-off and maintenance can be driven by a fake clock in tests.
 */

/** A scheduled call; `cancel()` is idempotent. */
export interface Timer {
  cancel(): void;
}

/** What the shipper needs of time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` after `delayMs`. */
  schedule(delayMs: number, fn: () => void): Timer;
}

interface Entry {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * Every timer of an engine on one Node timer: a binary heap of deadlines and a single
 * `setTimeout` armed for the earliest. Thousands of idle databases cost heap entries,
 * not Node timers, and nothing runs until something is due.
 */
export class Scheduler implements Clock {
  private readonly heap: Entry[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Infinity;
  private closed = false;

  constructor(private readonly onError: (err: unknown) => void) {}

  now(): number {
    return Date.now();
  }

  schedule(delayMs: number, fn: () => void): Timer {
    const entry: Entry = { at: Date.now() + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    if (this.closed) return { cancel() {} };
    heapPush(this.heap, entry);
    this.arm();
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  /** Cancels everything; later `schedule` calls do nothing. */
  close(): void {
    this.closed = true;
    this.heap.length = 0;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) heapPop(this.heap);
    const next = this.heap[0];
    if (next === undefined || this.closed) return;
    if (this.timer !== undefined && this.armedAt <= next.at) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.armedAt = next.at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, next.at - Date.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    const now = Date.now();
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const entry = heapPop(this.heap)!;
      if (entry.cancelled) continue;
      try {
        entry.fn();
      } catch (err) {
        this.onError(err);
      }
    }
    this.arm();
  }
}

/**
 * A clock that moves only when told (`advance`): due timers run in deadline order, each
 * seeing `now()` at its own deadline. For unit tests of time-driven behaviour.
 */
export class ManualClock implements Clock {
  private readonly heap: Entry[] = [];
  private seq = 0;
  private time: number;

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  schedule(delayMs: number, fn: () => void): Timer {
    // Whole milliseconds, as Date.now() gives: jittered delays would otherwise make now() fractional.
    const entry: Entry = { at: this.time + Math.ceil(Math.max(0, delayMs)), seq: this.seq++, fn, cancelled: false };
    heapPush(this.heap, entry);
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  /** Timers still due (not cancelled). */
  get pending(): number {
    return this.heap.filter((e) => !e.cancelled).length;
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way. */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      while (this.heap.length > 0 && this.heap[0]!.cancelled) heapPop(this.heap);
      const next = this.heap[0];
      if (next === undefined || next.at > until) break;
      heapPop(this.heap);
      this.time = Math.max(this.time, next.at);
      next.fn();
    }
    this.time = until;
  }
}

function less(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

function heapPush(h: Entry[], entry: Entry): void {
  h.push(entry);
  let i = h.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!less(h[i]!, h[parent]!)) break;
    [h[i], h[parent]] = [h[parent]!, h[i]!];
    i = parent;
  }
}

function heapPop(h: Entry[]): Entry | undefined {
  const top = h[0];
  const last = h.pop();
  if (h.length > 0 && last !== undefined) {
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && less(h[l]!, h[m]!)) m = l;
      if (r < h.length && less(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
  return top;
}
