/** The checks that a transaction continues a database's position, made before anything is written. */
import { formatChecksum, formatTxid, type LtxHeader } from "@sqlrep/ltx";
import { ClusterError } from "../errors.js";
import type { DatabasePosition } from "./position.js";

/** An LTX file received must be the next single TXID after `pos`, on its checksum, with the database's page size. */
export function checkContinues(name: string, h: LtxHeader, pos: DatabasePosition, pageSize: number): void {
  if (h.minTXID !== h.maxTXID)
    throw new ClusterError("protocol", `${name}: LTX ${formatTxid(h.minTXID)}-${formatTxid(h.maxTXID)} spans several TXIDs; the stream sends one per file`, {
      db: name,
    });
  if (h.minTXID === 1) throw new ClusterError("protocol", `${name}: a snapshot (TXID 1-${formatTxid(h.maxTXID)}) cannot be applied as a transaction`, { db: name });
  if (h.minTXID !== pos.txid + 1 || h.preApplyChecksum !== pos.checksum) {
    throw new ClusterError(
      "position-mismatch",
      `${name}: LTX ${formatTxid(h.minTXID)} continues TXID ${formatTxid(h.minTXID - 1)} with checksum ${formatChecksum(h.preApplyChecksum)}, this node is at TXID ${formatTxid(pos.txid)} with checksum ${formatChecksum(pos.checksum)}`,
      { db: name },
    );
  }
  if (h.pageSize !== pageSize && pos.txid > 0) throw new ClusterError("protocol", `${name}: page size ${h.pageSize} differs from the database's ${pageSize}`, { db: name });
}

/** A forwarded transaction must come to the TXID and checksum the sender computed, or nothing is written. */
export function checkExpected(name: string, expect: { txid: number; checksum: bigint } | undefined, pos: DatabasePosition, post: bigint): void {
  if (expect !== undefined && (expect.txid !== pos.txid + 1 || expect.checksum !== post)) {
    throw new ClusterError(
      "position-mismatch",
      `${name}: transaction ${formatTxid(expect.txid)} with checksum ${formatChecksum(expect.checksum)} does not follow TXID ${formatTxid(pos.txid)} (it would be TXID ${formatTxid(pos.txid + 1)} with checksum ${formatChecksum(post)})`,
      { db: name },
    );
  }
}

/** The checksum an LTX file's pages lead to on this node must be the one its trailer says. */
export function checkPostApply(name: string, h: LtxHeader, post: bigint, expected: bigint, file: string | undefined): void {
  if (post !== expected) {
    throw new ClusterError(
      "corrupt",
      `${name}: LTX ${formatTxid(h.minTXID)} leads to checksum ${formatChecksum(post)} on this node, the primary's file says ${formatChecksum(expected)} (file ${file ?? "from the stream"}); nothing was applied`,
      { db: name, file },
    );
  }
}
