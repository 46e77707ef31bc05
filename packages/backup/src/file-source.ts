/** Positioned synchronous reads of the database, its `-wal` or `-shm` for the @sqlrep/wal readers, surviving a file that is missing or replaced. */
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import type { SyncByteSource } from "@sqlrep/wal";

/**
 * Positioned, synchronous reads of one file (the database or its `-wal`), as the
 * `@sqlrep/wal` readers want them. Synchronous because each read is small (a frame, a
 * page or a 1 MiB scan chunk) and a thread-pool round trip per page would cost more
 * than the read. The file may not exist yet (a WAL before the first write): it then
 * reads as empty. `refresh()` reopens it when it was replaced.
 */
export class FileSource implements SyncByteSource {
  readonly path: string;
  private fd: number | undefined;
  private ino: number | undefined;
  private frozenSize: number | undefined;

  constructor(path: string) {
    this.path = path;
  }

  /** Current size in bytes (0 when the file does not exist); while frozen, the size when `freeze` was called. */
  get size(): number {
    if (this.frozenSize !== undefined) return this.frozenSize;
    const fd = this.handle();
    return fd === undefined ? 0 : fstatSync(fd).size;
  }

  /**
   * Reads the size once and answers it until `thaw`: a scan that asks for the size
   * before each read (the WAL readers do) then costs one fstat instead of hundreds.
   * Bytes appended meanwhile are simply not seen until the next scan.
   */
  freeze(): void {
    this.frozenSize = undefined;
    this.frozenSize = this.size;
  }

  thaw(): void {
    this.frozenSize = undefined;
  }

  /** Up to `length` bytes at `offset`; fewer only where the file ends. */
  readAt(offset: number, length: number): Uint8Array {
    return this.readInto(new Uint8Array(length), offset);
  }

  /** Fills `buf` from `offset`; returns the part that was read (shorter only at the end of the file). */
  private readInto(buf: Uint8Array, offset: number): Uint8Array {
    const fd = this.handle();
    if (fd === undefined) return buf.subarray(0, 0);
    let done = 0;
    while (done < buf.length) {
      const n = readSync(fd, buf, done, buf.length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    return done === buf.length ? buf : buf.subarray(0, done);
  }

  /**
   * The same file for a scan that is done with each chunk before asking for the next
   * (the WAL scanners keep offsets, never the bytes): reads reuse one buffer, so a scan
   * of a large WAL allocates nothing per chunk.
   */
  scanner(): SyncByteSource {
    const file = this;
    let scratch = new Uint8Array(0);
    return {
      get size() {
        return file.size;
      },
      readAt(offset, length) {
        if (scratch.length < length) scratch = new Uint8Array(length);
        return file.readInto(scratch.subarray(0, length), offset);
      },
    };
  }

  /** Exactly `length` bytes at `offset`, zeros past the end of the file (pages beyond EOF read as zeros). */
  readZeroFilled(offset: number, length: number): Uint8Array {
    const bytes = this.readAt(offset, length);
    if (bytes.length === length) return bytes;
    const out = new Uint8Array(length);
    out.set(bytes);
    return out;
  }

  /**
   * Whether the path now names another file than the one open (deleted, or replaced by
   * another inode): a replicator must notice, not follow. False when nothing is open yet.
   */
  replaced(): boolean {
    if (this.fd === undefined) return false;
    try {
      return statSync(this.path).ino !== this.ino;
    } catch {
      return true;
    }
  }

  /** Reopens the file if it was deleted or replaced since it was opened. */
  refresh(): void {
    if (this.fd === undefined) return;
    let ino: number | undefined;
    try {
      ino = statSync(this.path).ino;
    } catch {
      ino = undefined;
    }
    if (ino !== this.ino) this.close();
    this.frozenSize = undefined;
  }

  close(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
      this.ino = undefined;
    }
  }

  private handle(): number | undefined {
    if (this.fd === undefined) {
      try {
        this.fd = openSync(this.path, "r");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw err;
      }
      this.ino = fstatSync(this.fd).ino;
    }
    return this.fd;
  }
}
