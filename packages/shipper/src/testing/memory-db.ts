/**
 * A database held as a page map, and a feeder (the test double of an engine such as
 * the backup stager) that stages its commits into an LtxLog and serves snapshots of it.
 * Every state the database had is remembered by checksum, so a restore can be checked
 * to equal one of them.
 */
import { databaseChecksum, lockPgno } from "@sqlrep/ltx";
import type { Clock } from "../clock.js";
import type { LogFeeder, SnapshotState } from "../feeder.js";
import type { LogPage, LtxLog } from "../ltx-log.js";

/** The smallest SQLite page size: files stay small. */
export const PAGE_SIZE = 512;

/** A page whose bytes depend on its number and a version, so every write changes its checksum. */
export function pageData(pgno: number, version: number, pageSize = PAGE_SIZE): Uint8Array {
  const data = new Uint8Array(pageSize);
  for (let i = 0; i < pageSize; i++) data[i] = (pgno * 31 + version * 7 + i) & 0xff;
  new DataView(data.buffer).setUint32(0, pgno);
  new DataView(data.buffer).setUint32(4, version);
  return data;
}

/** A database as pages 1…commit (absent pages read as zeros, as in a file). */
export class MemoryDatabase {
  readonly pages = new Map<number, Uint8Array>();
  commit = 0;

  constructor(readonly pageSize = PAGE_SIZE) {}

  /** Writes pages and sets the size (default: grown to the highest page written). */
  write(pages: readonly LogPage[], commit?: number): void {
    for (const p of pages) this.pages.set(p.pgno, p.data);
    this.commit = commit ?? Math.max(this.commit, ...pages.map((p) => p.pgno));
    for (const pgno of [...this.pages.keys()]) if (pgno > this.commit) this.pages.delete(pgno);
  }

  /** The database file's bytes. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.commit * this.pageSize);
    for (const [pgno, data] of this.pages) out.set(data, (pgno - 1) * this.pageSize);
    return out;
  }

  checksum(): bigint {
    return databaseChecksum(this.bytes(), this.pageSize, this.commit);
  }

  /** Pages 1…commit in order, the lock page left out (what a snapshot holds). */
  *allPages(): Generator<LogPage> {
    const lock = lockPgno(this.pageSize);
    const zero = new Uint8Array(this.pageSize);
    for (let pgno = 1; pgno <= this.commit; pgno++) if (pgno !== lock) yield { pgno, data: this.pages.get(pgno) ?? zero };
  }
}

/** A WAL range for a staged change (what the backup engine records). */
export interface TestWal {
  offset: number;
  size: number;
  salt1: number;
  salt2: number;
}

/**
 * The feeder double: `commit` writes pages into the database and stages the change at
 * once (as the backup stager does right after each commit); `snapshotState` seals and
 * serves the database's pages; `diverged` starts a new lineage from what the database
 * really holds. `tamper` changes the database without staging (a file written outside
 * SQLite).
 */
export class TestFeeder implements LogFeeder {
  readonly db: MemoryDatabase;
  /** Every state the database had, by checksum: its bytes. */
  readonly states = new Map<bigint, Uint8Array>();
  readonly divergences: string[] = [];
  snapshots = 0;
  /** What `prepare` answers (undefined: the feeder has no `prepare`). */
  prepareAnswer: boolean | undefined;
  private version = 0;
  private walOffset = 32;

  constructor(
    readonly log: LtxLog,
    readonly clock: Clock,
    db?: MemoryDatabase,
  ) {
    this.db = db ?? new MemoryDatabase();
    this.remember();
  }

  /** A lineage break for the database as it is (how an engine starts on a database it has not seen). */
  startLineage(reason = "initial snapshot of an empty replica", atLeast = 1): void {
    this.log.appendBreak({ commit: this.db.commit, pageSize: this.db.pageSize, postApply: this.db.checksum(), timestamp: this.now() }, reason, atLeast);
  }

  /**
   * New versions of `pgnos` (and the size `commit`), staged into the log; returns the new
   * checksum. A change that grows the database carries every page past its old size, as
   * a commit in a WAL does (pages not named are written as zeros), unless `fill` is false.
   */
  commit(pgnos: readonly number[], options: { commit?: number; wal?: TestWal | false; fill?: boolean } = {}): bigint {
    const pages = this.newPages(pgnos, options.commit, options.fill !== false);
    this.db.write(pages, options.commit);
    const post = this.remember();
    const walSize = pages.length * (this.db.pageSize + 24);
    const wal = options.wal === false ? undefined : (options.wal ?? { offset: this.walOffset, size: walSize, salt1: 11, salt2: 22 });
    if (wal !== undefined) this.walOffset = wal.offset + wal.size;
    this.log.stage(
      { pageSize: this.db.pageSize, commit: this.db.commit, timestamp: this.now(), wal, transactions: 1 },
      pages.filter((p) => p.pgno <= this.db.commit),
      post,
    );
    return post;
  }

  /** Like `commit`, as one sealed entry of its own (`LtxLog.append`, how the cluster feeds its log). */
  append(pgnos: readonly number[], commit?: number): bigint {
    const pages = this.newPages(pgnos, commit, true);
    this.db.write(pages, commit);
    const post = this.remember();
    this.log.append(
      { pageSize: this.db.pageSize, commit: this.db.commit, timestamp: this.now(), transactions: 1 },
      pages.filter((p) => p.pgno <= this.db.commit),
      post,
    );
    return post;
  }

  /** Changes the database without telling the log (its content before a lineage starts, or a file written outside SQLite). */
  tamper(pgnos: readonly number[], commit?: number): void {
    this.db.write(this.newPages(pgnos, commit), commit);
    this.remember();
  }

  async snapshotState(): Promise<SnapshotState> {
    this.snapshots++;
    this.log.seal();
    const tip = this.log.tip!;
    const db = this.db;
    let released = false;
    return {
      txid: tip.txid,
      pageSize: db.pageSize,
      commit: db.commit,
      timestamp: this.now(),
      expected: tip.postApply,
      pages: () => db.allPages(),
      verify: () => undefined,
      release: () => {
        if (released) throw new Error("snapshot state released twice");
        released = true;
      },
    };
  }

  diverged(reason: string): void {
    this.divergences.push(reason);
    this.startLineage(`the database is not what was replicated: ${reason}`, 0);
  }

  get prepare(): (() => boolean) | undefined {
    const answer = this.prepareAnswer;
    return answer === undefined ? undefined : () => answer;
  }

  /** New versions of `pgnos`; with `fill`, zero pages for the pages past the old size up to `commit` that they skip. */
  /**
   * The clock's time in whole ms, as Date.now() gives it: a ManualClock's time turns
   * fractional once a jittered delay ran, and LTX timestamps are integers.
   */
  private now(): number {
    return Math.floor(this.clock.now());
  }

  private newPages(pgnos: readonly number[], commit?: number, fill = false): LogPage[] {
    const version = ++this.version;
    const out = new Map<number, LogPage>();
    if (fill) {
      const size = commit ?? Math.max(this.db.commit, ...pgnos);
      const lock = lockPgno(this.db.pageSize);
      for (let pgno = this.db.commit + 1; pgno <= size; pgno++) if (pgno !== lock) out.set(pgno, { pgno, data: new Uint8Array(this.db.pageSize) });
    }
    for (const pgno of pgnos) out.set(pgno, { pgno, data: pageData(pgno, version, this.db.pageSize) });
    return [...out.values()].sort((a, b) => a.pgno - b.pgno);
  }

  private remember(): bigint {
    const sum = this.db.checksum();
    this.states.set(sum, this.db.bytes());
    return sum;
  }
}
