/** WalWindow: the part of one v0.3 WAL index a replay still needs, in memory up to a limit and spilled to a file beyond it. */
import { open, rm, type FileHandle } from "node:fs/promises";
import { WAL_HEADER_SIZE, type ByteSource } from "@sqlrep/wal";
import { ReplicaError } from "../errors.js";

/**
 * The bytes of one WAL index as a `ByteSource` with absolute offsets, holding only what
 * a replay still needs: the 32-byte header and everything from `base` (the frames the
 * next replay verifies its position with, then the unapplied tail). In memory up to
 * `limit` bytes; a longer tail (one huge transaction) spills to a file and comes back
 * to memory once it has been applied.
 */
export class WalWindow implements ByteSource {
  private header = new Uint8Array(0);
  /** Absolute offset of `buf[0]` (memory) or of byte 0 of the spill file. */
  private base = WAL_HEADER_SIZE;
  private buf = new Uint8Array(0);
  private len = 0;
  private end = 0;
  private file: FileHandle | undefined;

  constructor(
    private readonly spillPath: string,
    private readonly limit: number,
  ) {}

  /** Bytes appended so far (the WAL's length). */
  get size(): number {
    return this.end;
  }

  /** Whether the tail lives in the spill file. */
  get spilled(): boolean {
    return this.file !== undefined;
  }

  async append(bytes: Uint8Array): Promise<void> {
    let rest = bytes;
    if (this.header.length < WAL_HEADER_SIZE) {
      const take = Math.min(WAL_HEADER_SIZE - this.header.length, rest.length);
      const header = new Uint8Array(this.header.length + take);
      header.set(this.header);
      header.set(rest.subarray(0, take), this.header.length);
      this.header = header;
      this.end += take;
      rest = rest.subarray(take);
    }
    if (rest.length === 0) return;
    if (this.file === undefined && this.len + rest.length > this.limit) await this.spill();
    if (this.file !== undefined) {
      await this.file.write(rest, 0, rest.length, this.end - this.base);
    } else {
      this.ensure(this.len + rest.length);
      this.buf.set(rest, this.len);
      this.len += rest.length;
    }
    this.end += rest.length;
  }

  readAt(offset: number, length: number): Uint8Array | Promise<Uint8Array> {
    if (offset < WAL_HEADER_SIZE) {
      if (offset + length > WAL_HEADER_SIZE) throw new ReplicaError("invalid-config", `WAL window read across the header: ${offset}+${length}`);
      return this.header.subarray(offset, offset + length);
    }
    if (offset < this.base) throw new ReplicaError("invalid-config", `WAL window read at ${offset}, below the bytes kept (from ${this.base})`);
    const n = Math.max(0, Math.min(length, this.end - offset));
    if (this.file === undefined) return this.buf.subarray(offset - this.base, offset - this.base + n);
    return this.readFile(offset, n);
  }

  /** Forgets the bytes before `offset` (never the header). */
  async discard(offset: number): Promise<void> {
    if (offset <= this.base) return;
    if (this.file !== undefined) {
      // A spilled tail stays in the file until what is left of it fits in memory again.
      const keep = this.end - Math.min(offset, this.end);
      if (keep > this.limit / 2) return;
      const tail = await this.readFile(this.end - keep, keep);
      await this.unspill();
      this.buf = new Uint8Array(Math.max(keep, 64 * 1024));
      this.buf.set(tail);
      this.len = keep;
      this.base = this.end - keep;
      return;
    }
    const drop = Math.min(offset, this.end) - this.base;
    this.buf.copyWithin(0, drop, this.len);
    this.len -= drop;
    this.base += drop;
  }

  /** Removes the spill file, if any. */
  async close(): Promise<void> {
    await this.unspill();
  }

  private ensure(size: number): void {
    if (size <= this.buf.length) return;
    const next = new Uint8Array(Math.max(size, Math.min(this.limit, this.buf.length * 2), 64 * 1024));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private async spill(): Promise<void> {
    const file = await open(this.spillPath, "w+", 0o600);
    await file.write(this.buf, 0, this.len, 0);
    this.file = file;
    this.buf = new Uint8Array(0);
    this.len = 0;
  }

  private async unspill(): Promise<void> {
    const file = this.file;
    if (file === undefined) return;
    this.file = undefined;
    await file.close();
    await rm(this.spillPath, { force: true });
  }

  private async readFile(offset: number, n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const { bytesRead } = await this.file!.read(out, got, n - got, offset - this.base + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return out.subarray(0, got);
  }
}
