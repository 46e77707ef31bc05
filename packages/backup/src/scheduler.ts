import { watch, type FSWatcher } from "node:fs";

/** A scheduled call; `cancel()` is idempotent. */
export interface Timer {
  cancel(): void;
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
export class Scheduler {
  private readonly heap: Entry[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Infinity;
  private closed = false;

  constructor(private readonly onError: (err: unknown) => void) {}

  /** Calls `fn` after `delayMs`. */
  schedule(delayMs: number, fn: () => void): Timer {
    const entry: Entry = { at: Date.now() + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    if (this.closed) return { cancel() {} };
    this.push(entry);
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
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
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
      const entry = this.pop()!;
      if (entry.cancelled) continue;
      try {
        entry.fn();
      } catch (err) {
        this.onError(err);
      }
    }
    this.arm();
  }

  private less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(entry: Entry): void {
    const h = this.heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): Entry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/** A file watched by {@link DirectoryWatchers}. */
export interface WatchedFile {
  /** `file` or `file-wal` changed. */
  onChange(): void;
  /** False while changes do not matter (a sync is already scheduled that will read them). */
  wantsEvents(): boolean;
  /** Watching starts again after a pause: look for changes made meanwhile. */
  onResume(): void;
}

interface WatchedDir {
  watcher: FSWatcher | undefined;
  readonly files: Map<string, WatchedFile>;
}

/**
 * One `fs.watch` per directory, shared by every database in it: a change to `<db>` or
 * `<db>-wal` is routed to that database. A directory whose databases all have a sync
 * scheduled anyway is not watched meanwhile (`update`): under sustained writes the
 * WAL changes hundreds of times a second, and each event costs more than the upload
 * it would trigger, which the throttle holds back anyway.
 */
export class DirectoryWatchers {
  private readonly dirs = new Map<string, WatchedDir>();

  constructor(private readonly onError: (dir: string, err: unknown) => void) {}

  /** Routes changes of `file` and `file-wal` in `dir` to `target`. Returns false if the directory cannot be watched. */
  add(dir: string, file: string, target: WatchedFile): boolean {
    let entry = this.dirs.get(dir);
    if (entry === undefined) {
      entry = { watcher: undefined, files: new Map() };
      this.dirs.set(dir, entry);
    }
    entry.files.set(file, target);
    return this.open(dir, entry);
  }

  /** Opens or closes the directory's watcher as its databases' interest changed. */
  update(dir: string): void {
    const entry = this.dirs.get(dir);
    if (entry === undefined) return;
    const wanted = [...entry.files.values()].some((f) => f.wantsEvents());
    if (wanted && entry.watcher === undefined) {
      if (this.open(dir, entry)) for (const f of entry.files.values()) f.onResume();
    } else if (!wanted && entry.watcher !== undefined) {
      entry.watcher.close();
      entry.watcher = undefined;
    }
  }

  close(): void {
    for (const entry of this.dirs.values()) entry.watcher?.close();
    this.dirs.clear();
  }

  private open(dir: string, entry: WatchedDir): boolean {
    if (entry.watcher !== undefined) return true;
    try {
      entry.watcher = watch(dir, { persistent: true }, (_event, name) => this.route(entry.files, name));
    } catch (err) {
      this.onError(dir, err);
      return false;
    }
    entry.watcher.on("error", (err) => this.onError(dir, err));
    return true;
  }

  private route(files: Map<string, WatchedFile>, name: string | Buffer | null): void {
    if (name === null) {
      for (const f of files.values()) f.onChange();
      return;
    }
    // Commits land in the WAL. The database file changes when a checkpoint copies frames
    // into it; another connection's checkpoint may then be waiting for our read
    // transaction to move on, which the resulting (empty) sync lets it do.
    const text = typeof name === "string" ? name : name.toString();
    files.get(text.endsWith("-wal") ? text.slice(0, -4) : text)?.onChange();
  }
}
