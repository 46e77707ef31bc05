// The durable write buffer: local commits appended to a file and fsynced before SQLite
// hears that its COMMIT succeeded, so nothing committed is lost when a process dies
// before the upload. A header names the replica TXID the commits apply on top of, and
// the upload in progress (so a restart can tell its own upload from another writer's).
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { crc64 } from "@sqlrep/ltx";
import { VfsError } from "./errors.js";

/** One local commit: the pages it wrote and the database size after it. */
export interface BufferedCommit {
  pages: Map<number, Uint8Array>;
  commit: number;
  pageSize: number;
  /** When the commit was made (ms since the epoch): the LTX timestamp of its upload. */
  time: number;
}

/** An upload that was started: which TXID, and how to recognise the file afterwards. */
export interface UploadIntent {
  txid: number;
  /** The file's post-apply checksum (0n when it carries none). */
  checksum: bigint;
  /** The file's header timestamp (ms). */
  timestamp: number;
  /** How many buffered commits the file holds (the oldest ones). */
  commits: number;
}

/** What the buffer holds at open. */
export interface BufferState {
  /** The replica TXID the commits start from. */
  baseTxid: number;
  /** The database checksum at `baseTxid` (0n: unknown). */
  baseChecksum: bigint;
  intent: UploadIntent | undefined;
  commits: BufferedCommit[];
}

const MAGIC = "SQLRVFSB";
const VERSION = 1;
const HEADER = 72;
const RECORD_MAGIC = 0x52454331; // "REC1"
const RECORD_HEAD = 24;

/** The append-only buffer file. */
export class WriteBuffer {
  private fd: number;
  private size: number;

  private constructor(
    readonly path: string,
    fd: number,
    size: number,
  ) {
    this.fd = fd;
    this.size = size;
  }

  /**
   * Opens (or creates) the buffer at `path` and reads what it holds. A torn last record
   * (a crash while appending: its commit never returned) is cut off.
   */
  static open(path: string): { buffer: WriteBuffer; state: BufferState } {
    mkdirSync(dirname(path), { recursive: true });
    if (!existsSync(path) || readFileSync(path).length === 0) {
      const buffer = new WriteBuffer(path, openSync(path, "w+"), 0);
      const state: BufferState = { baseTxid: 0, baseChecksum: 0n, intent: undefined, commits: [] };
      buffer.writeHeader(state.baseTxid, state.baseChecksum, undefined);
      return { buffer, state };
    }
    const bytes = readFileSync(path);
    const { state, end } = parseBuffer(bytes, path);
    const fd = openSync(path, "r+");
    if (end < bytes.length) {
      ftruncateSync(fd, end);
      fsyncSync(fd);
    }
    return { buffer: new WriteBuffer(path, fd, end), state };
  }

  /** Appends a commit and fsyncs it: once this returns, the commit survives a crash. */
  append(commit: BufferedCommit): void {
    const record = encodeRecord(commit);
    writeAll(this.fd, record, this.size);
    fsyncSync(this.fd);
    this.size += record.length;
  }

  /** Records the upload about to start (fsynced before the first byte is sent). */
  setIntent(baseTxid: number, baseChecksum: bigint, intent: UploadIntent): void {
    this.writeHeader(baseTxid, baseChecksum, intent);
    fsyncSync(this.fd);
  }

  /**
   * Starts over from a new base with the commits that remain (after an upload): written
   * to a temp file, fsynced and renamed, so a crash leaves the old buffer or the new one.
   */
  rewrite(baseTxid: number, baseChecksum: bigint, commits: readonly BufferedCommit[]): void {
    const temp = `${this.path}.tmp`;
    const fd = openSync(temp, "w");
    try {
      const parts = [encodeHeader(baseTxid, baseChecksum, undefined), ...commits.map(encodeRecord)];
      let at = 0;
      for (const part of parts) {
        writeAll(fd, part, at);
        at += part.length;
      }
      fsyncSync(fd);
      closeSync(this.fd);
      renameSync(temp, this.path);
      syncDir(dirname(this.path));
      this.fd = fd;
      this.size = at;
    } catch (err) {
      closeSync(fd);
      throw new VfsError("buffer", `cannot rewrite the write buffer ${this.path}: ${(err as Error).message}`, { file: this.path, cause: err });
    }
  }

