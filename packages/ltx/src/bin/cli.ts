/** What the `ltx` bin's commands share: usage errors, the output sink, and the header and number formatting they print. */
import { formatChecksum } from "../checksum.js";
import { formatTxid } from "../filename.js";
import type { LtxHeader } from "../header.js";

/** Bad command-line arguments: the bin prints the usage and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Where a command writes (stdout; tests can capture it). */
export interface Output {
  line(text?: string): void;
}

export const stdout: Output = { line: (text = "") => void process.stdout.write(`${text}\n`) };

/** Runs an argument parser (`parseArgs`), turning its errors into `UsageError`. */
export function usageErrors<T>(parseArguments: () => T): T {
  try {
    return parseArguments();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** A header as JSON: TXIDs and checksums as 16 hex digits, the timestamp as RFC 3339 (spec §9.1). */
export function headerJson(h: LtxHeader): Record<string, unknown> {
  return {
    flags: h.flags,
    pageSize: h.pageSize,
    commit: h.commit,
    minTXID: formatTxid(h.minTXID),
    maxTXID: formatTxid(h.maxTXID),
    timestamp: formatTimestamp(h.timestamp),
    preApplyChecksum: formatChecksum(h.preApplyChecksum),
    walOffset: h.walOffset,
    walSize: h.walSize,
    walSalt1: h.walSalt1,
    walSalt2: h.walSalt2,
    nodeID: formatChecksum(h.nodeID),
  };
}

/** `2006-01-02T15:04:05.000Z`, or the raw number when out of Date's range. */
export function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

/** A positive safe integer from an option value. */
export function positiveInteger(text: string, name: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}
