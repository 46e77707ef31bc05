/** `ltx apply`: verifies LTX files in full, then applies them in order to a database file. */
import { parseArgs } from "node:util";
import { createReadStream } from "node:fs";
import { FilePageStore } from "@sqlrep/page-file";
import { applyLtx } from "../../apply.js";
import { LtxReader } from "../../decoder.js";
import { formatPos } from "../../pos.js";
import { usageErrors, UsageError, type Output } from "../cli.js";
import { layoutOption } from "./dump.js";

export const applyUsage = "ltx apply [--format <layout>] <database> <file.ltx>...";

/**
 * Applies LTX files in order to a database file (created if missing). Every file is
 * verified in full before the database is touched, so a corrupt file leaves it as it was.
 */
export async function apply(args: string[], out: Output): Promise<number> {
  const { values, positionals } = usageErrors(() => parseArgs({ args, options: { format: { type: "string" } }, allowPositionals: true, strict: true }));
  if (positionals.length < 2) throw new UsageError("apply takes a database and one or more LTX files");
  const [db, ...files] = positionals as [string, ...string[]];
  const format = layoutOption(values.format);
  for (const file of files) await new LtxReader(createReadStream(file), { file, format }).finish();
  const store = new FilePageStore(db);
  try {
    const pos = await applyLtx(
      store,
      files.map((file) => new LtxReader(createReadStream(file), { file, format })),
    );
    await store.sync();
    out.line(`applied ${files.length} file(s) to ${db}: position ${formatPos(pos)}`);
    return 0;
  } finally {
    await store.close();
  }
}
