/** Test helpers that check a replica independently of the engine: its level-0 chain and checksums, a restore of its latest state, queries on images. */
import Database from "better-sqlite3";
import { applyLtx, databaseChecksum, decodeHeader, decodeTrailer, formatTxid, HEADER_SIZE, MemoryPageStore, TRAILER_SIZE, type LtxHeader } from "@sqlrep/ltx";
import { SNAPSHOT_LEVEL, type LtxFileInfo, type ReplicaClient } from "@sqlrep/replica";

/** A replica file with its header and post-apply checksum. */
export interface FileEnds extends LtxFileInfo {
  header: LtxHeader;
  post: bigint;
}

export async function listFiles(client: ReplicaClient, level: number): Promise<LtxFileInfo[]> {
  const out: LtxFileInfo[] = [];
  for await (const f of client.ltxFiles(level)) out.push(f);
  return out;
}

export async function readEnds(client: ReplicaClient, file: LtxFileInfo): Promise<FileEnds> {
  const head = await client.readLtxRange(file, 0, HEADER_SIZE);
  const tail = await client.readLtxRange(file, file.size - TRAILER_SIZE, TRAILER_SIZE);
  return { ...file, header: decodeHeader(head), post: decodeTrailer(tail).postApplyChecksum };
}

/**
 * Checks level 0 and the snapshots: one TXID per level-0 file; every level-0 file
 * starts where a level-0 file or a snapshot ended, with its pre-apply checksum equal to
 * that file's post-apply checksum (level 0 skips only TXIDs a snapshot holds).
 * Returns the files and the highest TXID.
 */
export async function checkChain(client: ReplicaClient): Promise<{ l0: FileEnds[]; snapshots: FileEnds[]; txid: number }> {
  const l0 = await Promise.all((await listFiles(client, 0)).map((f) => readEnds(client, f)));
  const snapshots = await Promise.all((await listFiles(client, SNAPSHOT_LEVEL)).map((f) => readEnds(client, f)));
  const byTxid = new Map<number, FileEnds[]>();
  for (const f of [...l0, ...snapshots]) byTxid.set(f.maxTXID, [...(byTxid.get(f.maxTXID) ?? []), f]);
  for (const f of l0) {
    if (f.minTXID !== f.maxTXID) throw new Error(`level-0 file ${formatTxid(f.minTXID)}-${formatTxid(f.maxTXID)} spans several TXIDs`);
    const before = byTxid.get(f.minTXID - 1);
    if (before === undefined) throw new Error(`nothing ends at TXID ${formatTxid(f.minTXID - 1)} before level-0 file ${formatTxid(f.minTXID)}`);
    for (const b of before) {
      if (b.post !== f.header.preApplyChecksum) {
        throw new Error(`level-0 file ${formatTxid(f.minTXID)} pre-apply ${f.header.preApplyChecksum.toString(16)} ≠ level ${b.level} post-apply ${b.post.toString(16)}`);
      }
    }
  }
  const txid = Math.max(0, ...[...byTxid.keys()]);
  return { l0, snapshots, txid };
}

/**
 * Restores the replica's newest state the way a restore would: the newest snapshot,
 * then every level-0 file after it, applied with checksum verification.
 */
export async function restoreLatest(client: ReplicaClient): Promise<{ bytes: Uint8Array; txid: number; checksum: bigint; files: number }> {
  const snapshots = (await listFiles(client, SNAPSHOT_LEVEL)).filter((f) => f.minTXID === 1);
  const base = snapshots.reduce<LtxFileInfo | undefined>((a, b) => (a === undefined || b.maxTXID > a.maxTXID ? b : a), undefined);
  if (base === undefined) throw new Error(`no snapshot in ${client.location}`);
  const chain = (await listFiles(client, 0)).filter((f) => f.minTXID > base.maxTXID).sort((a, b) => a.minTXID - b.minTXID);
  const inputs = [base, ...chain];
  const bodies = await Promise.all(inputs.map((f) => client.readLtxRange(f, 0, f.size)));
  const store = new MemoryPageStore();
  const pos = await applyLtx(store, bodies, { names: inputs.map((f) => `level ${f.level} ${formatTxid(f.minTXID)}-${formatTxid(f.maxTXID)}`) });
  return { bytes: store.bytes(), txid: pos.txid, checksum: pos.postApplyChecksum, files: inputs.length };
}

/** The database as SQLite sees it now (WAL included), and its LTX database checksum. */
export function sourceImage(path: string): { bytes: Uint8Array; checksum: bigint; pageSize: number } {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const pageSize = Number(db.pragma("page_size", { simple: true }));
    const bytes = new Uint8Array(db.serialize());
    return { bytes, checksum: databaseChecksum(bytes, pageSize), pageSize };
  } finally {
    db.close();
  }
}

/** Rows of a query on a database image (e.g. a restored replica). */
export function queryImage(bytes: Uint8Array, sql: string): unknown[] {
  // An in-memory database cannot be in WAL mode: mark the copy as a rollback-journal file.
  const copy = Buffer.from(bytes);
  copy[18] = 1;
  copy[19] = 1;
  const db = new Database(copy);
  try {
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
}
