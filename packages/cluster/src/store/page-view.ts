/**
 * Consistent reads of a database that keeps changing: a view is one position's pages,
 * read in ascending order from the live file while commits go on. Before the engine
 * overwrites (or cuts off) a page a view has not read yet, the view keeps the old bytes
 * (copy on write), so a snapshot of a 1 GiB database never holds the writers back.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { ClusterError } from "../errors.js";

/** One database state's pages, for a snapshot, an export or a verification. */
export interface PageView {
  readonly txid: number;
  /** The database checksum at `txid`: what the pages add up to. */
  readonly checksum: bigint;
  readonly pageSize: number;
  /** Size in pages. */
  readonly commit: number;
  /** Milliseconds since the epoch of transaction `txid`. */
  readonly timestamp: number;
  /**
   * Reads pages `first … first + count − 1` into `into` (count × pageSize bytes),
   * synchronously (a few hundred pages from the page cache take well under a
   * millisecond; a shipper's snapshot reads pages in a synchronous iterator). Calls
   * must go in ascending order, each starting at or after the end of the previous one.
   */
  read(first: number, count: number, into: Uint8Array): void;
  /** Ends the view (its file handle and kept pages go). Idempotent. */
  release(): void;
}

/** Where a view stands: the state it shows and the file it reads. */
export interface ViewState {
  readonly txid: number;
  readonly checksum: bigint;
  readonly pageSize: number;
  readonly commit: number;
  readonly timestamp: number;
}

/**
 * A copy-on-write view of the engine's own database file. The database calls
 * `preserve` with every page it is about to overwrite or cut off; pages the view has
 * not read yet are copied from the file first.
 */
export class CowView implements PageView {
  readonly txid: number;
  readonly checksum: bigint;
  readonly pageSize: number;
  readonly commit: number;
  readonly timestamp: number;
  private readonly fd: number;
  /** Pages below this have been read. */
  private frontier = 1;
  private readonly kept = new Map<number, Uint8Array>();
  private released = false;
  /** The file was replaced under the view (renamed over): its handle still reads the old one, nothing to preserve. */
  private detached = false;

  constructor(
    readonly file: string,
    state: ViewState,
    private readonly onRelease: (view: CowView) => void,
  ) {
    this.txid = state.txid;
    this.checksum = state.checksum;
    this.pageSize = state.pageSize;
    this.commit = state.commit;
    this.timestamp = state.timestamp;
    try {
      this.fd = openSync(file, "r");
    } catch (err) {
      throw new ClusterError("io", `cannot open ${file} for reading: ${(err as Error).message}`, { cause: err, file });
    }
  }

  /** Bytes of old pages held for this view. */
  get keptBytes(): number {
    return this.kept.size * this.pageSize;
  }

  /**
   * Keeps the current bytes of `pgno` if the view still needs them (called before the
   * page is overwritten or cut off): `bytes` when the caller has just read them, else
   * read from the file now.
   */
  preserve(pgno: number, bytes?: Uint8Array): void {
    if (this.released || this.detached || pgno < this.frontier || pgno > this.commit || this.kept.has(pgno)) return;
    const page = new Uint8Array(this.pageSize);
    if (bytes !== undefined) page.set(bytes);
    else this.readFile(page, pgno, 1);
    this.kept.set(pgno, page);
  }

  /** The file was replaced by a rename: the view's handle keeps reading the old file, which no one writes any more. */
  detach(): void {
    this.detached = true;
  }

  read(first: number, count: number, into: Uint8Array): void {
    if (this.released) throw new ClusterError("closed", `the view of ${this.file} at TXID ${this.txid} was released`, { file: this.file });
    if (first < this.frontier) throw new ClusterError("invalid-argument", `view of ${this.file}: page ${first} read after page ${this.frontier - 1}`, { file: this.file });
    if (first + count - 1 > this.commit)
      throw new ClusterError("invalid-argument", `view of ${this.file}: pages up to ${first + count - 1} asked, the view has ${this.commit}`, { file: this.file });
    // Synchronous: no commit can overwrite a page between the read and the overlay below.
    this.readFile(into, first, count);
    for (let pgno = first; pgno < first + count; pgno++) {
      const page = this.kept.get(pgno);
      if (page === undefined) continue;
      into.set(page, (pgno - first) * this.pageSize);
      this.kept.delete(pgno);
    }
    this.frontier = first + count;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.kept.clear();
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    this.onRelease(this);
  }

  private readFile(into: Uint8Array, first: number, count: number): void {
    const length = count * this.pageSize;
    const position = (first - 1) * this.pageSize;
    let done = 0;
    try {
      while (done < length) {
        const n = readSync(this.fd, into, done, length - done, position + done);
        if (n === 0) break;
        done += n;
      }
    } catch (err) {
      throw new ClusterError("io", `cannot read ${this.file} at offset ${position + done}: ${(err as Error).message}`, { cause: err, file: this.file, offset: position + done });
    }
    // Past the end of the file (a shorter file than the position says) reads as zeros: the checksum catches it.
    if (done < length) into.fill(0, done, length);
  }
}
