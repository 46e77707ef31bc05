/**
 * The one page writer of sqlrep: database pages into a file at (pgno − 1) × pageSize,
 * consecutive pages gathered into one positional write (one in flight while the next
 * fills), fsync, and either a temp file renamed over the target (a restore) or writes in
 * place into an existing file (applying LTX to a live database).
 */
import { writeSync } from "node:fs";
import { open, rm, type FileHandle } from "node:fs/promises";
import { ioFault, PageFileError } from "./errors.js";
import { replaceFile } from "./replace.js";

/** Pages already in the file that writes overwrite: their old bytes are handed over first. */
export interface Replacing {
  /** Pages up to this one are in the file (pages after it are new). */
  upTo: number;
  /** Called with each such page's old bytes, in ascending order, before the new ones go over them. */
  old(pgno: number, data: Uint8Array): void;
}

/** Options of {@link PageFile.create} and {@link PageFile.openInPlace}. */
export interface PageFileOptions {
  pageSize: number;
  /** Bytes of consecutive pages gathered into one write (default 1 MiB, at least one page). */
  batchBytes?: number | undefined;
}

const DEFAULT_BATCH = 1024 * 1024;
/** Batches up to this size are written synchronously (see `flush`). */
const SYNC_WRITE_MAX = 64 * 1024;

/**
 * Pages into one file. `create` writes `<target>.tmp` and `commit()` fsyncs it and renames
 * it over the target (then fsyncs the directory); `openInPlace` writes into the target
 * itself (created when missing) and `sync()` makes the writes durable. Writes are
 * positional, so pages may come in any order; ascending runs are gathered into one write.
 * Every fault is a `PageFileError` naming the file and offset.
 */
export class PageFile {
  /** Two batch buffers (one filling, one being written), allocated on the first `write`. */
  private buffers: [Uint8Array, Uint8Array] | undefined;
  private readonly batchSize: number;
  private fill = 0;
  private firstPgno = 0;
  private nextPgno = 0;
  private pending: Promise<unknown> | undefined;
  private scratch: Uint8Array | undefined;
  private replacing: Replacing | undefined;
  private closed = false;

  private constructor(
    private readonly handle: FileHandle,
    /** The file written: `<target>.tmp` for `create`, the target for `openInPlace`. */
    readonly path: string,
    /** Where the database ends up. */
    readonly target: string,
    readonly pageSize: number,
    batchBytes: number,
    private readonly temporary: boolean,
  ) {
    this.batchSize = Math.max(pageSize, batchBytes - (batchBytes % pageSize));
  }

  /** A new database file for `target`, written as `<target>.tmp` (emptied if it exists); `commit()` puts it in place. */
  static async create(target: string, options: PageFileOptions): Promise<PageFile> {
    const path = `${target}.tmp`;
    const handle = await open(path, "w+", 0o644).catch((err: unknown) => {
      throw ioFault(err, `cannot create ${path}`, path);
    });
    return new PageFile(handle, path, target, checkPageSize(options.pageSize), options.batchBytes ?? DEFAULT_BATCH, true);
  }

  /** An existing database file (created when missing), written in place: no temp file, no rename. */
  static async openInPlace(target: string, options: PageFileOptions): Promise<PageFile> {
    const handle = await open(target, "r+")
      .catch(async (err: unknown) => {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        return open(target, "w+", 0o644);
      })
      .catch((err: unknown) => {
        throw ioFault(err, `cannot open ${target}`, target);
      });
    return new PageFile(handle, target, target, checkPageSize(options.pageSize), options.batchBytes ?? DEFAULT_BATCH, false);
  }

  /** The file descriptor, for positional writes from another thread of this process (the caller keeps the file open meanwhile). */
  get fd(): number {
    return this.handle.fd;
  }

  /** From now on, writes over pages `1…replacing.upTo` first hand their old bytes to `replacing.old` (undefined: stop). */
  replace(replacing: Replacing | undefined): void {
    this.replacing = replacing;
    this.scratch = replacing === undefined ? undefined : (this.scratch ?? new Uint8Array(this.batchSize));
  }

  /** Writes page `pgno` (1-based); the bytes are copied, so the caller may reuse its buffer at once. */
  async write(pgno: number, data: Uint8Array): Promise<void> {
    this.checkOpen();
    if (data.length !== this.pageSize) throw this.invalid(`page ${pgno} has ${data.length} bytes, the file's pages have ${this.pageSize}`);
    if (!Number.isSafeInteger(pgno) || pgno < 1) throw this.invalid(`invalid page number ${pgno}`);
    if (this.fill > 0 && (pgno !== this.nextPgno || this.fill + this.pageSize > this.batchSize)) await this.flush();
    if (this.fill === 0) this.firstPgno = pgno;
    this.buffers ??= [new Uint8Array(this.batchSize), new Uint8Array(this.batchSize)];
    this.buffers[0].set(data, this.fill);
    this.fill += this.pageSize;
    this.nextPgno = pgno + 1;
  }

  /** Writes `bytes[start, end)` (whole pages) at byte `position` now, outside the batching (a run decoded elsewhere). */
  async writeAt(position: number, bytes: Uint8Array, start = 0, end = bytes.length): Promise<void> {
    this.checkOpen();
    for (let at = start; at < end; ) {
      const { bytesWritten } = await this.handle.write(bytes, at, end - at, position + (at - start)).catch((err: unknown) => {
        throw ioFault(err, `cannot write ${this.path} at offset ${position + (at - start)}`, this.path, position + (at - start));
      });
      at += bytesWritten;
    }
  }

