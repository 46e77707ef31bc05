// Before the store opens after a stop or a crash: SQLite's leftovers under data.dir are
// settled so the database file alone is the committed state the engine logged. A WAL's
// frames are folded into the file up to the last transaction the engine captured (a
// commit frame written as the daemon died was never acknowledged) and the WAL and its
// index removed; a hot journal is rolled back. Otherwise the first SQLite connection
// through the new mount would rebuild its WAL index from the old WAL and read old
// pages over whatever the engine applied since (a rejoining replica served stale rows).
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync, ftruncateSync } from "node:fs";
import { join } from "node:path";
import { databaseFiles } from "@sqlrep/cluster";
import { CHECKSUM_FLAG, lockPgno, pageChecksum } from "@sqlrep/ltx";
import type { Logger } from "@sqlrep/runtime";
import { readJournalSync, scanWalSync } from "@sqlrep/wal";

/** What was done to one database. */
export interface SettledDatabase {
  name: string;
  action: "wal-folded" | "wal-dropped" | "journal-rolled-back" | "left";
  /** WAL transactions folded into the file, of those found. */
  folded?: number;
  found?: number;
}

/** Settles every database under `<dataDir>/dbs` (see the module comment). */
export function settleDatabases(dataDir: string, logger: Logger): SettledDatabase[] {
  const out: SettledDatabase[] = [];
  for (const name of listDatabases(join(dataDir, "dbs"))) {
    const files = databaseFiles(dataDir, name);
    try {
      const journal = rollBackJournal(files.database, files.journal);
      if (journal) out.push({ name, action: "journal-rolled-back" });
      const wal = foldWal(name, files, logger);
      if (wal !== undefined) out.push(wal);
    } catch (err) {
      logger.warn("could not settle the database's SQLite files before opening", { db: name, error: (err as Error).message });
    }
  }
  for (const s of out) logger.info("settled SQLite's files from before the restart", { ...s });
  return out;
}

function listDatabases(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const dir = rel === "" ? root : join(root, rel);
    if (!existsSync(dir)) return;
    if (rel !== "" && existsSync(join(dir, "database"))) out.push(rel);
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory() && entry.name !== "ltx") walk(rel === "" ? entry.name : `${rel}/${entry.name}`);
  };
  walk("");
  return out;
}

/** The post-apply checksums of every LTX file the engine kept for this database. */
function loggedChecksums(dir: string): Set<bigint> {
  const sums = new Set<bigint>();
  const ltxDir = join(dir, "ltx");
  if (!existsSync(ltxDir)) return sums;
  for (const file of readdirSync(ltxDir)) {
    if (!file.endsWith(".ltx")) continue;
    const bytes = readFileSync(join(ltxDir, file));
    if (bytes.length < 16) continue;
    sums.add(new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 16, 8).getBigUint64(0));
  }
  return sums;
}

function foldWal(name: string, files: ReturnType<typeof databaseFiles>, logger: Logger): SettledDatabase | undefined {
  if (!existsSync(files.wal)) {
    rmSync(files.shm, { force: true });
    return undefined;
  }
  const result = foldWalInto(files, loggedChecksums(files.dir));
  if (result === "no-match") {
    logger.warn("the WAL left from before the restart matches no logged transaction; leaving it for SQLite", { db: name });
    return { name, action: "left", folded: 0 };
  }
  rmSync(files.wal, { force: true });
  rmSync(files.shm, { force: true });
  return { name, action: result.folded > 0 ? "wal-folded" : "wal-dropped", folded: result.folded, found: result.found };
}

/**
 * Writes the WAL's committed transactions into the database file, up to the longest
 * prefix whose database checksum is in `accept` (none folded when the file alone is),
 * and fsyncs it. The WAL itself is left as it is. "no-match" when no prefix adds up.
 */
export function foldWalInto(files: { database: string; wal: string }, accept: ReadonlySet<bigint>): { folded: number; found: number } | "no-match" {
  const wal = existsSync(files.wal) ? readFileSync(files.wal) : new Uint8Array(0);
  const scan = wal.length >= 32 ? safeScan(wal) : undefined;
  const txs = scan?.transactions ?? [];
  if (txs.length === 0) return { folded: 0, found: 0 };
  const pageSize = scan!.header.pageSize;
  const lock = lockPgno(pageSize);
  const db = readFileSync(files.database);
  // The checksum after each WAL prefix, kept incrementally: base pages, then each transaction's.
  const sums = new Map<number, bigint>();
  const baseCommit = Math.floor(db.length / pageSize);
  for (let pgno = 1; pgno <= baseCommit; pgno++) if (pgno !== lock) sums.set(pgno, pageChecksum(pgno, db.subarray((pgno - 1) * pageSize, pgno * pageSize)));
  let xor = 0n;
  for (const s of sums.values()) xor ^= s;
  const at = (x: bigint) => CHECKSUM_FLAG | (x & ~CHECKSUM_FLAG);
  let best = accept.has(at(xor)) ? 0 : -1;
  for (const [i, tx] of txs.entries()) {
    for (const [pgno, offset] of tx.pages) {
      if (pgno === lock) continue;
      const sum = pageChecksum(pgno, wal.subarray(offset + 24, offset + 24 + pageSize));
      const old = sums.get(pgno);
      if (old !== undefined) xor ^= old;
      sums.set(pgno, sum);
      xor ^= sum;
    }
    for (const [pgno, sum] of sums) {
      if (pgno > tx.commit) {
        xor ^= sum;
        sums.delete(pgno);
      }
    }
    if (accept.has(at(xor))) best = i + 1;
  }
  if (best < 0) return "no-match";
  if (best > 0) {
    const fd = openSync(files.database, "r+");
    try {
      for (const tx of txs.slice(0, best)) {
        for (const [pgno, offset] of tx.pages) writeSync(fd, wal, offset + 24, pageSize, (pgno - 1) * pageSize);
      }
      ftruncateSync(fd, txs[best - 1]!.commit * pageSize);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  return { folded: best, found: txs.length };
}

/** Rolls a hot journal back into the database file, as SQLite's next open would; true if it did (a journal that is not hot is removed). */
export function rollBackJournal(database: string, journal: string): boolean {
  if (!existsSync(journal) || statSync(journal).size < 28) {
    rmSync(journal, { force: true });
    return false;
  }
  const bytes = readFileSync(journal);
  const magic = bytes.subarray(0, 8);
  const hot = Buffer.from(magic).equals(Buffer.from([0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7]));
  if (!hot) {
    rmSync(journal, { force: true });
    return false;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const initialPages = view.getUint32(16);
  const fd = openSync(database, "r+");
  try {
    let pageSize = 0;
    const seen = new Set<number>();
    for (const record of readJournalSync(bytes)) {
      pageSize = record.data.length;
      if (seen.has(record.pgno)) continue;
      seen.add(record.pgno);
      writeSync(fd, record.data, 0, record.data.length, (record.pgno - 1) * record.data.length);
    }
    if (pageSize > 0) ftruncateSync(fd, initialPages * pageSize);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  rmSync(journal, { force: true });
  return true;
}

function safeScan(wal: Uint8Array) {
  try {
    return scanWalSync(wal);
  } catch {
    return undefined;
  }
}
