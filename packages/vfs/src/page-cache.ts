// The LRU of decoded pages, keyed by where a page was read from (an LTX file and its
// index entry). LTX files never change, so an entry stays right for every version that
// points at it and nothing ever needs invalidating.

/** The cache key of entry `entry` of LTX file `file`. */
export function pageKey(file: number, entry: number): number {
  return file * 0x1_0000_0000 + entry;
}

/** A byte-bounded LRU of pages. */
export class PageCache {
  private readonly pages = new Map<number, Uint8Array>();
  private used = 0;
  hits = 0;
  misses = 0;

  constructor(readonly capacity: number) {}

  get(key: number): Uint8Array | undefined {
    const page = this.pages.get(key);
    if (page === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Map keeps insertion order: re-inserting marks the page as the most recent.
    this.pages.delete(key);
    this.pages.set(key, page);
    return page;
  }

  /** Whether the key is cached (without touching its recency or the counters). */
  has(key: number): boolean {
    return this.pages.has(key);
  }

  set(key: number, page: Uint8Array): void {
    const old = this.pages.get(key);
    if (old !== undefined) {
      this.used -= old.length;
      this.pages.delete(key);
    }
    if (page.length > this.capacity) return;
    this.pages.set(key, page);
    this.used += page.length;
    for (const [k, p] of this.pages) {
      if (this.used <= this.capacity) break;
      this.pages.delete(k);
      this.used -= p.length;
    }
  }

  /** Bytes held. */
  get size(): number {
    return this.used;
  }

  clear(): void {
    this.pages.clear();
    this.used = 0;
  }
}
