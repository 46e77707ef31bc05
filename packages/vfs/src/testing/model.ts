// A seeded model of a database written to a directory replica as a backup engine would
// (a snapshot, then one level-0 file per transaction, with database checksums): the
// reference the engine tests compare every page read against.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { databaseChecksum, encodeLtx, lockPgno } from "@sqlrep/ltx";
import { createFileReplicaClient, type LtxFileRef, type ReplicaClient } from "@sqlrep/replica";

/** mulberry32. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A database image and its replica. */
export class ModelReplica {
  readonly dir: string;
  readonly client: ReplicaClient;
  /** Page bytes, index pgno-1. */
  pages: Uint8Array[] = [];
  txid = 0;
  /** The image after each TXID. */
  readonly images = new Map<number, Uint8Array[]>();
  /** The LTX timestamp of each TXID. */
  readonly times = new Map<number, number>();
  private readonly random: () => number;
  clock = Date.UTC(2025, 0, 1);

  constructor(
    readonly pageSize = 512,
    seed = 1,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), "sqlrep-vfs-model-"));
    this.client = createFileReplicaClient(join(this.dir, "replica"));
    this.random = rng(seed);
  }

  /** A pseudo-random page (pseudo-random so page checksums never collide). */
  page(): Uint8Array {
    const p = new Uint8Array(this.pageSize);
    for (let i = 0; i < p.length; i += 4) new DataView(p.buffer).setUint32(i, (this.random() * 0x1_0000_0000) >>> 0);
    return p;
  }

  /** TXID 1: a full snapshot of `n` pages, written at `level` (9 = snapshot level, 0 = first level-0 file). */
  async create(n: number, level = 9): Promise<void> {
    this.pages = Array.from({ length: n }, () => this.page());
    this.txid = 1;
    this.tick();
    const lock = lockPgno(this.pageSize);
    const bytes = encodeLtx(
      { pageSize: this.pageSize, commit: n, minTXID: 1, maxTXID: 1, timestamp: this.clock },
      this.pages.map((data, i) => ({ pgno: i + 1, data })).filter((p) => p.pgno !== lock),
    );
    await this.client.writeLtxFile({ level, minTXID: 1, maxTXID: 1 }, bytes);
    this.remember();
  }

  /** One transaction: rewrites `changes` random pages (or the given ones), maybe growing or shrinking to `commit`. */
  async commit(options: { pgnos?: number[]; changes?: number; commit?: number; level?: number } = {}): Promise<number> {
    const before = databaseChecksum(this.image(), this.pageSize);
    const commit = options.commit ?? this.pages.length;
    while (this.pages.length < commit) this.pages.push(this.page());
    this.pages.length = commit;
    const chosen = new Set(options.pgnos ?? []);
    for (let i = 0; i < (options.changes ?? (options.pgnos ? 0 : 3)); i++) chosen.add(1 + Math.floor(this.random() * commit));
    for (const p of chosen) if (p <= commit) this.pages[p - 1] = this.page();
    // Pages a growth added are part of the transaction too.
    const grown = commit > (this.images.get(this.txid)?.length ?? 0) ? range((this.images.get(this.txid)?.length ?? 0) + 1, commit) : [];
    for (const p of grown) chosen.add(p);
    this.txid++;
    this.tick();
    const sorted = [...chosen].filter((p) => p <= commit).sort((a, b) => a - b);
    const bytes = encodeLtx(
      { pageSize: this.pageSize, commit, minTXID: this.txid, maxTXID: this.txid, timestamp: this.clock, preApplyChecksum: before },
      sorted.map((pgno) => ({ pgno, data: this.pages[pgno - 1]! })),
      { postApplyChecksum: databaseChecksum(this.image(), this.pageSize) },
    );
    await this.client.writeLtxFile({ level: options.level ?? 0, minTXID: this.txid, maxTXID: this.txid }, bytes);
    this.remember();
    return this.txid;
  }

  /** The database image after `txid` (default: now). */
  image(txid = this.txid): Uint8Array {
    const pages = txid === this.txid ? this.pages : this.images.get(txid)!;
    const out = new Uint8Array(pages.length * this.pageSize);
    pages.forEach((p, i) => out.set(p, i * this.pageSize));
    return out;
  }

  ref(txid: number, level = 0): LtxFileRef {
    return { level, minTXID: txid, maxTXID: txid };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private tick(): void {
    this.clock += 1000;
    this.times.set(this.txid, this.clock);
  }

  private remember(): void {
    this.images.set(this.txid, [...this.pages]);
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}
