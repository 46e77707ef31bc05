/**
 * Writes Litestream v0.3 replicas by hand, for tests that need exact control (times,
 * offsets, page sizes, damage): a database model whose commits become WAL frames (with
 * SQLite's checksums, via `WalEncoder`), uploaded as LZ4-framed segments and snapshots
 * under v0.3's names, each object stamped with the time given. What a restore of any
 * point must produce is `state(k)`.
 */
import { lz4EncodeFrame } from "@sqlrep/ltx";
import { WalEncoder } from "@sqlrep/wal";
import type { ObjectStore } from "../object-store.js";
import { segmentKey, snapshotKey } from "../legacy/names.js";

export interface BuilderOptions {
  pageSize?: number;
  /** The key prefix under which `generations/` goes ("" or "prefix/"). */
  root?: string;
  seed?: number;
  /** WAL checksums big-endian (magic 0x377f0683) instead of little-endian. */
  bigEndian?: boolean;
}

/** A v0.3 replica under construction, and the database it replicates. */
export class LegacyReplicaBuilder {
  readonly pageSize: number;
  readonly root: string;
  private readonly bigEndian: boolean;
  private seed: number;
  /** Database states after each commit; state 0 is the empty database. */
  private readonly states: Uint8Array[][] = [[]];
  generation = "";
  index = 0;
  /** The state the database file holds (the last checkpoint). */
  private checkpointed = 0;
  private wal: WalEncoder | undefined;
  private walBytes: Uint8Array[] = [];
  private walSize = 0;
  /** WAL bytes of the current index already uploaded. */
  private uploaded = 0;
  private generations = 0;

  constructor(
    private readonly store: ObjectStore,
    options: BuilderOptions = {},
  ) {
    this.pageSize = options.pageSize ?? 512;
    this.root = options.root ?? "";
    this.bigEndian = options.bigEndian ?? false;
    this.seed = options.seed ?? 1;
  }

  /** The last commit's number. */
  get commits(): number {
    return this.states.length - 1;
  }

  /** The database after commit `k`, as a file. */
  state(k: number): Uint8Array {
    const pages = this.states[k]!;
    const out = new Uint8Array(pages.length * this.pageSize);
    pages.forEach((p, i) => out.set(p, i * this.pageSize));
    return out;
  }

  /** Starts a generation (id from the seed unless given) at index 0 with a fresh WAL. */
  startGeneration(id?: string): string {
    this.generations++;
    this.generation = id ?? (this.rand().toString(16).padStart(8, "0") + this.generations.toString(16).padStart(8, "0")).slice(0, 16);
    this.index = 0;
    this.checkpointed = this.commits;
    this.newWal();
    return this.generation;
  }

  /**
   * Commits a transaction writing `pgnos` (fresh content; page 1 keeps a valid header)
   * with `commit` pages after it (default: unchanged, or 2 for an empty database).
   */
  commit(pgnos: number[], commit?: number): number {
    const prev = this.states[this.states.length - 1]!;
    const size = commit ?? Math.max(prev.length, 2, ...pgnos);
    const next = prev.slice(0, size);
    while (next.length < size) next.push(new Uint8Array(this.pageSize));
    const k = this.states.length;
    const written = [...new Set([...pgnos, ...range(prev.length + 1, size)])].filter((p) => p <= size).sort((a, b) => a - b);
    if (written.length === 0) written.push(1);
    for (const pgno of written) next[pgno - 1] = this.page(pgno, size);
    written.forEach((pgno, i) => this.appendWal(this.wal!.frame(pgno, next[pgno - 1]!, i === written.length - 1 ? size : 0)));
    this.states.push(next);
    return k;
  }

  /** Raw frames appended to the current WAL (for damage: uncommitted or forged frames). */
  appendWal(bytes: Uint8Array): void {
    this.walBytes.push(bytes);
    this.walSize += bytes.length;
  }

  /** A page image as the current WAL's encoder would write it (for tests forging frames). */
  frame(pgno: number, commit = 0): Uint8Array {
    return this.wal!.frame(pgno, this.page(pgno, Math.max(pgno, 2)), commit);
  }

  /** Bytes in the current index's WAL. */
  get walOffset(): number {
    return this.walSize;
  }

  /**
   * Uploads the WAL bytes of the current index not uploaded yet (up to `upTo`, default
   * all) as one segment; returns its key.
   */
  async sync(at: Date, upTo = this.walSize): Promise<string | undefined> {
    if (upTo <= this.uploaded) return undefined;
    const all = concat(this.walBytes, this.walSize);
    const key = segmentKey(this.root, this.generation, this.index, this.uploaded);
    await this.store.write(key, lz4EncodeFrame(all.subarray(this.uploaded, upTo)), { timestamp: at });
    this.uploaded = upTo;
    return key;
  }

  /** Uploads the database file (the state at the start of the current index) as the snapshot of the current index. */
  async snapshot(at: Date): Promise<string> {
    const key = snapshotKey(this.root, this.generation, this.index);
    await this.store.write(key, lz4EncodeFrame(this.state(this.checkpointed)), { timestamp: at });
    return key;
  }

  /** A checkpoint that restarts the WAL: the database file catches up, the next index begins. */
  checkpoint(): void {
    this.checkpointed = this.commits;
    this.index++;
    this.newWal();
  }

  private newWal(): void {
    this.wal = new WalEncoder({ pageSize: this.pageSize, bigEndian: this.bigEndian, checkpointSequence: this.index, salt1: this.rand(), salt2: this.rand() });
    this.walBytes = [this.wal.headerBytes];
    this.walSize = this.wal.headerBytes.length;
    this.uploaded = 0;
  }

  private page(pgno: number, pageCount: number): Uint8Array {
    const data = new Uint8Array(this.pageSize);
    for (let i = 0; i < data.length; i += 4) new DataView(data.buffer).setUint32(i, this.rand());
    if (pgno === 1) data.set(databaseHeader(this.pageSize, pageCount));
    return data;
  }

  private rand(): number {
    let t = (this.seed = (this.seed + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
}

/** The first 100 bytes of a WAL-mode SQLite database of `pageCount` pages. */
export function databaseHeader(pageSize: number, pageCount: number): Uint8Array {
  const h = new Uint8Array(100);
  h.set(new TextEncoder().encode("SQLite format 3\0"));
  const view = new DataView(h.buffer);
  view.setUint16(16, pageSize === 65536 ? 1 : pageSize);
  h[18] = 2;
  h[19] = 2;
  h[21] = 64;
  h[22] = 32;
  h[23] = 32;
  view.setUint32(28, pageCount);
  view.setUint32(44, 4);
  view.setUint32(56, 1);
  return h;
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let p = from; p <= to; p++) out.push(p);
  return out;
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
