/** `ltx checksum`: prints the LTX database checksum of a SQLite file, to compare a database with a replica's position. */
import { parseArgs } from "node:util";
import { open } from "node:fs/promises";
import { DatabaseChecksum, formatChecksum, pageChecksum } from "../../checksum.js";
import { usageErrors, UsageError, type Output } from "../cli.js";
import { databasePageCount, databasePages, readDatabasePageSize } from "../sqlite-file.js";

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
    const sum = new DatabaseChecksum();
    for await (const { pgno, data } of databasePages(handle, path, pageSize, commit)) sum.add(pageChecksum(pgno, data));
    out.line(formatChecksum(sum.value));
    return 0;
  } finally {
    await handle.close();
  }
}
