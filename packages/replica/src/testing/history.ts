/**
 * A seeded in-memory model of a database under a history of transactions, and the
 * LTX files a backup of it would hold: the reference the restore, compaction and
 * retention tests are checked against. Pages are pseudo-random (checksums of
 * repeated-byte pages can collide, ltx-spec §5.4).
 */
import { databaseChecksum, EMPTY_DATABASE_CHECKSUM, encodeLtx, type LtxPage } from "@sqlrep/ltx";
import type { LtxFileInfo, LtxFileRef, ReplicaClient } from "../replica-client.js";

/** A small seeded PRNG (mulberry32): tests replay from their seed. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** One committed transaction: the database size after it, the pages it wrote, when. */
export interface ModelTx {
  commit: number;
  pages: LtxPage[];
  timestamp: number;
}

export interface HistoryOptions {
  pageSize?: number;
  /** Timestamp of TXID 1 (ms). */
  start?: number;
}

/** A database history: `db(t)` is the database after TXID t (TXID 0 = empty). */
export class History {
  readonly pageSize: number;
  private readonly txs: ModelTx[] = [];
  private readonly states: Uint8Array[][] = [[]];
  private clock: number;

  constructor(
    readonly rng: Rng,
    options: HistoryOptions = {},
  ) {
    this.pageSize = options.pageSize ?? 512;
    this.clock = options.start ?? Date.UTC(2025, 0, 1);
  }

  /** The last TXID. */
  get txid(): number {
    return this.txs.length;
  }

  /**
   * Commits a random transaction like SQLite's: it may grow the database (writing every
   * new page), shrink it, and rewrite some pages. Time moves on by `step` ms (0 allowed:
   * two commits in one millisecond).
   */
  commitRandom(options: { maxPages?: number; step?: [number, number] } = {}): number {
    const maxPages = options.maxPages ?? 12;
    const size = this.states[this.states.length - 1]!.length;
    const commit = size === 0 ? this.rng.int(1, maxPages) : this.rng.chance(0.15) ? this.rng.int(1, maxPages) : size;
    const pgnos = new Set<number>();
    for (let p = size + 1; p <= commit; p++) pgnos.add(p);
    const rewrites = this.rng.int(pgnos.size === 0 ? 1 : 0, 3);
    for (let i = 0; i < rewrites; i++) pgnos.add(this.rng.int(1, commit));
    const [lo, hi] = options.step ?? [0, 2000];
    return this.commit({ commit, pgnos: [...pgnos].sort((a, b) => a - b), timestamp: this.clock + this.rng.int(lo, hi) });
  }

  /** Commits a transaction writing `pgnos` (fresh pseudo-random content) at `timestamp`. */
  commit(tx: { commit: number; pgnos: number[]; timestamp?: number }): number {
    const txid = this.txs.length + 1;
    const timestamp = tx.timestamp ?? this.clock + 1000;
    this.clock = timestamp;
    const pages = tx.pgnos.map((pgno) => ({ pgno, data: this.pageContent(txid, pgno) }));
    this.txs.push({ commit: tx.commit, pages, timestamp });
    const next = this.states[this.states.length - 1]!.slice(0, tx.commit);
    while (next.length < tx.commit) next.push(new Uint8Array(this.pageSize));
    for (const p of pages) if (p.pgno <= tx.commit) next[p.pgno - 1] = p.data;
    this.states.push(next);
    return txid;
  }

  /** The database bytes after TXID t. */
  db(t: number): Uint8Array {
    const pages = this.states[t]!;
    const out = new Uint8Array(pages.length * this.pageSize);
    pages.forEach((p, i) => out.set(p, i * this.pageSize));
    return out;
  }

  checksum(t: number): bigint {
    return this.states[t]!.length === 0 ? EMPTY_DATABASE_CHECKSUM : databaseChecksum(this.db(t), this.pageSize);
  }

  timestamp(t: number): number {
    return this.txs[t - 1]!.timestamp;
  }

  /**
   * The LTX file of TXIDs min…max as a backup writes it: a snapshot (every page) when
   * min is 1, else the pages written in min…max with their content at max.
   */
  ltx(min: number, max: number, options: { checksums?: boolean } = {}): Uint8Array {
    const checksums = options.checksums ?? true;
    const state = this.states[max]!;
    let pgnos: number[];
    if (min === 1) {
      pgnos = state.map((_, i) => i + 1);
    } else {
      const set = new Set<number>();
      for (let t = min; t <= max; t++) for (const p of this.txs[t - 1]!.pages) if (p.pgno <= state.length) set.add(p.pgno);
      pgnos = [...set].sort((a, b) => a - b);
    }
    return encodeLtx(
      {
        pageSize: this.pageSize,
        commit: state.length,
        minTXID: min,
        maxTXID: max,
        timestamp: this.timestamp(max),
        preApplyChecksum: checksums && min > 1 ? this.checksum(min - 1) : undefined,
      },
      pgnos.map((pgno) => ({ pgno, data: state[pgno - 1]! })),
      { checksums, postApplyChecksum: checksums ? this.checksum(max) : undefined },
    );
  }

  /** Writes the file of TXIDs min…max into `level` of a replica. */
  write(client: ReplicaClient, level: number, min: number, max: number, options: { checksums?: boolean } = {}): Promise<LtxFileInfo> {
    return client.writeLtxFile({ level, minTXID: min, maxTXID: max }, this.ltx(min, max, options));
  }

  private pageContent(txid: number, pgno: number): Uint8Array {
    const data = new Uint8Array(this.pageSize);
    let seed = (Math.imul(txid, 0x9e3779b1) ^ Math.imul(pgno, 0x85ebca6b) ^ (this.rng.int(0, 0xffff) << 8)) >>> 0;
    for (let i = 0; i < data.length; i += 4) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      data[i] = seed >>> 24;
      data[i + 1] = seed >>> 16;
      data[i + 2] = seed >>> 8;
      data[i + 3] = seed;
    }
    return data;
  }
}

/**
 * An independent oracle of what a replica can restore: the set of TXIDs reachable by
 * some chain (a file starting at 1, then files each starting at most one past the
 * state reached and ending after it), as a fixed point over all files.
 */
export function reachableTXIDs(files: readonly LtxFileRef[]): Set<number> {
  const reach = new Set<number>(files.filter((f) => f.minTXID === 1).map((f) => f.maxTXID));
  for (let grew = true; grew; ) {
    grew = false;
    for (const f of files) {
      if (reach.has(f.maxTXID)) continue;
      for (const r of reach) {
        if (f.minTXID <= r + 1 && f.maxTXID > r) {
          reach.add(f.maxTXID);
          grew = true;
          break;
        }
      }
    }
  }
  return reach;
}

/** Every file of every level. */
export async function listAll(client: ReplicaClient): Promise<LtxFileInfo[]> {
  const out: LtxFileInfo[] = [];
  for (let level = 0; level <= 9; level++) for await (const f of client.ltxFiles(level)) out.push(f);
  return out;
}
