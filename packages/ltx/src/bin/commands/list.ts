/** `ltx list`: lists a directory's LTX files in TXID order and says where the chain has a gap or overlap. */
import { parseArgs } from "node:util";
import { open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { HEADER_SIZE } from "../../format.js";
import { formatTxid, isLtxFilename, parseFilename } from "../../filename.js";
import { decodeHeader } from "../../header.js";
import { formatTimestamp, usageErrors, UsageError, type Output } from "../cli.js";

export const listUsage = "ltx list [--json] <directory>";

interface Row {
  name: string;
  minTXID: number;
  maxTXID: number;
  size: number;
  timestamp: string | null;
  commit: number | null;
  /** How this file follows the previous one: "start", "ok", "gap", "overlap". */
  follows: string;
  error?: string;
}

/**
 * Lists the LTX files of a directory in TXID order with their ranges, sizes,
 * header timestamps and whether each follows the previous one. Exit 1 when a
 * header cannot be read or the TXIDs are not contiguous.
 */
export async function list(args: string[], out: Output): Promise<number> {
  const { values, positionals } = usageErrors(() => parseArgs({ args, options: { json: { type: "boolean" } }, allowPositionals: true, strict: true }));
  if (positionals.length !== 1) throw new UsageError("list takes exactly one directory");
  const dir = positionals[0]!;
  const names = (await readdir(dir)).filter(isLtxFilename);
  const rows: Row[] = [];
  for (const name of names) {
    const range = parseFilename(name);
    const handle = await open(join(dir, name));
    try {
      const size = (await handle.stat()).size;
      const head = new Uint8Array(HEADER_SIZE);
      const { bytesRead } = await handle.read(head, 0, HEADER_SIZE, 0);
      const row: Row = { name, ...range, size, timestamp: null, commit: null, follows: "" };
      try {
        const header = decodeHeader(head.subarray(0, bytesRead), { file: name, strict: false });
        row.timestamp = formatTimestamp(header.timestamp);
        row.commit = header.commit;
        if (header.minTXID !== range.minTXID || header.maxTXID !== range.maxTXID) row.error = "header TXIDs differ from the name";
      } catch (err) {
        row.error = (err as Error).message;
      }
      rows.push(row);
    } finally {
      await handle.close();
    }
  }
  rows.sort((a, b) => a.minTXID - b.minTXID || a.maxTXID - b.maxTXID);
  let faults = rows.filter((r) => r.error !== undefined).length;
  rows.forEach((row, i) => {
    const prev = rows[i - 1];
    row.follows = prev === undefined ? "start" : row.minTXID === prev.maxTXID + 1 ? "ok" : row.minTXID > prev.maxTXID + 1 ? "gap" : "overlap";
    if (row.follows === "gap" || row.follows === "overlap") faults++;
  });
  if (values.json) {
    out.line(
      JSON.stringify(
        rows.map((r) => ({ ...r, minTXID: formatTxid(r.minTXID), maxTXID: formatTxid(r.maxTXID) })),
        null,
        2,
      ),
    );
  } else {
    out.line(`${"name".padEnd(38)} ${"min txid".padEnd(16)} ${"max txid".padEnd(16)} ${"size".padStart(10)}  ${"timestamp".padEnd(24)} follows`);
    for (const r of rows) {
      out.line(
        `${r.name.padEnd(38)} ${formatTxid(r.minTXID)} ${formatTxid(r.maxTXID)} ${String(r.size).padStart(10)}  ${(r.timestamp ?? "?").padEnd(24)} ${r.follows}${r.error ? ` (${r.error})` : ""}`,
      );
    }
    out.line(`${rows.length} files${faults === 0 ? ", contiguous" : `, ${faults} problem(s)`}`);
  }
  return faults === 0 ? 0 : 1;
}
