// A test double of the cluster engine's primary side that does real work: every
// committed transaction becomes a real LTX file (v3 layout, pre/post-apply database
// checksums, TXID + 1 each) in a directory, so tests can replay the log and compare.
import { closeSync, existsSync, fdatasyncSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { decodeLtx, encodeLtx, formatFilename, isLtxFilename, parseFilename, type LtxPage } from "@sqlrep/ltx";
import type { BackendChange, CommitTransaction, DatabasePaths, DatabasePosition, FuseBackend, LagState } from "../backend.js";
import { FuseError } from "../errors.js";
import { PageSums } from "./page-sums.js";

/** When the double fsyncs an LTX file: as SQLite asked (`follow`), always, or never. */
export type LtxDurability = "follow" | "always" | "never";

/** Options of {@link LtxLogTestBackend}. */
export interface LtxLogTestBackendOptions {
  /** Databases live in `<dataDir>/dbs/<name>/database` (LiteFS's layout). */
  dataDir: string;
  /** LTX files go to `<ltxDir>/<name>/<min>-<max>.ltx`. */
  ltxDir: string;
  durability?: LtxDurability;
  /**
   * Accept commits without writing or checksumming anything: a backend that costs
   * nothing, for measuring the mount alone. Positions still advance.
   */
  discard?: boolean;
}

interface DatabaseState {
  sums: PageSums;
  txid: number;
  timestamp: number;
  /** LTX files written but not yet fsynced (WAL transactions before SQLite's WAL fsync) */
  unsynced: string[];
}

/** The data directory layout both test doubles use. */
export function testDatabasePaths(dataDir: string, name: string): DatabasePaths {
  const dir = join(dataDir, "dbs", name);
  return { database: join(dir, "database"), journal: join(dir, "journal"), wal: join(dir, "wal"), shm: join(dir, "shm") };
}

/** Names of the databases under `<dataDir>/dbs` (a directory holding a `database` file). */
export function listTestDatabases(dataDir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const dir = join(dataDir, "dbs", rel);
    if (!existsSync(dir)) return;
    if (rel && existsSync(join(dir, "database"))) {
      out.push(rel);
      return;
    }
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) walk(rel ? `${rel}/${entry.name}` : entry.name);
  };
  walk("");
  return out.sort();
}

/** The LTX files of database `name` in `ltxDir`, oldest first. */
export function listLtxFiles(ltxDir: string, name: string): string[] {
  const dir = join(ltxDir, name);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter(isLtxFilename)
    .sort((a, b) => parseFilename(a).minTXID - parseFilename(b).minTXID)
    .map((file) => join(dir, file));
}

/**
 * The primary-side test backend: writable databases whose commits go to an LTX log.
 * A database already on disk without a log gets a snapshot (TXID 1) first.
 */
export class LtxLogTestBackend implements FuseBackend {
  readonly dataDir: string;
  readonly ltxDir: string;
  private readonly durability: LtxDurability;
  private readonly discard: boolean;
  private readonly dbs = new Map<string, DatabaseState>();
  private readonly listeners = new Set<(change: BackendChange) => void>();
  /** Transactions captured, by mode, for tests and benchmarks. */
  readonly counts = { wal: 0, rollback: 0, raw: 0, durable: 0 };

  constructor(options: LtxLogTestBackendOptions) {
    this.dataDir = options.dataDir;
    this.ltxDir = options.ltxDir;
    this.durability = options.durability ?? "follow";
    this.discard = options.discard ?? false;
    mkdirSync(join(this.dataDir, "dbs"), { recursive: true });
    mkdirSync(this.ltxDir, { recursive: true });
    for (const name of listTestDatabases(this.dataDir)) this.attach(name);
  }

  private attach(name: string): void {
    const paths = this.paths(name);
    const sums = PageSums.fromFile(paths.database);
    const files = listLtxFiles(this.ltxDir, name);
    const state: DatabaseState = { sums, txid: 0, timestamp: 0, unsynced: [] };
    this.dbs.set(name, state);
    if (files.length > 0) {
      const last = decodeLtx(readFile(files.at(-1)!));
      state.txid = last.header.maxTXID;
      state.timestamp = last.header.timestamp;
      if (last.trailer.postApplyChecksum !== sums.checksum) {
        throw new FuseError("apply-failed", `${name}: database checksum ${sums.checksum.toString(16)} does not match its last LTX file ${files.at(-1)}`);
      }
    } else if (sums.pages > 0) {
      const pages: LtxPage[] = [];
      const db = readFile(paths.database);
      for (let pgno = 1; pgno <= sums.pages; pgno++) {
        if (sums.page(pgno) === 0n) continue;
        pages.push({ pgno, data: db.subarray((pgno - 1) * sums.pageSize, pgno * sums.pageSize) });
      }
      this.writeLtx(name, state, encodeLtx({ pageSize: sums.pageSize, commit: sums.pages, minTXID: 1, maxTXID: 1 }, pages), true);
      state.txid = 1;
    }
  }

