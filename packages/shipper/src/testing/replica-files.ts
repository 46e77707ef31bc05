/**
 * Looking at a replica from a test: its files by level, a restore of its latest state
 * with the real restore, and files written by "another writer".
 */
import { readFileSync } from "node:fs";
import { CHECKSUM_FLAG, encodeLtx, pageChecksum } from "@sqlrep/ltx";
import { restore, SNAPSHOT_LEVEL, type ReplicaClient, type RestoreResult } from "@sqlrep/replica";
import { PAGE_SIZE, pageData } from "./memory-db.js";

/** Every file of the replica as `L<level> <min>-<max>` (decimal TXIDs), by level then MinTXID. */
export async function replicaFiles(client: ReplicaClient): Promise<string[]> {
  const out: string[] = [];
  for (let level = 0; level <= SNAPSHOT_LEVEL; level++) {
    for await (const f of client.ltxFiles(level)) out.push(`L${level} ${f.minTXID}-${f.maxTXID}`);
  }
  return out;
}

/** The files of one level as `<min>-<max>`. */
export async function levelFiles(client: ReplicaClient, level: number): Promise<string[]> {
  const out: string[] = [];
  for await (const f of client.ltxFiles(level)) out.push(`${f.minTXID}-${f.maxTXID}`);
  return out;
}

/** The bytes of a replica's file. */
export async function fileBytes(client: ReplicaClient, level: number, minTXID: number, maxTXID: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of await client.openLtxFile({ level, minTXID, maxTXID })) chunks.push(c);
  return Buffer.concat(chunks);
}

let restores = 0;

/** Restores the replica's latest state (the real restore, into `dir`): the result and the database's bytes. */
export async function restoreLatest(client: ReplicaClient, dir: string): Promise<{ result: RestoreResult; bytes: Uint8Array }> {
  const output = `${dir}/restored-${restores++}.db`;
  const result = await restore(client, { output, workers: 0 });
  return { result, bytes: new Uint8Array(readFileSync(output)) };
}

/**
 * Writes level-`level` files `<txid>-<txid>` for each TXID of `from…to` as another writer
 * would: one page each, checksums chaining among themselves but unrelated to ours.
 * Starting at TXID 1 writes a snapshot of one page first.
 */
export async function writeForeignChain(client: ReplicaClient, from: number, to: number, level = 0, seed = 1000): Promise<void> {
  let post = 0n;
  for (let txid = from; txid <= to; txid++) {
    const data = pageData(1, seed + txid);
    const sum = CHECKSUM_FLAG | pageChecksum(1, data);
    const snapshot = txid === 1;
    const header = {
      pageSize: PAGE_SIZE,
      commit: 1,
      minTXID: txid,
      maxTXID: txid,
      timestamp: Date.UTC(2025, 0, 1) + txid,
      preApplyChecksum: snapshot ? 0n : post === 0n ? CHECKSUM_FLAG | BigInt(seed) : post,
    };
    await client.writeLtxFile({ level: snapshot ? SNAPSHOT_LEVEL : level, minTXID: txid, maxTXID: txid }, encodeLtx(header, [{ pgno: 1, data }], { postApplyChecksum: sum }));
    post = sum;
  }
}
