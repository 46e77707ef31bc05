import type { FileHandle } from "node:fs/promises";
import { LtxError } from "../errors.js";
import { isValidPageSize } from "../header.js";

const MAGIC = "SQLite format 3\0";

/** The page size in a SQLite database header (offset 16, u16 big-endian, 1 = 65536). */
export async function readDatabasePageSize(handle: FileHandle, path: string): Promise<number> {
  const head = new Uint8Array(100);
  const { bytesRead } = await handle.read(head, 0, 100, 0);
  if (bytesRead < 100 || new TextDecoder().decode(head.subarray(0, 16)) !== MAGIC) {
    throw new LtxError("invalid-argument", "not a SQLite database (no \"SQLite format 3\" header)", { file: path, offset: 0 });
  }
  const raw = (head[16]! << 8) | head[17]!;
  const pageSize = raw === 1 ? 65536 : raw;
  if (!isValidPageSize(pageSize)) throw new LtxError("invalid-page-size", `invalid SQLite page size ${raw}`, { file: path, offset: 16 });
  return pageSize;
}

/** The database's page count, checking that its size is a whole number of pages. */
export async function databasePageCount(handle: FileHandle, path: string, pageSize: number): Promise<number> {
  const { size } = await handle.stat();
  if (size % pageSize !== 0) {
    throw new LtxError("page-size-mismatch", `database size ${size} is not a multiple of its page size ${pageSize}`, { file: path, offset: size });
  }
  if (size / pageSize > 0xffffffff) throw new LtxError("unsupported", `database has more than 2^32-1 pages`, { file: path });
  return size / pageSize;
}

/** Reads page `pgno` (positioned read; a short file is an error). */
export async function readDatabasePage(handle: FileHandle, path: string, pgno: number, pageSize: number): Promise<Uint8Array> {
  const page = new Uint8Array(pageSize);
  let done = 0;
  while (done < pageSize) {
    const { bytesRead } = await handle.read(page, done, pageSize - done, (pgno - 1) * pageSize + done);
    if (bytesRead === 0) throw new LtxError("truncated", `database ends inside page ${pgno}`, { file: path, offset: (pgno - 1) * pageSize + done });
    done += bytesRead;
  }
  return page;
}