  databases(): string[] {
    return [...this.dbs.keys()];
  }

  paths(name: string): DatabasePaths {
    return testDatabasePaths(this.dataDir, name);
  }

  writable(): boolean {
    return true;
  }

  position(name: string): DatabasePosition {
    const db = this.db(name);
    return { txid: db.txid, checksum: db.txid === 0 ? 0n : db.sums.checksum, timestamp: db.timestamp };
  }

  primaryHostname(): null {
    return null;
  }

  lag(): LagState {
    return { kind: "primary" };
  }

  async createDatabase(name: string): Promise<void> {
    if (this.dbs.has(name)) throw new FuseError("exists", `database ${name} exists`, { database: name });
    const paths = this.paths(name);
    mkdirSync(dirname(paths.database), { recursive: true });
    writeFileSync(paths.database, new Uint8Array(0));
    this.dbs.set(name, { sums: new PageSums(), txid: 0, timestamp: 0, unsynced: [] });
  }

  async dropDatabase(name: string): Promise<void> {
    this.db(name);
    this.dbs.delete(name);
    rmSync(dirname(this.paths(name).database), { recursive: true, force: true });
    rmSync(join(this.ltxDir, name), { recursive: true, force: true });
    this.emit({ type: "databases" });
  }

  async commit(name: string, tx: CommitTransaction): Promise<void> {
    const db = this.db(name);
    if (this.discard) {
      db.txid++;
      this.counts[tx.mode]++;
      return;
    }
    const pages: LtxPage[] = [];
    for (let i = 0; i < tx.pgnos.length; i++) pages.push({ pgno: tx.pgnos[i]!, data: tx.data.subarray(i * tx.pageSize, (i + 1) * tx.pageSize) });
    const snapshot = db.txid === 0;
    if (snapshot && !isComplete(tx)) {
      throw new FuseError("invalid-argument", `${name}: the first transaction must carry every page (a snapshot)`, { database: name });
    }
    const pre = db.sums.checksum;
    const post = db.sums.update(tx.pageSize, tx.commit, pages);
    const txid = db.txid + 1;
    const timestamp = Date.now();
    const header = {
      pageSize: tx.pageSize,
      commit: tx.commit,
      minTXID: snapshot ? 1 : txid,
      maxTXID: txid,
      timestamp,
      preApplyChecksum: snapshot ? 0n : pre,
      walOffset: tx.wal?.offset ?? 0,
      walSize: tx.wal?.size ?? 0,
      walSalt1: tx.wal?.salt1 ?? 0,
      walSalt2: tx.wal?.salt2 ?? 0,
    };
    const durable = this.durability === "always" || (this.durability === "follow" && tx.durable);
    try {
      this.writeLtx(name, db, encodeLtx(header, pages, { postApplyChecksum: post }), durable);
    } catch (error) {
      db.sums.revert(); // SQLite rolls the transaction back
      throw error;
    }
    db.txid = txid;
    db.timestamp = timestamp;
    this.counts[tx.mode]++;
    if (durable) this.counts.durable++;
    this.emit({ type: "database", name });
  }

  /**
   * Writes the next LTX file: to a temporary name, renamed into place. Durable means
   * the file and its directory entry are fsynced before this returns.
   */
  private writeLtx(name: string, db: DatabaseState, bytes: Uint8Array, durable: boolean): void {
    const dir = join(this.ltxDir, name);
    if (db.txid === 0) mkdirSync(dir, { recursive: true });
    const txid = db.txid + 1;
    const path = join(dir, formatFilename(txid === 1 ? 1 : txid, txid));
    const tmp = `${path}.tmp`;
    const fd = openSync(tmp, "w");
    try {
      // writeSync may write less than asked (a full disk): the next call throws ENOSPC
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
      if (durable) fdatasyncSync(fd);
    } catch (error) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw error;
    }
    closeSync(fd);
    renameSync(tmp, path);
    if (durable) syncDirectory(dir);
    else db.unsynced.push(path);
  }

  async sync(name: string): Promise<void> {
    const db = this.db(name);
    if (this.discard) return;
    if (db.unsynced.length === 0) return;
    for (const path of db.unsynced) {
      const fd = openSync(path, "r");
      try {
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    db.unsynced = [];
    syncDirectory(join(this.ltxDir, name));
    this.counts.durable++;
  }

  async halt(): Promise<void> {}

  async unhalt(): Promise<void> {}

  watch(listener: (change: BackendChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(change: BackendChange): void {
    for (const listener of this.listeners) listener(change);
  }

  private db(name: string): DatabaseState {
    const db = this.dbs.get(name);
    if (!db) throw new FuseError("no-database", `no database ${name}`, { database: name });
    return db;
  }
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function isComplete(tx: CommitTransaction): boolean {
  const lock = Math.floor(0x40000000 / tx.pageSize) + 1;
  return tx.pgnos.length === (tx.commit >= lock ? tx.commit - 1 : tx.commit);
}

function readFile(path: string): Uint8Array {
  const buf = readFileSync(path);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
