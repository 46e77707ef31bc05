import { decodeHeader, decodeTrailer, formatChecksum, formatTxid, HEADER_SIZE, TRAILER_SIZE, tracksChecksums } from "@sqlrep/ltx";
import { MAX_COMPACTION_LEVEL, SNAPSHOT_LEVEL, type LtxFileInfo, type ReplicaClient } from "@sqlrep/replica";
import { BackupError } from "./errors.js";

/** The end of a replica's verified checksum chain. */
export interface ChainEnd {
  txid: number;
  postApply: bigint;
  /** Files whose header and trailer were read. */
  files: number;
}

/**
 * Walks a replica from its newest snapshot to its highest TXID, reading only the
 * header and trailer of each file: every file must start at most right after the TXID
 * reached, and where it starts right after it, its pre-apply checksum must equal the
 * previous post-apply checksum. Where levels overlap the file reaching furthest is
 * taken, so a compacted replica costs a few reads. Throws BackupError("validation") on a gap or a broken chain.
 */
export async function verifyReplicaChain(client: ReplicaClient, signal?: AbortSignal): Promise<ChainEnd> {
  const fail = (message: string): never => {
    throw new BackupError("validation", `${client.location}: ${message}`);
  };
  const snapshots: LtxFileInfo[] = [];
  for await (const f of client.ltxFiles(SNAPSHOT_LEVEL, { signal })) if (f.minTXID === 1) snapshots.push(f);
  const snapshot = snapshots.reduce<LtxFileInfo | undefined>((a, b) => (a === undefined || b.maxTXID > a.maxTXID ? b : a), undefined);
  if (snapshot === undefined) return fail("no snapshot to verify from");
  let { post } = await readEnds(client, snapshot, signal);
  let txid = snapshot.maxTXID;
  let files = 1;
  const later: LtxFileInfo[] = [];
  for (let level = 0; level <= MAX_COMPACTION_LEVEL; level++) {
    for await (const f of client.ltxFiles(level, { seek: 0, signal })) if (f.maxTXID > txid) later.push(f);
  }
  for (;;) {
    // A compacted file may start before the TXID reached (a snapshot taken in the middle
    // of its range, the level-0 files after the snapshot since pruned): it continues the
    // chain all the same, as a restore would use it.
    const next = later
      .filter((f) => f.minTXID <= txid + 1 && f.maxTXID > txid)
      .reduce<LtxFileInfo | undefined>((a, b) => (a === undefined || b.maxTXID > a.maxTXID ? b : a), undefined);
    if (next === undefined) {
      const beyond = later.find((f) => f.minTXID > txid + 1);
      if (beyond !== undefined) fail(`TXIDs ${formatTxid(txid + 1)}…${formatTxid(beyond.minTXID - 1)} are missing after the snapshot at ${formatTxid(snapshot.maxTXID)}`);
      return { txid, postApply: post, files };
    }
    const ends = await readEnds(client, next, signal);
    files++;
    // Its pre-apply checksum is the state before its first TXID: comparable only where it starts right after.
    if (ends.tracks && next.minTXID === txid + 1 && ends.pre !== post) {
      fail(
        `level ${next.level} file ${formatTxid(next.minTXID)}-${formatTxid(next.maxTXID)} expects checksum ${formatChecksum(ends.pre)} but the chain has ${formatChecksum(post)} at TXID ${formatTxid(txid)}`,
      );
    }
    post = ends.post;
    txid = next.maxTXID;
  }
}

async function readEnds(client: ReplicaClient, file: LtxFileInfo, signal: AbortSignal | undefined): Promise<{ pre: bigint; post: bigint; tracks: boolean }> {
  const [head, tail] = await Promise.all([
    client.readLtxRange(file, 0, HEADER_SIZE, { signal }),
    client.readLtxRange(file, Math.max(0, file.size - TRAILER_SIZE), TRAILER_SIZE, { signal }),
  ]);
  const header = decodeHeader(head, { file: `level ${file.level} ${formatTxid(file.minTXID)}-${formatTxid(file.maxTXID)}` });
  return { pre: header.preApplyChecksum, post: decodeTrailer(tail).postApplyChecksum, tracks: tracksChecksums(header) };
}
