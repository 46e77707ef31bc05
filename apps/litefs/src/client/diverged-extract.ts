/**
 * Rebuilds a SQLite file from a diverged set: its LTX files applied, in TXID order and
 * checked against every pre- and post-apply checksum, onto the database as it was at the
 * last common position. The set holds only the node's own transactions after that
 * position, so that state must come from the set itself (a set starting at TXID 1, or
 * with a snapshot) or from a copy the user gives (`-base`).
 */
import { copyFileSync, createReadStream, existsSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { applyLtx, formatTxid, isLtxError, LtxReader, parseChecksum, type Pos } from "@sqlrep/ltx";
import { FilePageStore } from "@sqlrep/page-file";
import { type DivergedSet, txidOf } from "./diverged-sets.js";
import { LitefsError } from "../errors.js";

/** What an extraction produced. */
export interface Extracted {
  path: string;
  /** The position reached: the diverged node's position when the whole tail was kept. */
  position: Pos;
  /** Whether that is the node's own position at the split (info.json's `node`). */
  complete: boolean;
}

/** Writes `set` rebuilt as a SQLite database at `out` (through `out.tmp`); `base` is the database at the last common position. */
export async function extractDiverged(set: DivergedSet, out: string, base: string | undefined): Promise<Extracted> {
  const { info } = set;
  if (set.files.length === 0) throw new LitefsError("diverged", `${set.dir} holds no LTX file: retention had removed them all before the split was found`, { file: set.dir });
  if (info.missing.length > 0) {
    throw new LitefsError(
      "diverged",
      `${set.dir} lacks TXIDs ${info.missing.slice(0, 5).join(", ")}${info.missing.length > 5 ? "…" : ""} (retention removed their LTX files before the split was found): the set cannot be replayed; its files can still be read one by one with ltx dump`,
      { file: set.dir },
    );
  }
  for (let i = 1; i < set.files.length; i++) {
    if (set.files[i]!.minTXID !== set.files[i - 1]!.maxTXID + 1)
      throw new LitefsError("diverged", `${set.dir}: ${set.files[i]!.name} does not follow ${set.files[i - 1]!.name}`, { file: set.dir });
  }
  const first = set.files[0]!;
  const startsWhole = first.minTXID === 1;
  const lastCommon = txidOf(info.lastCommon?.txid);
  if (!startsWhole && base === undefined) {
    const at = first.minTXID - 1;
    const sum = info.lastCommon !== null && lastCommon === at ? ` (checksum ${info.lastCommon.checksum})` : "";
    throw new LitefsError(
      "diverged",
      `the set ${set.set} of ${set.db} holds TXIDs ${formatTxid(first.minTXID)}-${formatTxid(set.to)}, the changes after TXID ${formatTxid(at)}${sum}, not that state itself: give -base a copy of ${set.db} at TXID ${formatTxid(at)} (for example litestream restore -txid ${formatTxid(at)} from the cluster's backup, or an export taken then)`,
    );
  }
  if (existsSync(out)) throw new LitefsError("io", `${out} exists: not overwriting it`, { file: out });
  const tmp = `${out}.tmp`;
  rmSync(tmp, { force: true });
  if (!startsWhole) {
    for (const suffix of ["-wal", "-journal"]) {
      if (existsSync(`${base}${suffix}`))
        throw new LitefsError("io", `${base}${suffix} exists: checkpoint ${base} (open and close it with sqlite3) before using it as -base`, { file: base });
    }
    copyFileSync(base!, tmp);
  }
  const store = new FilePageStore(tmp);
  let position: Pos;
  try {
    position = await applyLtx(
      store,
      set.files.map((f) => new LtxReader(createReadStream(join(set.dir, f.name)), { file: join(set.dir, f.name) })),
    );
    await store.sync();
  } catch (err) {
    await store.close().catch(() => undefined);
    rmSync(tmp, { force: true });
    if (isLtxError(err) && err.code === "pre-apply-checksum-mismatch" && base !== undefined) {
      throw new LitefsError("diverged", `${base} is not ${set.db} at TXID ${formatTxid(first.minTXID - 1)}: ${err.message}`, { cause: err, file: base });
    }
    throw new LitefsError("diverged", `replaying ${set.dir} failed: ${(err as Error).message}`, { cause: err, file: set.dir });
  }
  await store.close();
  try {
    checkResult(tmp);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  renameSync(tmp, out);
  const complete = position.txid === txidOf(info.node.txid) && position.postApplyChecksum === parseChecksum(info.node.checksum);
  return { path: out, position, complete };
}

function checkResult(path: string): void {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare("PRAGMA integrity_check(5)").pluck().all() as string[];
    if (rows.length !== 1 || rows[0] !== "ok") throw new LitefsError("integrity", `the rebuilt database ${path} fails PRAGMA integrity_check: ${rows.join("; ")}`, { file: path });
  } finally {
    db.close();
  }
}