  /** Starts writing the gathered batch once the previous write has completed. */
  async flush(): Promise<void> {
    await this.settle();
    if (this.fill === 0 || this.buffers === undefined) return;
    const buffer = this.buffers[0];
    const fill = this.fill;
    const position = (this.firstPgno - 1) * this.pageSize;
    await this.readBack(position);
    if (fill <= SYNC_WRITE_MAX) {
      // A few pages land in the page cache in microseconds: a promise-based write would
      // cost more than the copy (a v0.3 WAL replay writes scattered pages one by one).
      this.writeNow(position, buffer, fill);
      return;
    }
    this.pending = this.writeAt(position, buffer, 0, fill);
    // Awaited by the next flush; a failure elsewhere first must not leave it unhandled.
    this.pending.catch(() => undefined);
    this.buffers = [this.buffers[1], buffer];
    this.fill = 0;
  }

  private writeNow(position: number, buffer: Uint8Array, fill: number): void {
    try {
      for (let at = 0; at < fill; ) at += writeSync(this.handle.fd, buffer, at, fill - at, position + at);
    } catch (err) {
      throw ioFault(err, `cannot write ${this.path} at offset ${position}`, this.path, position);
    }
    this.fill = 0;
  }

  /**
   * Reads `count` pages from `firstPgno` into `into` (after every write so far has
   * landed); pages past the end of the file read as zeros.
   */
  async readPages(firstPgno: number, count: number, into = new Uint8Array(count * this.pageSize)): Promise<Uint8Array> {
    await this.flush();
    await this.settle();
    await this.readExactly(into, (firstPgno - 1) * this.pageSize, count * this.pageSize, true);
    return into;
  }

  /** The file's size in bytes, every write so far included. */
  async size(): Promise<number> {
    await this.flush();
    await this.settle();
    return (
      await this.handle.stat().catch((err: unknown) => {
        throw ioFault(err, `cannot stat ${this.path}`, this.path);
      })
    ).size;
  }

  /** Sets the file to `pages` pages (cuts the end off, or extends it with zeros). */
  async truncate(pages: number): Promise<void> {
    await this.flush();
    await this.settle();
    await this.handle.truncate(pages * this.pageSize).catch((err: unknown) => {
      throw ioFault(err, `cannot truncate ${this.path} to ${pages} pages`, this.path);
    });
  }

  /** Every write so far on stable storage (fsync). */
  async sync(): Promise<void> {
    await this.flush();
    await this.settle();
    await this.handle.sync().catch((err: unknown) => {
      throw ioFault(err, `cannot fsync ${this.path}`, this.path);
    });
  }

  /**
   * A created file: fsync, close, rename over the target, fsync of the directory (so the
   * rename survives a crash). A file written in place: fsync and close.
   */
  async commit(): Promise<void> {
    await this.sync();
    await this.close();
    if (this.temporary) await replaceFile(this.path, this.target);
  }

  /** Closes the file, waiting for a write in flight (its failure is dropped: the caller is giving up or done). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pending?.catch(() => undefined);
    this.pending = undefined;
    await this.handle.close();
  }

  /** Gives up: closes, and removes the temp file of a created one (a file written in place stays as it is). */
  async discard(): Promise<void> {
    await this.close().catch(() => undefined);
    if (this.temporary) await rm(this.path, { force: true });
  }

  /** Hands the old bytes of the batch's pages that are already in the file to `replacing.old`. */
  private async readBack(position: number): Promise<void> {
    const r = this.replacing;
    if (r === undefined || this.firstPgno > r.upTo) return;
    const pages = Math.min(this.fill / this.pageSize, r.upTo - this.firstPgno + 1);
    const scratch = this.scratch!;
    await this.readExactly(scratch, position, pages * this.pageSize, false);
    for (let i = 0; i < pages; i++) r.old(this.firstPgno + i, scratch.subarray(i * this.pageSize, (i + 1) * this.pageSize));
  }

  private async readExactly(into: Uint8Array, position: number, length: number, zeroPastEnd: boolean): Promise<void> {
    for (let done = 0; done < length; ) {
      const { bytesRead } = await this.handle.read(into, done, length - done, position + done).catch((err: unknown) => {
        throw ioFault(err, `cannot read ${this.path} at offset ${position + done}`, this.path, position + done);
      });
      if (bytesRead === 0) {
        if (zeroPastEnd) {
          into.fill(0, done, length);
          return;
        }
        throw new PageFileError("short-file", `${this.path} ends at offset ${position + done}, before pages written earlier`, { path: this.path, offset: position + done });
      }
      done += bytesRead;
    }
  }

  private async settle(): Promise<void> {
    const pending = this.pending;
    this.pending = undefined;
    await pending;
  }

  private checkOpen(): void {
    if (this.closed) throw this.invalid("the page file is closed");
  }

  private invalid(message: string): PageFileError {
    return new PageFileError("invalid-argument", `${this.path}: ${message}`, { path: this.path });
  }
}

function checkPageSize(pageSize: number): number {
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new PageFileError("invalid-argument", `invalid page size ${pageSize}`);
  return pageSize;
}
