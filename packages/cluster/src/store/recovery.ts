/**
 * Opening a database after a stop or a crash: the LTX log is brought in line with the
 * durable position, the LTX files after it are applied again (their pages may or may
 * not have reached the file), and the checksum table must add up to the position. Only
 * when it does not is the database file hashed, once.
 */
import { readFileSync, truncateSync } from "node:fs";
import { decodeLtx, formatChecksum, formatTxid } from "@sqlrep/ltx";
import type { LtxLog, Logger } from "@sqlrep/shipper";
import { ClusterError, describeError } from "../errors.js";
import type { ChecksumTable } from "./checksum-table.js";
import { checkPages, type CommitPage } from "./commit-pages.js";
import type { DatabasePosition } from "./position.js";
import type { ChecksumHistory } from "./history.js";
import type { DatabaseFiles } from "./names.js";
import type { StoredPosition } from "./position-file.js";
import { hashFile } from "./verify.js";

/** What recovery may touch of a database being opened. */
export interface RecoveryAccess {
  readonly name: string;
  readonly files: DatabaseFiles;
  readonly log: LtxLog;
  readonly history: ChecksumHistory;
  readonly logger: Logger;
  table(): ChecksumTable;
  pageSize(): number;
  setPageSize(size: number): void;
  writePages(pages: readonly CommitPage[], commit: number): Promise<void>;
  setPosition(pos: DatabasePosition, durable: boolean): void;
  sync(): Promise<void>;
  fail(error: ClusterError): void;
}

/** Brings a database opened at `stored` to the newest state its log holds, checked. */
export async function recoverDatabase(db: RecoveryAccess, stored: StoredPosition): Promise<void> {
  const { log, logger, name } = db;
  let pos: DatabasePosition = { txid: stored.txid, checksum: stored.txid === 0 ? 0n : stored.checksum, timestamp: stored.timestamp, epoch: stored.epoch };
  if (stored.txid === 0) {
    // Nothing durable yet (or a snapshot that did not finish): the file starts empty.
    truncateSync(db.files.database, 0);
    db.table().apply([], 0);
    const first = log.entries[0];
    if (first !== undefined && (first.minTXID !== 1 || first.lineage !== undefined)) log.reset(undefined);
    if (log.entries.length > 0) db.setPageSize(log.entries[0]!.pageSize);
  } else if (log.checksumAt(stored.txid) !== stored.checksum) {
    if (log.tip !== undefined) {
      logger.warn("the LTX log does not hold the database's position; starting it over there", { db: name, txid: formatTxid(stored.txid), logTip: formatTxid(log.tip.txid) });
    }
    log.reset({ txid: stored.txid, postApply: stored.checksum, commit: stored.commit, pageSize: stored.pageSize });
  }
  if (stored.txid > 0 && db.history.get(stored.txid) !== stored.checksum) db.history.append(stored.txid, stored.checksum);

  // Redo what was logged after the durable position.
  let redone = 0;
  for (const entry of log.after(pos.txid)) {
    try {
      const ltx = decodeLtx(new Uint8Array(readFileSync(entry.file)), { file: entry.file });
      const h = ltx.header;
      const pre = h.minTXID === 1 ? 0n : h.preApplyChecksum;
      if (h.minTXID !== pos.txid + 1 || pre !== pos.checksum)
        throw new ClusterError("position-mismatch", `${entry.file} does not continue TXID ${formatTxid(pos.txid)}`, { db: name, file: entry.file });
      const oldCommit = pos.txid === 0 ? 0 : db.table().commit;
      const checked = checkPages(name, ltx.pages, pos.txid === 0 ? undefined : db.pageSize(), h.commit, oldCommit);
      await db.writePages(checked.pages, h.commit);
      const post = db.table().apply(checked.sums, h.commit);
      db.history.append(h.maxTXID, ltx.trailer.postApplyChecksum);
      if (post !== ltx.trailer.postApplyChecksum) logger.warn("checksum table differs after redo; it will be rebuilt", { db: name, txid: formatTxid(h.maxTXID) });
      pos = { txid: h.maxTXID, checksum: ltx.trailer.postApplyChecksum, timestamp: h.timestamp, epoch: pos.epoch };
      redone++;
    } catch (err) {
      // A log file that cannot be applied: what follows it cannot be either.
      logger.error("LTX file after the durable position cannot be re-applied; the log is cut there", { db: name, file: entry.file, error: describeError(err) });
      log.reset(pos.txid === 0 ? undefined : { txid: pos.txid, postApply: pos.checksum, commit: db.table().commit, pageSize: db.pageSize() });
      break;
    }
  }
  // The history may run past where recovery ended (entries of a log that was cut): they
  // are not this database's. Recording the position again cuts them.
  if (pos.txid > 0 && db.history.last > pos.txid) db.history.append(pos.txid, pos.checksum);
  db.setPosition(pos, redone === 0);
  if (redone > 0) logger.info("re-applied LTX files after the durable position", { db: name, files: redone, txid: formatTxid(pos.txid) });

  const table = db.table();
  const expected = pos.txid === 0 ? table.checksum : pos.checksum;
  if (pos.txid > 0 && (table.checksum !== expected || table.commit !== commitOf(stored, pos, table.commit))) {
    logger.warn("the checksum table does not add up to the position; hashing the database once", {
      db: name,
      table: formatChecksum(table.checksum),
      position: formatChecksum(expected),
      file: db.files.database,
    });
    const commit = commitOf(stored, pos, table.commit);
    const sums = hashFile(db.files.database, db.pageSize(), commit);
    const actual = table.replaceAll(sums, commit);
    if (actual !== expected) {
      db.fail(
        new ClusterError(
          "verify-failed",
          `database ${name} is refused: its file ${db.files.database} adds up to checksum ${formatChecksum(actual)} but its position TXID ${formatTxid(pos.txid)} says ${formatChecksum(expected)}`,
          { db: name, file: db.files.database },
        ),
      );
    }
  }
  if (redone > 0) await db.sync();
}

/** The size in pages the table must have: the stored one when nothing was redone. */
function commitOf(stored: StoredPosition, pos: DatabasePosition, tableCommit: number): number {
  return pos.txid === stored.txid ? stored.commit : tableCommit;
}