  /** Moves the buffer aside (its commits cannot be uploaded) and starts an empty one. */
  setAside(): string {
    const aside = `${this.path}.conflict-${new Date().toISOString().replace(/[:.]/g, "-")}`;
    closeSync(this.fd);
    renameSync(this.path, aside);
    this.fd = openSync(this.path, "w+");
    this.size = 0;
    this.writeHeader(0, 0n, undefined);
    fsyncSync(this.fd);
    syncDir(dirname(this.path));
    return aside;
  }

  close(): void {
    closeSync(this.fd);
  }

  private writeHeader(baseTxid: number, baseChecksum: bigint, intent: UploadIntent | undefined): void {
    writeAll(this.fd, encodeHeader(baseTxid, baseChecksum, intent), 0);
    if (this.size < HEADER) this.size = HEADER;
  }
}

function encodeHeader(baseTxid: number, baseChecksum: bigint, intent: UploadIntent | undefined): Uint8Array {
  const out = new Uint8Array(HEADER);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MAGIC), 0);
  view.setUint32(8, VERSION);
  view.setBigUint64(16, BigInt(baseTxid));
  view.setBigUint64(24, baseChecksum);
  view.setBigUint64(32, BigInt(intent?.txid ?? 0));
  view.setBigUint64(40, intent?.checksum ?? 0n);
  view.setBigUint64(48, BigInt(intent?.timestamp ?? 0));
  view.setUint32(56, intent?.commits ?? 0);
  view.setBigUint64(64, crc64(out.subarray(0, 64)));
  return out;
}

function encodeRecord(c: BufferedCommit): Uint8Array {
  const pages = [...c.pages.entries()].sort((a, b) => a[0] - b[0]);
  const size = RECORD_HEAD + pages.length * (4 + c.pageSize) + 8;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, RECORD_MAGIC);
  view.setUint32(4, pages.length);
  view.setUint32(8, c.commit);
  view.setUint32(12, c.pageSize);
  view.setBigUint64(16, BigInt(Math.round(c.time)));
  let at = RECORD_HEAD;
  for (const [pgno, data] of pages) {
    view.setUint32(at, pgno);
    out.set(data, at + 4);
    at += 4 + c.pageSize;
  }
  view.setBigUint64(at, crc64(out.subarray(0, at)));
  return out;
}

function parseBuffer(bytes: Uint8Array, path: string): { state: BufferState; end: number } {
  const fail = (why: string): never => {
    throw new VfsError("buffer", `write buffer ${path} is unreadable: ${why}`, { file: path });
  };
  if (bytes.length < HEADER) fail(`${bytes.length} bytes, shorter than its ${HEADER}-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) fail("not a write buffer (bad magic)");
  if (view.getUint32(8) !== VERSION) fail(`format version ${view.getUint32(8)}, expected ${VERSION}`);
  if (view.getBigUint64(64) !== crc64(bytes.subarray(0, 64))) fail("its header checksum does not match");
  const intentTxid = Number(view.getBigUint64(32));
  const state: BufferState = {
    baseTxid: Number(view.getBigUint64(16)),
    baseChecksum: view.getBigUint64(24),
    intent: intentTxid === 0 ? undefined : { txid: intentTxid, checksum: view.getBigUint64(40), timestamp: Number(view.getBigUint64(48)), commits: view.getUint32(56) },
    commits: [],
  };
  let at = HEADER;
  while (at + RECORD_HEAD + 8 <= bytes.length) {
    if (view.getUint32(at) !== RECORD_MAGIC) break;
    const n = view.getUint32(at + 4);
    const commit = view.getUint32(at + 8);
    const pageSize = view.getUint32(at + 12);
    const size = RECORD_HEAD + n * (4 + pageSize) + 8;
    if (at + size > bytes.length) break;
    if (view.getBigUint64(at + size - 8) !== crc64(bytes.subarray(at, at + size - 8))) break;
    const pages = new Map<number, Uint8Array>();
    for (let i = 0, p = at + RECORD_HEAD; i < n; i++, p += 4 + pageSize) pages.set(view.getUint32(p), bytes.slice(p + 4, p + 4 + pageSize));
    state.commits.push({ pages, commit, pageSize, time: Number(view.getBigUint64(at + 16)) });
    at += size;
  }
  return { state, end: at };
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
}

function syncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
