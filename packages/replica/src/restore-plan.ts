/** Plans a restore (Litestream's CalcRestorePlan, improved): the newest usable snapshot and the shortest chain of files from it to the target. */
import { formatTxid } from "@sqlrep/ltx";
import { ReplicaError } from "./errors.js";
import { SNAPSHOT_LEVEL } from "./layout.js";
import { ALL_LEVELS, fileLabel, highestTXID, listLevels } from "./listing.js";
import type { LtxFileInfo, ReplicaClient } from "./replica-client.js";

/** Where a restore should land: a TXID, a point in time, or (neither) the latest state. */
export interface RestoreTarget {
  /** Restore exactly this TXID. */
  txid?: number | undefined;
  /** Restore the newest state whose every transaction was committed at or before this time. */
  timestamp?: Date | undefined;
}

/** The files a restore applies, base (a file starting at TXID 1) first, and where they land. */
export interface RestorePlan {
  files: LtxFileInfo[];
  /** The TXID of the restored database. */
  txid: number;
  /** The timestamp of the last file: when the restored state was committed. */
  timestamp: Date;
}

/**
 * Plans a restore (Litestream's CalcRestorePlan, improved): the newest base that can
 * reach the target, extended greedily into a contiguous chain. Lists every level; with
 * a timestamp target it reads each file's stored timestamp (`useMetadata`).
 * Throws ReplicaError "no-backup", "non-contiguous" or "txid-not-available" with the gap.
 */
export async function planRestore(client: ReplicaClient, target: RestoreTarget = {}, options: { signal?: AbortSignal } = {}): Promise<RestorePlan> {
  checkTarget(target);
  const levels = await listLevels(client, ALL_LEVELS, { useMetadata: target.timestamp !== undefined, signal: options.signal });
  return planFromFiles(levels.flat(), target, client.location);
}

/**
 * The planner itself, over a listing of every level (pure; `planRestore` lists and
 * calls it). `where` names the replica in errors.
 *
 * The base is the newest file with MinTXID 1 at any level (a level-9 snapshot, or the
 * first file of a lower level) allowed by the target. From it the chain grows by the
 * file that starts at or before the next TXID and reaches furthest, never past the
 * target (ties: lower MinTXID, then higher level); growing greedily reaches every TXID
 * any chain could. A snapshot thereby bridges a gap left in lower levels at its TXID,
 * and a target below that snapshot uses an older base.
 */
export function planFromFiles(files: readonly LtxFileInfo[], target: RestoreTarget = {}, where = "the replica"): RestorePlan {
  checkTarget(target);
  if (files.length === 0) throw new ReplicaError("no-backup", `no LTX files in ${where}: nothing to restore`);
  const planner = new Planner(files, target, where);
  return planner.plan();
}

/** One chain grown from a base. */
interface Chain {
  files: LtxFileInfo[];
  txid: number;
}

class Planner {
  private readonly highest: number;
  /** Files allowed by the time target (all of them without one). */
  private readonly inTime: LtxFileInfo[];
  /** Files of levels 0…8 allowed by the time target, by MinTXID. */
  private readonly links: LtxFileInfo[];

  constructor(
    private readonly files: readonly LtxFileInfo[],
    private readonly target: RestoreTarget,
    private readonly where: string,
  ) {
    this.highest = highestTXID(files);
    const time = target.timestamp?.getTime();
    this.inTime = time === undefined ? [...files] : files.filter((f) => f.createdAt.getTime() <= time);
    this.links = this.inTime.filter((f) => f.level < SNAPSHOT_LEVEL).sort((a, b) => a.minTXID - b.minTXID || a.maxTXID - b.maxTXID);
  }

  plan(): RestorePlan {
    const { txid, timestamp } = this.target;
    if (txid !== undefined && txid > this.highest) {
      throw new ReplicaError("txid-not-available", `TXID ${formatTxid(txid)} is not available: the highest TXID in ${this.where} is ${formatTxid(this.highest)}`);
    }
    const limit = txid ?? Infinity;
    // The newest base is enough: a chain from an older base that gets past it uses a file
    // starting at or before its TXID + 1, which the newest base's chain could take as well.
    const base = this.inTime
      .filter((f) => f.minTXID === 1 && f.maxTXID <= limit)
      .reduce<LtxFileInfo | undefined>((a, f) => (a === undefined || f.maxTXID > a.maxTXID || (f.maxTXID === a.maxTXID && f.level > a.level) ? f : a), undefined);
    if (base === undefined) throw this.noBase();
    const chain = this.grow(base, limit);
    // The goal: exactly the target TXID, the replica's highest TXID, or (timestamp) as far as the chain gets.
    const goal = txid ?? (timestamp === undefined ? this.highest : undefined);
    if (goal !== undefined && chain.txid !== goal) throw this.unreachable(chain, goal);
    return { files: chain.files, txid: chain.txid, timestamp: chain.files[chain.files.length - 1]!.createdAt };
  }

