// Page 1 as the VFS shows it to SQLite: the database header rewritten so that SQLite
// treats the file as a rollback-journal database (it has no WAL to look at) and drops its
// page cache exactly when the version it reads changes.

/** Bytes of the SQLite database header. */
export const DB_HEADER_SIZE = 100;

/**
 * The header SQLite sees for a version: bytes 18–19 (file format write/read version) set
 * to 1 (rollback journal), the change counter (24–27) and version-valid-for (92–95) set
 * to `counter`, and the in-header page count (28–31) set to `commit`. SQLite compares
 * bytes 24–39 at the start of each read transaction and keeps its cache while they are
 * unchanged, so a counter that changes with the version (and only then) keeps warm
 * reads local.
 */
export function patchHeader(page1: Uint8Array, counter: number, commit: number): Uint8Array {
  const out = new Uint8Array(DB_HEADER_SIZE);
  out.set(page1.subarray(0, DB_HEADER_SIZE));
  const view = new DataView(out.buffer);
  out[18] = 1;
  out[19] = 1;
  view.setUint32(24, counter >>> 0);
  view.setUint32(28, commit >>> 0);
  view.setUint32(92, counter >>> 0);
  return out;
}

/** The page as SQLite must read it: a copy with the version's header in front. */
export function presentPageOne(page1: Uint8Array, header: Uint8Array): Uint8Array {
  const out = new Uint8Array(page1.length);
  out.set(page1);
  out.set(header.subarray(0, DB_HEADER_SIZE));
  return out;
}

/** The header of an empty database (no page 1 yet): zeros, which SQLite reads as "new". */
export function emptyHeader(): Uint8Array {
  return new Uint8Array(DB_HEADER_SIZE);
}
