/** Replication positions (TXID and the database checksum after it): their text form and the positions before and after a file. */
import { formatChecksum } from "./checksum.js";
import { LtxError } from "./errors.js";
import { formatTxid, parseTxid } from "./filename.js";
import type { LtxHeader } from "./header.js";
import type { LtxTrailer } from "./trailer.js";

/**
 * A replication position: the last applied transaction and the database checksum
 * after it. Before a file the position is (MinTXID−1, PreApplyChecksum); after it,
 * (MaxTXID, PostApplyChecksum).
 */
export interface Pos {
  txid: number;
  postApplyChecksum: bigint;
}

/** `<txid 16 hex>/<checksum 16 hex>` (spec §9.1). */
export function formatPos(pos: Pos): string {
  return `${formatTxid(pos.txid)}/${formatChecksum(pos.postApplyChecksum)}`;
}

/** Parses the text form of `formatPos`. */
export function parsePos(text: string): Pos {
  const m = /^([0-9a-f]{16})\/([0-9a-f]{16})$/.exec(text);
  if (m === null) throw new LtxError("invalid-argument", `invalid position ${JSON.stringify(text)}: want <16 hex>/<16 hex>`);
  return { txid: parseTxid(m[1]!), postApplyChecksum: BigInt(`0x${m[2]!}`) };
}

/** The position a file must be applied at. */
export function preApplyPos(header: LtxHeader): Pos {
  return { txid: header.minTXID - 1, postApplyChecksum: header.preApplyChecksum };
}

/** The position after applying a file. */
export function postApplyPos(header: LtxHeader, trailer: Pick<LtxTrailer, "postApplyChecksum">): Pos {
  return { txid: header.maxTXID, postApplyChecksum: trailer.postApplyChecksum };
}
