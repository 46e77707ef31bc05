/** Reading a SQLite database file for the bin: its page size from the header, its page count, its pages in order without the lock page. */
import type { FileHandle } from "node:fs/promises";
import { LtxError } from "../errors.js";
import { isValidPageSize } from "../header.js";
import { lockPgno } from "../checksum.js";

const MAGIC = "SQLite format 3\0";

/** The page size in a SQLite database header (offset 16, u16 big-endian, 1 = 65536). */
export async function readDatabasePageSize(handle: FileHandle, path: string): Promise<number> {
  const head = new Uint8Array(100);
  const { bytesRead } = await handle.read(head, 0, 100, 0);
  if (bytesRead < 100 || new TextDecoder().decode(head.subarray(0, 16)) !== MAGIC) {
    throw new LtxError("invalid-argument", 'not a SQLite database (no "SQLite format 3" header)', { file: path, offset: 0 });
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

/** Bytes read per call when streaming a database: pages in bulk, not one syscall each. */
const READ_CHUNK = 4 << 20;

/**
 * Pages 1…commit of a database file in order, lock page skipped, read in 4 MiB chunks
 * (each page is a view into the chunk: use it before asking for the next chunk's pages).
 */
export async function* databasePages(handle: FileHandle, path: string, pageSize: number, commit: number): AsyncGenerator<{ pgno: number; data: Uint8Array }> {
  const lock = lockPgno(pageSize);
  const perChunk = Math.max(1, Math.floor(READ_CHUNK / pageSize));
  const buffer = new Uint8Array(perChunk * pageSize);
  for (let first = 1; first <= commit; first += perChunk) {
    const count = Math.min(perChunk, commit - first + 1);
    const length = count * pageSize;
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(buffer, done, length - done, (first - 1) * pageSize + done);
      if (bytesRead === 0) {
        const offset = (first - 1) * pageSize + done;
        throw new LtxError("truncated", `database ends inside page ${first + Math.floor(done / pageSize)}`, { file: path, offset });
      }
      done += bytesRead;
    }
    for (let i = 0; i < count; i++) {
      const pgno = first + i;
      if (pgno !== lock) yield { pgno, data: buffer.subarray(i * pageSize, (i + 1) * pageSize) };
    }
  }
}
