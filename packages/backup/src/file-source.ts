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

  constructor(path: string) {
    this.path = path;
  }

  /** Current size in bytes (0 when the file does not exist). */
  get size(): number {
    const fd = this.handle();
    return fd === undefined ? 0 : fstatSync(fd).size;
  }

  /** Up to `length` bytes at `offset`; fewer only where the file ends. */
  readAt(offset: number, length: number): Uint8Array {
    const fd = this.handle();
    const buf = new Uint8Array(length);
    if (fd === undefined) return buf.subarray(0, 0);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, buf, done, length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    return done === length ? buf : buf.subarray(0, done);
  }

  /** Exactly `length` bytes at `offset`, zeros past the end of the file (pages beyond EOF read as zeros). */
  readZeroFilled(offset: number, length: number): Uint8Array {
    const bytes = this.readAt(offset, length);
    if (bytes.length === length) return bytes;
    const out = new Uint8Array(length);
    out.set(bytes);
    return out;
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