  /** The greedy chain from `base` over files ending at or before `limit`. */
  private grow(base: LtxFileInfo, limit: number): Chain {
    const files = [base];
    let txid = base.maxTXID;
    let i = 0;
    // Files that became eligible at an earlier step end at or before the TXID that step
    // reached (the step took the furthest), so each step only looks at newly eligible ones.
    for (;;) {
      let next: LtxFileInfo | undefined;
      for (; i < this.links.length && this.links[i]!.minTXID <= txid + 1; i++) {
        const f = this.links[i]!;
        if (f.maxTXID <= txid || f.maxTXID > limit) continue;
        if (next === undefined || better(f, next)) next = f;
      }
      if (next === undefined) return { files, txid };
      files.push(next);
      txid = next.maxTXID;
    }
  }

  private noBase(): ReplicaError {
    const { txid, timestamp } = this.target;
    const allBases = this.files.filter((f) => f.minTXID === 1);
    if (allBases.length === 0) {
      const first = Math.min(...this.files.map((f) => f.minTXID));
      const code = txid === undefined && timestamp === undefined ? "non-contiguous" : "txid-not-available";
      return new ReplicaError(code, `no file in ${this.where} starts at TXID 1 (no snapshot): TXIDs 1…${formatTxid(first - 1)} are missing (${this.levelSummary()})`);
    }
    if (timestamp !== undefined) {
      const earliest = new Date(Math.min(...allBases.map((f) => f.createdAt.getTime())));
      return new ReplicaError(
        "txid-not-available",
        `nothing in ${this.where} was committed at or before ${timestamp.toISOString()}: the earliest restorable time is ${earliest.toISOString()}`,
      );
    }
    const oldest = Math.min(...allBases.map((f) => f.maxTXID));
    return new ReplicaError(
      "txid-not-available",
      `TXID ${formatTxid(txid!)} is not available: the oldest snapshot (file starting at TXID 1) in ${this.where} ends at TXID ${formatTxid(oldest)}`,
    );
  }

  /** Why the best chain stops short of `goal`: a gap, or files that only reach past a TXID target. */
  private unreachable(best: Chain, goal: number): ReplicaError {
    const from = best.txid;
    const last = best.files[best.files.length - 1]!;
    const reached = `the chain from ${fileLabel(best.files[0]!)} reaches TXID ${formatTxid(from)} (${fileLabel(last)})`;
    const straddling = this.links.filter((f) => f.minTXID <= from + 1 && f.maxTXID > from);
    if (this.target.txid !== undefined && straddling.length > 0) {
      const names = straddling.slice(0, 3).map(fileLabel).join(", ");
      return new ReplicaError(
        "txid-not-available",
        `TXID ${formatTxid(goal)} is not available in ${this.where}: ${reached}; the files that continue it end after the target (${names})`,
      );
    }
    const after = this.inTime.filter((f) => f.minTXID > from + 1).map((f) => f.minTXID);
    const gap = after.length > 0 ? `TXIDs ${formatTxid(from + 1)}…${formatTxid(Math.min(...after) - 1)} are missing` : `no file contains TXID ${formatTxid(from + 1)}`;
    const message = `${reached}; ${gap} (${this.levelSummary()})`;
    if (this.target.txid !== undefined) return new ReplicaError("txid-not-available", `TXID ${formatTxid(goal)} is not available in ${this.where}: ${message}`);
    return new ReplicaError("non-contiguous", `cannot restore the highest TXID ${formatTxid(goal)} of ${this.where}: ${message}`);
  }

  /** "levels listed 0–9; files in level 0: 12 (TXIDs …), …" for error messages. */
  private levelSummary(): string {
    const byLevel = new Map<number, LtxFileInfo[]>();
    for (const f of this.files) byLevel.set(f.level, [...(byLevel.get(f.level) ?? []), f]);
    const parts = [...byLevel.entries()]
      .sort(([a], [b]) => a - b)
      .map(
        ([level, fs]) =>
          `level ${level}: ${fs.length} file${fs.length === 1 ? "" : "s"}, TXIDs ${formatTxid(Math.min(...fs.map((f) => f.minTXID)))}…${formatTxid(highestTXID(fs))}`,
      );
    const time = this.target.timestamp === undefined ? "" : `, only files at or before ${this.target.timestamp.toISOString()} used`;
    return `listed levels 0–${SNAPSHOT_LEVEL}; ${parts.join("; ")}${time}`;
  }
}

/** Prefers the file reaching furthest, then the one starting earlier, then the higher level. */
function better(a: LtxFileInfo, b: LtxFileInfo): boolean {
  if (a.maxTXID !== b.maxTXID) return a.maxTXID > b.maxTXID;
  if (a.minTXID !== b.minTXID) return a.minTXID < b.minTXID;
  return a.level > b.level;
}

function checkTarget(target: RestoreTarget): void {
  if (target.txid !== undefined && target.timestamp !== undefined) {
    throw new ReplicaError("invalid-config", "a restore target is a TXID or a timestamp, not both");
  }
  if (target.txid !== undefined && !(Number.isSafeInteger(target.txid) && target.txid >= 1)) {
    throw new ReplicaError("invalid-config", `invalid target TXID ${String(target.txid)}: a positive integer is needed`);
  }
  if (target.timestamp !== undefined && !(target.timestamp instanceof Date && Number.isFinite(target.timestamp.getTime()))) {
    throw new ReplicaError("invalid-config", `invalid target timestamp ${String(target.timestamp)}`);
  }
}
