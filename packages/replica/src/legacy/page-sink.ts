/**
 * Database pages of a v0.3 WAL replay on their way into the restored file: newest version
 * per page number, written through the one page writer (`PageFile`) in ascending order.
 */
import type { PageFile } from "@sqlrep/page-file";
import { ioError } from "../restore-write.js";

/**
 * A v0.3 WAL rewrites hot pages over and over (every version is replayed), so pages are
 * kept by number, newest version only, and written in ascending order when `limit` bytes
 * are held or when an index ends (`truncate`), as a checkpoint would.
 */
export class PageSink {
  private readonly pages = new Map<number, Uint8Array>();

  constructor(
    private readonly file: PageFile,
    private readonly limit: number,
  ) {}

  /** Keeps a copy of the page (the caller's buffer is reused). */
  async put(pgno: number, data: Uint8Array): Promise<void> {
    this.pages.set(pgno, data.slice());
    if (this.pages.size * this.file.pageSize >= this.limit) await this.flush(Infinity);
  }

  /** Writes the held pages up to `commit` and sets the file to `commit` pages. */
  async truncate(commit: number): Promise<void> {
    await this.flush(commit);
    await this.file.truncate(commit).catch((err: unknown) => {
      throw ioError(err, `cannot truncate ${this.file.path}`);
    });
  }

  /** Writes the held pages numbered up to `max` (the rest would be cut by a truncation) and forgets them all. */
  private async flush(max: number): Promise<void> {
    const numbers = [...this.pages.keys()].filter((p) => p <= max).sort((a, b) => a - b);
    try {
      for (const pgno of numbers) await this.file.write(pgno, this.pages.get(pgno)!);
      await this.file.flush();
    } catch (err) {
      throw ioError(err, `cannot write ${this.file.path}`);
    }
    this.pages.clear();
  }
}
