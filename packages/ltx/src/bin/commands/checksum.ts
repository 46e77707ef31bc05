import { parseArgs } from "node:util";
import { open } from "node:fs/promises";
import { DatabaseChecksum, formatChecksum, lockPgno, pageChecksum } from "../../checksum.js";
import { usageErrors, UsageError, type Output } from "../cli.js";
import { databasePageCount, readDatabasePage, readDatabasePageSize } from "../sqlite-file.js";

export const checksumUsage = "ltx checksum <database>";

/** Prints the LTX database checksum of a SQLite file (page size from its header, lock page skipped). */
export async function checksum(args: string[], out: Output): Promise<number> {
  const { positionals } = usageErrors(() => parseArgs({ args, options: {}, allowPositionals: true, strict: true }));
  if (positionals.length !== 1) throw new UsageError("checksum takes exactly one database");
  const path = positionals[0]!;
  const handle = await open(path);
  try {
    const pageSize = await readDatabasePageSize(handle, path);
    const commit = await databasePageCount(handle, path, pageSize);
    const lock = lockPgno(pageSize);
    const sum = new DatabaseChecksum();
    for (let pgno = 1; pgno <= commit; pgno++) {
      if (pgno !== lock) sum.add(pageChecksum(pgno, await readDatabasePage(handle, path, pgno, pageSize)));
    }
    out.line(formatChecksum(sum.value));
    return 0;
  } finally {
    await handle.close();
  }
}
