/** `ltx dump`: prints one LTX file's header, pages, page index and trailer (text or JSON), verifying it on the way; and the `--format` option. */
import { parseArgs } from "node:util";
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { formatChecksum, pageChecksum } from "../../checksum.js";
import { LtxReader } from "../../decoder.js";
import { formatTxid } from "../../filename.js";
import { hasPageIndex, LTX_FORMATS, type LtxFormat } from "../../format.js";
import { readPageIndex, type PageIndexEntry } from "../../page-index.js";
import { formatTimestamp, headerJson, usageErrors, UsageError, type Output } from "../cli.js";
import { fileReadAt } from "../file-range.js";

export const dumpUsage = "ltx dump [--json] [--format <layout>] [--lenient] <file.ltx>";

/** The layout named by `--format`, if any. */
export function layoutOption(text: string | undefined): LtxFormat | undefined {
  if (text === undefined) return undefined;
  if (!(LTX_FORMATS as readonly string[]).includes(text)) throw new UsageError(`--format must be one of ${LTX_FORMATS.join(", ")}, got ${text}`);
  return text as LtxFormat;
}

/** Prints a file's header, pages (with checksums), page index and trailer, verifying it on the way. */
export async function dump(args: string[], out: Output): Promise<number> {
  const { values, positionals } = usageErrors(() =>
    parseArgs({ args, options: { json: { type: "boolean" }, format: { type: "string" }, lenient: { type: "boolean" } }, allowPositionals: true, strict: true }),
  );
  if (positionals.length !== 1) throw new UsageError("dump takes exactly one file");
  const path = positionals[0]!;
  const reader = new LtxReader(createReadStream(path), { file: path, format: layoutOption(values.format), strict: !values.lenient });
  const header = await reader.header();
  const format = await reader.format();
  const json = values.json === true;
  if (!json) {
    out.line(`file:        ${path} (${format})`);
    out.line(`flags:       0x${header.flags.toString(16).padStart(8, "0")}`);
    out.line(`page size:   ${header.pageSize}`);
    out.line(`commit:      ${header.commit}`);
    out.line(`min txid:    ${formatTxid(header.minTXID)} (${header.minTXID})`);
    out.line(`max txid:    ${formatTxid(header.maxTXID)} (${header.maxTXID})`);
    out.line(`timestamp:   ${formatTimestamp(header.timestamp)} (${header.timestamp})`);
    out.line(`pre-apply:   ${formatChecksum(header.preApplyChecksum)}`);
    out.line(`wal:         offset ${header.walOffset}, size ${header.walSize}, salts ${hex32(header.walSalt1)} ${hex32(header.walSalt2)}`);
    out.line(`node id:     ${formatChecksum(header.nodeID)}`);
    out.line("");
    out.line(`pages:       pgno       checksum          offset      size`);
  }
  const pages: Record<string, unknown>[] = [];
  for await (const page of reader) {
    const checksum = formatChecksum(pageChecksum(page.pgno, page.data));
    if (json) pages.push({ pgno: page.pgno, checksum, offset: page.offset, size: page.size });
    else out.line(`             ${String(page.pgno).padEnd(10)} ${checksum}  ${String(page.offset).padEnd(11)} ${page.size}`);
  }
  const summary = await reader.finish();
  let index: PageIndexEntry[] | undefined;
  if (hasPageIndex(format)) {
    const handle = await open(path);
    try {
      index = (await readPageIndex(fileReadAt(handle), summary.size, { file: path })).entries;
    } finally {
      await handle.close();
    }
  }
  const trailer = { postApplyChecksum: formatChecksum(summary.trailer.postApplyChecksum), fileChecksum: formatChecksum(summary.trailer.fileChecksum) };
  if (json) {
    out.line(JSON.stringify({ file: path, format, size: summary.size, header: headerJson(header), pages, pageIndex: index ?? null, trailer }, null, 2));
    return 0;
  }
  out.line("");
  if (index === undefined) out.line("page index:  none (v1)");
  else {
    out.line(`page index:  ${index.length} entries, ${summary.pageIndexSize} bytes`);
    for (const e of index) out.line(`             pgno ${e.pgno} offset ${e.offset} size ${e.size}`);
  }
  out.line("");
  out.line(`post-apply:  ${trailer.postApplyChecksum}`);
  out.line(`file:        ${trailer.fileChecksum} (verified)`);
  out.line(`size:        ${summary.size} bytes`);
  return 0;
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, "0");
}
