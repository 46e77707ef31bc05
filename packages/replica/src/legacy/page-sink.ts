import { writeSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { ReplicaError } from "../errors.js";

/** Pages gathered into one positional write. */
const RUN_BYTES = 1024 * 1024;

/**
 * Database pages on their way into the restored file. A v0.3 WAL rewrites hot pages
 * over and over (every version is replayed), so pages are kept by number, newest
 * version only, and written in ascending runs when `limit` bytes are held or when an
 * index ends (`truncate`), as a checkpoint would.
 */
export class PageSink {
  private readonly pages = new Map<number, Uint8Array>();

  constructor(
    private readonly handle: FileHandle,
    private readonly pageSize: number,
    private readonly limit: number,
    private readonly path: string,
  ) {}

  /** Keeps a copy of the page (the caller's buffer is reused). */
  async put(pgno: number, data: Uint8Array): Promise<void> {
    this.pages.set(pgno, data.slice());
    if (this.pages.size * this.pageSize >= this.limit) await this.flush(Infinity);
  }

  /** Writes the held pages up to `commit` and sets the file to `commit` pages. */
  async truncate(commit: number): Promise<void> {
    await this.flush(commit);
    await this.io(() => this.handle.truncate(commit * this.pageSize), `cannot truncate ${this.path} to ${commit} pages`);
  }

  /**
   * Writes the held pages numbered up to `max` (the rest would be cut by a truncation)
   * and forgets them all: runs of consecutive pages (up to 1 MiB) in one write each.
   * Synchronous positional writes: pages land in the page cache in microseconds, where
   * one promise-based write per page costs more than the copy (fsync comes at the end).
   */
  private async flush(max: number): Promise<void> {
    const numbers = [...this.pages.keys()].filter((p) => p <= max).sort((a, b) => a - b);
    const maxRun = Math.max(1, Math.floor(RUN_BYTES / this.pageSize));
    for (let i = 0; i < numbers.length; ) {
      let n = 1;
      while (i + n < numbers.length && n < maxRun && numbers[i + n] === numbers[i]! + n) n++;
      const first = numbers[i]!;
      const data = n === 1 ? this.pages.get(first)! : concatPages(numbers.slice(i, i + n).map((p) => this.pages.get(p)!));
      i += n;
      const position = (first - 1) * this.pageSize;
      await this.io(async () => {
        for (let done = 0; done < data.length; ) done += writeSync(this.handle.fd, data, done, data.length - done, position + done);
      }, `cannot write ${this.path} at offset ${position}`);
    }
    this.pages.clear();
  }

  private async io(op: () => Promise<unknown>, what: string): Promise<void> {
    try {
      await op();
    } catch (err) {
      throw new ReplicaError("io", `${what}: ${(err as Error).message}`, { cause: err, key: this.path });
    }
  }
}

function concatPages(pages: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pages.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pages) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
