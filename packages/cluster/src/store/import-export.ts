/**
 * A whole SQLite file in and out: an import becomes one new TXID carrying every page
 * (LiteFS's `litefs import`), an export is a consistent copy of one state (LiteFS's
 * `litefs export`), read from a view while commits go on.
 */
import { ClusterError } from "../errors.js";
import type { PageBuffer } from "./commit-pages.js";
import type { Database } from "./database.js";

const MAGIC = "SQLite format 3\0";

/** A SQLite database image as the pages of one transaction: page size from its header, every page. */
export function sqliteImage(bytes: Uint8Array, label = "the imported file"): PageBuffer & { pageSize: number; commit: number } {
  if (bytes.length < 100 || Buffer.from(bytes.subarray(0, 16)).toString("latin1") !== MAGIC) {
    throw new ClusterError("invalid-argument", `${label} is not a SQLite database (no "SQLite format 3" header)`);
  }
  const raw = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(16);
  const pageSize = raw === 1 ? 65536 : raw;
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) throw new ClusterError("invalid-argument", `${label}: page size ${raw} in its header is not valid`);
  if (bytes.length % pageSize !== 0) throw new ClusterError("invalid-argument", `${label}: ${bytes.length} bytes is not a whole number of ${pageSize}-byte pages`);
  const commit = bytes.length / pageSize;
  const pgnos = new Uint32Array(commit);
  for (let i = 0; i < commit; i++) pgnos[i] = i + 1;
  return { pageSize, commit, pgnos, data: bytes };
}

/** The bytes of the database as of now (a consistent view), 256 pages at a time. */
export async function* exportDatabaseBytes(db: Database): AsyncGenerator<Uint8Array> {
  const view = await db.openView();
  try {
    const chunk = 256;
    for (let first = 1; first <= view.commit; first += chunk) {
      const count = Math.min(chunk, view.commit - first + 1);
      const buf = new Uint8Array(count * view.pageSize);
      view.read(first, count, buf);
      yield buf;
    }
  } finally {
    view.release();
  }
}
