// Which versions stay readable: the current ones by change counter, superseded ones for a
// grace time, pinned ones until unpinned; and how far the page index may fold under them.
import type { Version } from "./version.js";
import type { VersionIndex } from "./version-index.js";

/** The versions a timeline still serves, and when each may go. */
export class RetainedVersions {
  private readonly byCounter = new Map<number, Version>();
  private retired: { version: Version; until: number }[] = [];
  private readonly pins = new Map<Version, number>();

  /** @param retainMs how long a superseded version stays readable */
  constructor(private readonly retainMs: number) {}

  /** The version SQLite knows by this change counter, if it is still kept. */
  get(counter: number): Version | undefined {
    return this.byCounter.get(counter);
  }

  /** Makes `v` current; `prev` (when another version) stays readable for the grace time. */
  publish(v: Version, prev: Version | undefined): void {
    this.byCounter.set(v.counter, v);
    if (prev !== undefined && prev !== v) this.retired.push({ version: prev, until: Date.now() + this.retainMs });
  }

  /** Keeps a version readable until `unpin`. */
  pin(v: Version): void {
    this.pins.set(v, (this.pins.get(v) ?? 0) + 1);
  }

  /** Undoes one `pin`. */
  unpin(v: Version): void {
    const n = this.pins.get(v) ?? 0;
    if (n <= 1) this.pins.delete(v);
    else this.pins.set(v, n - 1);
  }

  /** Drops superseded versions past their grace time, unless pinned. */
  expire(now: number): void {
    const keep: { version: Version; until: number }[] = [];
    for (const r of this.retired) {
      if (r.until > now || this.pins.has(r.version)) keep.push(r);
      else if (this.byCounter.get(r.version.counter) === r.version) this.byCounter.delete(r.version.counter);
    }
    this.retired = keep;
  }

  /** The oldest sequence of `index` a kept version still reads, at most `floor`. */
  oldestSeq(index: VersionIndex, floor: number): number {
    let seq = floor;
    for (const r of this.retired) if (r.version.index === index) seq = Math.min(seq, r.version.seq);
    for (const v of this.pins.keys()) if (v.index === index) seq = Math.min(seq, v.seq);
    return seq;
  }
}
