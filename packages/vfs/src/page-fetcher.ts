// Reads page frames out of LTX files with ranged reads: one frame for a random read, a
// run of neighbouring frames (one request) when the reader walks forward, decoded into
// the page cache. Concurrent requests for the same frame share one read.
import { decodePageFrame } from "@sqlrep/ltx";
import { describeFault, type LtxFile, type LtxFileTable } from "./file-table.js";
import { pageKey, type PageCache } from "./page-cache.js";

/** Options of {@link PageFetcher}. */
export interface PageFetcherOptions {
  /** Most bytes one ranged read fetches ahead (default 4 MiB). */
  maxRunBytes?: number | undefined;
  /** Ranged reads the fetcher keeps in flight ahead of a sequential reader (default 4). */
  prefetchDepth?: number | undefined;
  /** Counts each ranged read (figures, tests). */
  onRequest?: ((file: LtxFile, bytes: number) => void) | undefined;
}

/** The share of a span's frames that makes a prefetch read the whole span. */
const DENSE_SHARE = 0.2;

/** How far ahead to read: frames after the wanted one, in the same file. */
export interface ReadAhead {
  /** Frames to fetch with the wanted one in one request (0: just it). */
  frames: number;
  /** Also start this many further runs of the same size in the background. */
  prefetch: number;
}

export const NO_READ_AHEAD: ReadAhead = Object.freeze({ frames: 0, prefetch: 0 });

