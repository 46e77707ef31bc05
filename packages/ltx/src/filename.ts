/** TXIDs as 16 hex digits and LTX file names `<min>-<max>.ltx` (spec §9.1), parsed strictly so stray files are never taken for LTX. */
import { LtxError } from "./errors.js";

const FILENAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.ltx$/;

/** A TXID as 16 lowercase hex digits, the form used in names, positions and JSON. */
export function formatTxid(txid: number): string {
  if (!Number.isSafeInteger(txid) || txid < 0) throw new LtxError("invalid-argument", `invalid transaction id ${txid}`);
  return txid.toString(16).padStart(16, "0");
}

/** Parses 16 lowercase hex digits; larger than Number.MAX_SAFE_INTEGER is `unsupported`. */
export function parseTxid(text: string): number {
  if (!/^[0-9a-f]{16}$/.test(text)) throw new LtxError("invalid-argument", `invalid transaction id ${JSON.stringify(text)}: want 16 lowercase hex digits`);
  const value = BigInt(`0x${text}`);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new LtxError("unsupported", `transaction id ${text} is beyond Number.MAX_SAFE_INTEGER`);
  return Number(value);
}

/** `<min>-<max>.ltx` with both TXIDs as 16 lowercase hex digits (spec §9.1). */
export function formatFilename(minTXID: number, maxTXID: number): string {
  return `${formatTxid(minTXID)}-${formatTxid(maxTXID)}.ltx`;
}

/**
 * The TXID range of an LTX file name; anything but exactly `%016x-%016x.ltx`
 * (uppercase, another length, another suffix, a path) is `invalid-filename`.
 */
export function parseFilename(name: string): { minTXID: number; maxTXID: number } {
  const m = FILENAME.exec(name);
  if (m === null) throw new LtxError("invalid-filename", `invalid LTX file name ${JSON.stringify(name)}: want <16 hex>-<16 hex>.ltx`, { file: name });
  try {
    return { minTXID: parseTxid(m[1]!), maxTXID: parseTxid(m[2]!) };
  } catch (err) {
    throw err instanceof LtxError ? err.withFile(name) : err;
  }
}

/** Whether `name` is an LTX file name (for listings that skip other files). */
export function isLtxFilename(name: string): boolean {
  return FILENAME.test(name);
}
