/** `ltx verify`: fully decodes each file and prints ok or the failure; exit 0 only when every file is valid. */
import { parseArgs } from "node:util";
import { createReadStream } from "node:fs";
import { LtxReader } from "../../decoder.js";
import { formatTxid } from "../../filename.js";
import { usageErrors, UsageError, type Output } from "../cli.js";
import { layoutOption } from "./dump.js";

export const verifyUsage = "ltx verify [--format <layout>] [--lenient] <file.ltx>...";

/** Fully decodes each file; prints one line per file; 0 only when every file is valid. */
export async function verify(args: string[], out: Output, err: Output): Promise<number> {
  const { values, positionals } = usageErrors(() =>
    parseArgs({ args, options: { format: { type: "string" }, lenient: { type: "boolean" } }, allowPositionals: true, strict: true }),
  );
  if (positionals.length === 0) throw new UsageError("verify takes one or more files");
  const format = layoutOption(values.format);
  let failed = 0;
  for (const path of positionals) {
    try {
      const s = await new LtxReader(createReadStream(path), { file: path, format, strict: !values.lenient }).finish();
      out.line(`ok ${path}: ${s.format}, TXID ${formatTxid(s.header.minTXID)}-${formatTxid(s.header.maxTXID)}, ${s.pageCount} pages, ${s.size} bytes`);
    } catch (e) {
      failed++;
      err.line(`FAIL ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return failed === 0 ? 0 : 1;
}
