import { open, rm, stat, type FileHandle } from "node:fs/promises";
import type { PageStore } from "../page-store.js";

/**
 * A `PageStore` over a database file: pages are read and written in place with
 * positioned I/O; a missing file reads as empty and is created on the first write;
 * `delete` removes it. Call `close()` (after `sync()` if durability matters).
 */
export class FilePageStore implements PageStore {
  private handle: FileHandle | undefined;

  constructor(readonly path: string) {}

  async size(): Promise<number> {
    if (this.handle !== undefined) return (await this.handle.stat()).size;
    try {
      return (await stat(this.path)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return 0;
      throw err;
    }
  }

  async readPage(pgno: number, pageSize: number): Promise<Uint8Array> {
    const page = new Uint8Array(pageSize);
    const handle = await this.open();
    let done = 0;
    while (done < pageSize) {
      const { bytesRead } = await handle.read(page, done, pageSize - done, (pgno - 1) * pageSize + done);
      if (bytesRead === 0) break; // past the end reads as zeros
      done += bytesRead;
    }
    return page;
  }

  async writePage(pgno: number, data: Uint8Array): Promise<void> {
    const handle = await this.open();
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await handle.write(data, done, data.length - done, (pgno - 1) * data.length + done);
      done += bytesWritten;
    }
  }

  async truncate(size: number): Promise<void> {
    await (await this.open()).truncate(size);
  }

  async delete(): Promise<void> {
    await this.close();
    await rm(this.path, { force: true });
  }

  /** Flushes written pages to stable storage. */
  async sync(): Promise<void> {
    await this.handle?.sync();
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  private async open(): Promise<FileHandle> {
    if (this.handle === undefined) {
      try {
        this.handle = await open(this.path, "r+");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        this.handle = await open(this.path, "w+");
      }
    }
    return this.handle;
  }
}
