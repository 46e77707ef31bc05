/**
 * What a replica says its state is: its highest TXID with the checksum after it, and
 * whether its chain of files from the newest snapshot to there holds together.
 */
import { decodeHeader, decodeTrailer, formatChecksum, formatTxid, HEADER_SIZE, TRAILER_SIZE, tracksChecksums, type LtxHeader } from "@sqlrep/ltx";
import { MAX_COMPACTION_LEVEL, ReplicaError, replicaPosition, SNAPSHOT_LEVEL, type LtxFileInfo, type LtxFileRef, type ReplicaClient } from "@sqlrep/replica";

/** What the replica says its last state is. */
export interface ReplicaTip {
  /** 0 for an empty replica. */
  txid: number;
  file: LtxFileInfo | undefined;
  header: LtxHeader | undefined;
  /** The database checksum after `txid` (0 when the file has none). */
  postApply: bigint;
}

/** Reads the replica's highest TXID and the header and trailer of the file that ends there. */
export async function readReplicaTip(client: ReplicaClient, signal?: AbortSignal): Promise<ReplicaTip> {
  const { txid, file } = await replicaPosition(client, { signal });
  if (file === undefined) return { txid: 0, file: undefined, header: undefined, postApply: 0n };
  const ends = await readEnds(client, file, signal);
  return { txid, file, header: ends.header, postApply: ends.post };
}

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
 * taken, so a compacted replica costs a few reads. Throws ReplicaError
 * ("non-contiguous") on a gap, ("conflict") on a broken chain or no snapshot.
 */
export async function verifyReplicaChain(client: ReplicaClient, signal?: AbortSignal): Promise<ChainEnd> {
  const snapshots: LtxFileInfo[] = [];
  for await (const f of client.ltxFiles(SNAPSHOT_LEVEL, { signal })) if (f.minTXID === 1) snapshots.push(f);
  const snapshot = snapshots.reduce<LtxFileInfo | undefined>((a, b) => (a === undefined || b.maxTXID > a.maxTXID ? b : a), undefined);
  if (snapshot === undefined) throw new ReplicaError("conflict", `${client.location}: no snapshot to verify from`);
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
      if (beyond !== undefined) {
        throw new ReplicaError(
          "non-contiguous",
          `${client.location}: TXIDs ${formatTxid(txid + 1)}…${formatTxid(beyond.minTXID - 1)} are missing after the snapshot at ${formatTxid(snapshot.maxTXID)}`,
        );
      }
      return { txid, postApply: post, files };
    }
    const ends = await readEnds(client, next, signal);
    files++;
    // Its pre-apply checksum is the state before its first TXID: comparable only where it starts right after.
    if (tracksChecksums(ends.header) && next.minTXID === txid + 1 && ends.header.preApplyChecksum !== post) {
      throw new ReplicaError(
        "conflict",
        `${client.location}: level ${next.level} file ${formatTxid(next.minTXID)}-${formatTxid(next.maxTXID)} expects checksum ${formatChecksum(ends.header.preApplyChecksum)} but the chain has ${formatChecksum(post)} at TXID ${formatTxid(txid)}`,
      );
    }
    post = ends.post;
    txid = next.maxTXID;
  }
}

/** The header and post-apply checksum of a replica's file (two ranged reads). */
export async function readEnds(client: ReplicaClient, file: LtxFileRef & { size: number }, signal: AbortSignal | undefined): Promise<{ header: LtxHeader; post: bigint }> {
  const [head, tail] = await Promise.all([
    client.readLtxRange(file, 0, HEADER_SIZE, { signal }),
    client.readLtxRange(file, Math.max(0, file.size - TRAILER_SIZE), TRAILER_SIZE, { signal }),
  ]);
  const header = decodeHeader(head, { file: `level ${file.level} ${formatTxid(file.minTXID)}-${formatTxid(file.maxTXID)}` });
  return { header, post: tail.length === TRAILER_SIZE ? decodeTrailer(tail).postApplyChecksum : 0n };
}
