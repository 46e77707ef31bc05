/**
 * A database file as the page store `applyLtx` (@sqlrep/ltx) writes to, over a
 * `PageFile` in place: what `ltx apply` uses, and what applying LTX to a live database
 * looks like. Structurally an `@sqlrep/ltx` `PageStore` (this package imports nothing).
 */
import { open, rm, stat, truncate } from "node:fs/promises";
import { PageFileError } from "./errors.js";
import { PageFile } from "./page-file.js";

/**
 * Pages read and written in place at `path`: a missing file reads as empty and is
 * created on the first write; `delete` removes it. Consecutive pages are gathered into
 * one write; a read sees every write before it. `sync()` for durability, then `close()`.
 */
export class FilePageStore {
  private file: PageFile | undefined;

  constructor(readonly path: string) {}

  async size(): Promise<number> {
    if (this.file !== undefined) return this.file.size();
    try {
      return (await stat(this.path)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return 0;
      throw err;
    }
  }

  async readPage(pgno: number, pageSize: number): Promise<Uint8Array> {
    return (await this.open(pageSize)).readPages(pgno, 1);
  }

  async writePage(pgno: number, data: Uint8Array): Promise<void> {
    await (await this.open(data.length)).write(pgno, data);
  }

  async truncate(size: number): Promise<void> {
    const file = this.file;
    if (file === undefined) {
      // Nothing written through this store yet (so no page size): cut or extend the file itself.
      await (await open(this.path, "a")).close();
      await truncate(this.path, size);
      return;
    }
    if (size % file.pageSize !== 0)
      throw new PageFileError("invalid-argument", `${this.path}: size ${size} is not a whole number of ${file.pageSize}-byte pages`, { path: this.path });
    await file.truncate(size / file.pageSize);
  }

  async delete(): Promise<void> {
    await this.close();
    await rm(this.path, { force: true });
  }

  /** Flushes every write to stable storage. */
  async sync(): Promise<void> {
    await this.file?.sync();
  }

  async close(): Promise<void> {
    const file = this.file;
    this.file = undefined;
    await file?.close();
  }

  private async open(pageSize: number): Promise<PageFile> {
    if (this.file === undefined) this.file = await PageFile.openInPlace(this.path, { pageSize });
    else if (this.file.pageSize !== pageSize) {
      throw new PageFileError("invalid-argument", `${this.path}: pages of ${pageSize} bytes in a store of ${this.file.pageSize}-byte pages`, { path: this.path });
    }
    return this.file;
  }
}
