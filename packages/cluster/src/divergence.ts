/**
 * Split brain without silent loss: before a replica takes a snapshot that replaces
 * transactions the primary never had (LiteFS discards them, #282), it finds the last
 * position both share and keeps its LTX files after it under
 * `<data>/diverged/<db>/<time>/`, with an `info.json` saying what they are.
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatChecksum, formatTxid } from "@sqlrep/ltx";
import type { Logger } from "@sqlrep/shipper";
import { describeError } from "./errors.js";
import type { Database, DatabasePosition } from "./store/database.js";

/** The most TXIDs compared with the primary's history. */
export const MAX_COMPARED = 65_536;

/** What was kept. */
export interface Divergence {
  readonly db: string;
  /** The directory the files went to. */
  readonly dir: string;
  /** The last TXID this node and the primary share (0: none found in the range compared). */
  readonly lastCommon: number;
  /** This node's TXIDs after it. */
  readonly from: number;
  readonly to: number;
  /** LTX files kept. */
  readonly files: readonly string[];
  /** TXIDs in from…to whose files retention had already removed (empty when all were kept). */
  readonly missing: readonly number[];
  /** Whether the primary's history was known for the range (else every file of this node's log was kept). */
  readonly compared: boolean;
}

/** The primary's checksum after each TXID of a range, as far as it knows them (undefined: could not ask). */
export type PrimaryHistory = (name: string, from: number, to: number) => Promise<ReadonlyMap<number, bigint> | undefined>;

/**
 * Compares this node's history of `db` with the primary's and keeps the LTX files
 * of every transaction the primary does not have. Undefined when there are none (a
 * replica that is merely behind). `incoming` is the snapshot about to replace it.
 */
export async function keepDivergent(
  db: Database,
  dataDir: string,
  primary: PrimaryHistory,
  incoming: DatabasePosition,
  logger: Logger,
  now = new Date(),
): Promise<Divergence | undefined> {
  const ours = db.position;
  if (ours.txid === 0) return undefined;
  const oldest = Math.min(db.historyStart || ours.txid, db.log.entries[0]?.minTXID ?? ours.txid);
  const lo = Math.max(1, oldest - 1, ours.txid - MAX_COMPARED + 1);
  let theirs: ReadonlyMap<number, bigint> | undefined;
  try {
    theirs = await primary(db.name, lo, ours.txid);
  } catch (err) {
    logger.warn("could not read the primary's history; keeping every LTX file of this node's log", { db: db.name, error: describeError(err) });
  }
  let lastCommon = 0;
  for (let txid = ours.txid; txid >= lo && theirs !== undefined; txid--) {
    const mine = db.checksumAt(txid);
    if (mine !== undefined && theirs.get(txid) === mine) {
      lastCommon = txid;
      break;
    }
  }
  if (lastCommon === ours.txid) return undefined;
  // Not one common position found in the range: the divergence (or our knowledge of it) starts before it.
  const keepAfter = lastCommon === 0 ? lo - 1 : lastCommon;
  const entries = db.log.entries.filter((e) => e.maxTXID > keepAfter && e.lineage === undefined);
  const dir = join(dataDir, "diverged", ...db.name.split("/"), now.toISOString().replace(/:/g, "-"));
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const covered = new Set<number>();
  for (const e of entries) {
    const name = e.file.slice(e.file.lastIndexOf("/") + 1);
    try {
      copyFileSync(e.file, join(dir, name));
      files.push(name);
      for (let t = e.minTXID; t <= e.maxTXID; t++) covered.add(t);
    } catch (err) {
      logger.warn("could not keep a divergent LTX file", { db: db.name, file: e.file, error: describeError(err) });
    }
  }
  const missing: number[] = [];
  for (let t = keepAfter + 1; t <= ours.txid && missing.length < 1000; t++) if (!covered.has(t)) missing.push(t);
  const info = {
    db: db.name,
    node: { txid: formatTxid(ours.txid), checksum: formatChecksum(ours.checksum), epoch: ours.epoch },
    lastCommon: lastCommon === 0 ? null : { txid: formatTxid(lastCommon), checksum: formatChecksum(db.checksumAt(lastCommon) ?? 0n) },
    compared: theirs !== undefined,
    primarySnapshot: { txid: formatTxid(incoming.txid), checksum: formatChecksum(incoming.checksum), epoch: incoming.epoch },
    files,
    missing: missing.map(formatTxid),
    keptAt: now.toISOString(),
    note: "Transactions this node committed that the primary never received. Apply them to a copy of the database at lastCommon (ltx apply) to read them back.",
  };
  writeFileSync(join(dir, "info.json"), `${JSON.stringify(info, null, 2)}\n`);
  return { db: db.name, dir, lastCommon, from: keepAfter + 1, to: ours.txid, files, missing, compared: theirs !== undefined };
}
