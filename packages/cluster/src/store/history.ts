/**
 * The checksum after every recent TXID of a database, on disk: what a rejoining node's
 * transactions are compared against to find the last position both nodes share (the
 * LTX files themselves go after `data.retention`). 8 bytes a TXID after a 16-byte
 * header; the newest 65,536 TXIDs are kept.
 */
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from "node:fs";
import { ClusterError } from "../errors.js";
import { writeFileDurably } from "./position-file.js";

const MAGIC = 0x4c46_5348; // "LFSH"
const HEADER = 16;
/** TXIDs kept after a compaction; the file is compacted at twice this. */
const KEEP = 65_536;

/**
 * A database's checksum history: `get(txid)` for TXIDs `first…last`, `append` the next
 * one, `reset` to a single state (a snapshot starts a new history). Reads and writes
 * are positional on one open file; nothing is held in memory but the range.
 */
export class ChecksumHistory {
  private fd: number;
  private base = 0;
  private count = 0;
  private readonly buf = new Uint8Array(8);
  private readonly view = new DataView(this.buf.buffer);

  private constructor(readonly path: string) {
    this.fd = -1;
  }

  /** Opens (creating) the history file; a file with a bad header starts empty. */
  static open(path: string): ChecksumHistory {
    const history = new ChecksumHistory(path);
    history.fd = history.openFile();
    const size = fstatSync(history.fd).size;
    const header = new Uint8Array(HEADER);
    const read = size >= HEADER ? readSync(history.fd, header, 0, HEADER, 0) : 0;
    const view = new DataView(header.buffer);
    if (read === HEADER && view.getUint32(0) === MAGIC) {
      history.base = Number(view.getBigUint64(8));
      history.count = Math.floor((size - HEADER) / 8);
    } else {
      history.rewrite(0, []);
    }
    return history;
  }

  /** The oldest TXID known (0 when empty). */
  get first(): number {
    return this.count === 0 ? 0 : this.base;
  }

  /** The newest TXID known (0 when empty). */
  get last(): number {
    return this.count === 0 ? 0 : this.base + this.count - 1;
  }

  /** The checksum after `txid`, when known. */
  get(txid: number): bigint | undefined {
    if (this.count === 0 || txid < this.base || txid > this.last) return undefined;
    const n = readSync(this.fd, this.buf, 0, 8, HEADER + (txid - this.base) * 8);
    if (n !== 8) return undefined;
    const value = this.view.getBigUint64(0);
    return value === 0n ? undefined : value;
  }

  /** Records the checksum after `txid`: the next TXID, or (after a gap or going back) a new history from it. */
  append(txid: number, checksum: bigint): void {
    if (this.count === 0 || txid !== this.last + 1) {
      if (this.count > 0 && txid <= this.last && txid >= this.base) {
        // Going back (a re-applied TXID after a crash): cut the history after it.
        this.count = txid - this.base;
        ftruncateSync(this.fd, HEADER + this.count * 8);
      } else {
        this.reset(txid, checksum);
        return;
      }
    }
    this.view.setBigUint64(0, checksum);
    this.write(this.buf, HEADER + this.count * 8);
    this.count++;
    if (this.count >= KEEP * 2) this.compact();
  }

  /** Starts over at one state (a snapshot was applied, or an import). */
  reset(txid: number, checksum: bigint): void {
    this.rewrite(txid, [checksum]);
  }

  /** Closes the file. */
  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }

  private compact(): void {
    const from = this.last - KEEP + 1;
    const sums: bigint[] = [];
    for (let txid = from; txid <= this.last; txid++) sums.push(this.get(txid) ?? 0n);
    this.rewrite(from, sums);
  }

  private rewrite(base: number, sums: readonly bigint[]): void {
    const bytes = new Uint8Array(HEADER + sums.length * 8);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, MAGIC);
    view.setBigUint64(8, BigInt(base));
    sums.forEach((s, i) => view.setBigUint64(HEADER + i * 8, s));
    closeSync(this.fd);
    writeFileDurably(this.path, bytes);
    this.fd = this.openFile();
    this.base = base;
    this.count = sums.length;
  }

  private openFile(): number {
    try {
      closeSync(openSync(this.path, "a"));
      return openSync(this.path, "r+");
    } catch (err) {
      throw new ClusterError("io", `cannot open ${this.path}: ${(err as Error).message}`, { cause: err, file: this.path });
    }
  }

  private write(bytes: Uint8Array, position: number): void {
    try {
      for (let done = 0; done < bytes.length; ) done += writeSync(this.fd, bytes, done, bytes.length - done, position + done);
    } catch (err) {
      throw new ClusterError("io", `cannot write ${this.path}: ${(err as Error).message}`, { cause: err, file: this.path, offset: position });
    }
  }
}
