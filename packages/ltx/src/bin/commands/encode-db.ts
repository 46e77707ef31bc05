/** `ltx encode-db`: writes a SQLite database file as an LTX snapshot in a chosen layout, with database checksums. */
import { parseArgs } from "node:util";
import { open, rename, rm } from "node:fs/promises";
import { formatChecksum } from "../../checksum.js";
import { LtxEncoder } from "../../encoder.js";
import { formatTxid } from "../../filename.js";
import type { LtxFormat } from "../../format.js";
import { usageErrors, positiveInteger, UsageError, type Output } from "../cli.js";
import { databasePageCount, databasePages, readDatabasePageSize } from "../sqlite-file.js";

export const encodeDbUsage = "ltx encode-db <database> -o <out.ltx> [--format v3|v1|v1-lz4] [--txid <n>] [--timestamp <ms>]";

const FORMATS: Record<string, LtxFormat> = { v3: "v3-block", "v3-block": "v3-block", v1: "v1", "v1-lz4": "v1-lz4" };

/** Writes a snapshot (TXID 1…`--txid`) of a SQLite database file, with database checksums. */
export async function encodeDb(args: string[], out: Output): Promise<number> {
  const { values, positionals } = usageErrors(() =>
    parseArgs({
      args,
      options: {
        output: { type: "string", short: "o" },
        format: { type: "string" },
        txid: { type: "string" },
        timestamp: { type: "string" },
      },
      allowPositionals: true,
      strict: true,
    }),
  );
  if (positionals.length !== 1) throw new UsageError("encode-db takes exactly one database");
  if (values.output === undefined) throw new UsageError("encode-db needs -o <out.ltx>");
  const format = FORMATS[values.format ?? "v3"];
  if (format === undefined) throw new UsageError(`--format must be v3, v1 or v1-lz4, got ${values.format}`);
  const maxTXID = values.txid === undefined ? 1 : positiveInteger(values.txid, "--txid");
  const timestamp = values.timestamp === undefined ? Date.now() : positiveInteger(values.timestamp, "--timestamp");
  const path = positionals[0]!;
  const target = values.output;
  const temp = `${target}.tmp`;
  const db = await open(path);
  const ltx = await open(temp, "w");
  try {
    const pageSize = await readDatabasePageSize(db, path);
    const commit = await databasePageCount(db, path, pageSize);
    const encoder = new LtxEncoder({ pageSize, commit, minTXID: 1, maxTXID, timestamp }, { format, file: target });
    // Output is gathered and written in ~1 MiB batches, not one write per page frame.
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async (): Promise<void> => {
      if (pending.length > 0) await ltx.writev(pending);
      pending = [];
      pendingBytes = 0;
    };
    const emit = async (chunks: Uint8Array[]): Promise<void> => {
      for (const chunk of chunks) {
        pending.push(chunk);
        pendingBytes += chunk.length;
      }
      if (pendingBytes >= 1 << 20) await flush();
    };
    for await (const { pgno, data } of databasePages(db, path, pageSize, commit)) await emit(encoder.writePage(pgno, data));
    await emit(encoder.finish());
    await flush();
    await ltx.sync();
    await ltx.close();
    await rename(temp, target);
    out.line(
      `wrote ${target}: ${format}, TXID ${formatTxid(1)}-${formatTxid(maxTXID)}, ${commit} pages of ${pageSize}, ${encoder.size} bytes, post-apply ${formatChecksum(encoder.trailer!.postApplyChecksum)}`,
    );
    return 0;
  } catch (err) {
    await ltx.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  } finally {
    await db.close();
  }
}
