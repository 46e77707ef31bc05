/** How the CLI prints and parses values as Litestream does: tabwriter tables, RFC 3339 times, sizes, `-txid` and `-timestamp`. */
import { formatTxid } from "@sqlrep/ltx";
import { FlagValueError } from "@sqlrep/runtime";

export { formatTxid };

/** Rows as columns padded like Go's tabwriter (min width 0, padding 2), as Litestream prints tables. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]! + 2))).join("") + "\n").join("");
}

/** RFC 3339 in UTC to the second, as Litestream prints times. */
export function formatTime(date: Date | undefined): string {
  return date === undefined ? "-" : date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** `1.5 MiB`-style sizes for humans. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A TXID given on the command line: hex, 1 to 16 digits, either case (`-txid 1f`, `-txid 000000000000001F`). */
export function parseTxidFlag(text: string): number {
  if (!/^(0x)?[0-9a-fA-F]{1,16}$/.test(text))
    throw new FlagValueError(`invalid -txid ${JSON.stringify(text)}: expected a transaction ID in hex, up to 16 digits (e.g. 000000000000002a)`);
  const value = BigInt(`0x${text.replace(/^0x/, "")}`);
  if (value === 0n) throw new FlagValueError(`invalid -txid ${text}: transaction IDs start at 1`);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new FlagValueError(`invalid -txid ${text}: beyond 2^53-1, the largest TXID sqlrep handles`);
  return Number(value);
}

/** A time given on the command line, strictly RFC 3339 (`2024-05-01T10:00:00Z`, offsets and fractions allowed). */
export function parseTimestampFlag(text: string): Date {
  const ok = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(text);
  const date = ok ? new Date(text.replace(/(\.\d{3})\d+/, "$1")) : undefined;
  if (!date || Number.isNaN(date.getTime())) throw new FlagValueError(`invalid -timestamp ${JSON.stringify(text)}: expected RFC 3339, e.g. 2024-05-01T10:00:00Z`);
  return date;
}