/** Fetches and decodes page frames, filling a {@link PageCache}. */
export class PageFetcher {
  private readonly inflight = new Map<number, Promise<void>>();
  private readonly maxRunBytes: number;
  private readonly prefetchDepth: number;
  /** Ranged reads issued (for figures). */
  requests = 0;
  /** Bytes those reads returned. */
  bytes = 0;
  private prefetching = 0;
  /** Ranged reads started by prefetches and by readers waiting for a page (figures). */
  prefetchRuns = 0;
  demandRuns = 0;
  /** Most prefetch reads in flight at once (figures). */
  prefetchPeak = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly files: LtxFileTable,
    private readonly cache: PageCache,
    private readonly options: PageFetcherOptions = {},
  ) {
    this.maxRunBytes = options.maxRunBytes ?? 4 * 1024 * 1024;
    this.prefetchDepth = options.prefetchDepth ?? 4;
  }

  /** The page at `entry` of `file`, from the cache or one ranged read. */
  async page(file: LtxFile, entry: number, ahead: ReadAhead = NO_READ_AHEAD): Promise<Uint8Array> {
    const key = pageKey(file.id, entry);
    for (let attempt = 0; ; attempt++) {
      const cached = this.cache.get(key);
      if (cached !== undefined) {
        if (ahead.prefetch > 0) this.prefetch(file, entry + 1 + ahead.frames, ahead);
        return cached;
      }
      const pending = this.inflight.get(key) ?? this.fetchRun(file, entry, entry + ahead.frames);
      if (ahead.prefetch > 0) this.prefetch(file, entry + 1 + ahead.frames, ahead);
      await pending;
      // Evicted between the read and now (a tiny cache under pressure): read again.
      const page = this.cache.get(key);
      if (page !== undefined) return page;
      if (attempt >= 2) return this.fetchOne(file, entry);
    }
  }

  /**
   * Starts fetching these entries of `file` in the background: neighbours (frames less
   * than `gap` bytes apart) share one ranged read of at most `maxRunBytes`; a few reads run
   * at once. Entries cached or in flight already are skipped.
   */
  prefetchEntries(file: LtxFile, entries: readonly number[], gap = 256 * 1024): void {
    const wanted = [...new Set(entries)].filter((e) => !this.cache.has(pageKey(file.id, e)) && !this.inflight.has(pageKey(file.id, e))).sort((a, b) => a - b);
    if (wanted.length === 0) return;
    // Wanted frames that make up a fair share of the span they cover (a table interleaved
    // with others, scanned): read the whole span in runs as large as allowed, not the gaps.
    const span = wanted[wanted.length - 1]! - wanted[0]! + 1;
    if (wanted.length >= DENSE_SHARE * span) gap = Infinity;
    let i = 0;
    while (i < wanted.length) {
      const first = wanted[i]!;
      let last = first;
      let j = i + 1;
      for (; j < wanted.length; j++) {
        const next = wanted[j]!;
        const end = file.offsets[last]! + file.sizes[last]!;
        const nextEnd = file.offsets[next]! + file.sizes[next]!;
        if (file.offsets[next]! - end > gap || nextEnd - file.offsets[first]! > this.maxRunBytes) break;
        last = next;
      }
      i = j;
      void this.limited(() => this.fetchRun(file, first, last, true)).catch(() => undefined);
    }
  }

  /** Runs a prefetch when fewer than `prefetchDepth × 8` are in flight. */
  private async limited(run: () => Promise<void>): Promise<void> {
    while (this.prefetching >= this.prefetchDepth * 8) await new Promise<void>((r) => this.waiting.push(r));
    this.prefetching++;
    this.prefetchPeak = Math.max(this.prefetchPeak, this.prefetching);
    try {
      await run();
    } finally {
      this.prefetching--;
      this.waiting.shift()?.();
    }
  }

  /** Background runs after `from`, as long as they are not cached or in flight already. */
  private prefetch(file: LtxFile, from: number, ahead: ReadAhead): void {
    const run = Math.max(1, ahead.frames + 1);
    for (let i = 0, at = from; i < Math.min(ahead.prefetch, this.prefetchDepth) && at < file.pgnos.length; i++, at += run) {
      const key = pageKey(file.id, at);
      if (this.cache.has(key) || this.inflight.has(key)) continue;
      this.fetchRun(file, at, at + run - 1).catch(() => undefined); // a reader that needs it will fail with its own error
    }
  }

  /** One page read alone, bypassing the cache (when the cache cannot hold it). */
  private async fetchOne(file: LtxFile, entry: number): Promise<Uint8Array> {
    const offset = file.offsets[entry]!;
    const size = file.sizes[entry]!;
    const bytes = await this.read(file, offset, size);
    return decodePageFrame(bytes, file.header.pageSize, { file: file.label, offset, pgno: file.pgnos[entry]! }).data;
  }

  /**
   * Reads frames first…last in one request (clipped to the file and the byte budget; unless
   * `whole`, also to frames not cached or in flight yet) and caches them decoded.
   */
  private fetchRun(file: LtxFile, first: number, last: number, whole = false): Promise<void> {
    const n = file.pgnos.length;
    let end = Math.min(last, n - 1);
    const start = file.offsets[first]!;
    let bytes = file.sizes[first]!;
    let stop = first;
    while (stop < end) {
      const next = stop + 1;
      const key = pageKey(file.id, next);
      if (!whole && (this.inflight.has(key) || this.cache.has(key))) break;
      // Frames are adjacent in v2/v3 files; anything else ends the run.
      if (file.offsets[next]! !== file.offsets[stop]! + file.sizes[stop]!) break;
      if (bytes + file.sizes[next]! > this.maxRunBytes) break;
      bytes += file.sizes[next]!;
      stop = next;
    }
    end = stop;
    if (whole) this.prefetchRuns++;
    else this.demandRuns++;
    const run = (async () => {
      const data = await this.read(file, start, bytes);
      const pageSize = file.header.pageSize;
      for (let i = first; i <= end; i++) {
        const offset = file.offsets[i]!;
        const frame = data.subarray(offset - start, offset - start + file.sizes[i]!);
        try {
          this.cache.set(pageKey(file.id, i), decodePageFrame(frame, pageSize, { file: file.label, offset, pgno: file.pgnos[i]! }).data);
        } catch (err) {
          throw describeFault(err, file.label);
        }
      }
    })();
    const mine: number[] = [];
    for (let i = first; i <= end; i++) {
      const key = pageKey(file.id, i);
      if (!this.inflight.has(key)) {
        this.inflight.set(key, run);
        mine.push(key);
      }
    }
    const clear = () => {
      for (const key of mine) if (this.inflight.get(key) === run) this.inflight.delete(key);
    };
    run.then(clear, clear);
    return run;
  }

  private async read(file: LtxFile, offset: number, length: number): Promise<Uint8Array> {
    this.requests++;
    this.bytes += length;
    this.options.onRequest?.(file, length);
    try {
      const bytes = await this.files.client.readLtxRange(file.ref, offset, length);
      if (bytes.length !== length) throw new Error(`range read of ${length} bytes at offset ${offset} returned ${bytes.length}`);
      return bytes;
    } catch (err) {
      throw describeFault(err, file.label);
    }
  }
}
