/**
 * Where `applyLtx` writes: a database as pages. The library does no I/O itself;
 * callers pass a store over a file, a buffer, or anything else.
 */
export interface PageStore {
  /** Database size in bytes (0 when it does not exist). */
  size(): Promise<number>;
  /** Reads page `pgno` (1-based) of `pageSize` bytes; only asked for pages within `size()`. */
  readPage(pgno: number, pageSize: number): Promise<Uint8Array>;
  /** Writes a page at `(pgno − 1) × data.length`, zero-filling any gap before it. */
  writePage(pgno: number, data: Uint8Array): Promise<void>;
  /** Sets the size in bytes: cuts the end off, or extends with zeros. */
  truncate(size: number): Promise<void>;
  /** Removes the database (a file with Commit 0); `size()` is 0 afterwards. */
  delete(): Promise<void>;
}

/** A `PageStore` over a growable in-memory buffer. */
export class MemoryPageStore implements PageStore {
  private buf: Uint8Array;
  private length: number;

  constructor(initial: Uint8Array = new Uint8Array(0)) {
    this.buf = initial.slice();
    this.length = initial.length;
  }

  /** A copy of the database bytes. */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }

  async size(): Promise<number> {
    return this.length;
  }

  async readPage(pgno: number, pageSize: number): Promise<Uint8Array> {
    const start = (pgno - 1) * pageSize;
    return this.buf.slice(start, start + pageSize);
  }

  async writePage(pgno: number, data: Uint8Array): Promise<void> {
    const start = (pgno - 1) * data.length;
    this.resize(Math.max(this.length, start + data.length));
    this.buf.set(data, start);
  }

  async truncate(size: number): Promise<void> {
    this.resize(size);
  }

  async delete(): Promise<void> {
    this.buf = new Uint8Array(0);
    this.length = 0;
  }

  private resize(size: number): void {
    if (size > this.buf.length) {
      const grown = new Uint8Array(Math.max(size, this.buf.length * 2));
      grown.set(this.buf.subarray(0, this.length));
      this.buf = grown;
    } else if (size < this.length) {
      this.buf.fill(0, size, this.length); // re-extension must read zeros, as a file would
    }
    this.length = size;
  }
}
