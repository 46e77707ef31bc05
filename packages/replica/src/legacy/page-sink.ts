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

  /** Writes the held pages numbered up to `max` (the rest would be cut by a truncation) and forgets them all. */
  private async flush(max: number): Promise<void> {
    const numbers = [...this.pages.keys()].filter((p) => p <= max).sort((a, b) => a - b);
    const run = new Uint8Array(Math.max(this.pageSize, RUN_BYTES - (RUN_BYTES % this.pageSize)));
    let first = 0;
    let fill = 0;
    const write = async (): Promise<void> => {
      if (fill === 0) return;
      const position = (first - 1) * this.pageSize;
      await this.io(() => this.handle.write(run, 0, fill, position), `cannot write ${this.path} at offset ${position}`);
      fill = 0;
    };
    for (const pgno of numbers) {
      if (fill > 0 && (pgno !== first + fill / this.pageSize || fill + this.pageSize > run.length)) await write();
      if (fill === 0) first = pgno;
      run.set(this.pages.get(pgno)!, fill);
      fill += this.pageSize;
    }
    await write();
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
