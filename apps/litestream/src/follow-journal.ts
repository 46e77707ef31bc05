/**
 * SQLite's rollback journal, written by `restore -f` before it changes the followed copy in
 * place: a crash mid-batch leaves a hot journal that the next SQLite connection plays back.
 */
import { randomBytes } from "node:crypto";

/** The eight bytes every rollback journal starts with (SQLite file format §4.1). */
const JOURNAL_MAGIC = Uint8Array.of(0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7);

/** The journal header's size on disk; SQLite reads it back from the header itself. */
export const JOURNAL_SECTOR_SIZE = 4096;

/** One page as it was before the batch, to be written back on rollback. */
export interface JournalPage {
  pgno: number;
  data: Uint8Array;
}

/**
 * The bytes of a rollback journal holding `pages` (their content before the change) for
 * a database of `dbPages` pages of `pageSize` bytes: header (magic, record count, checksum
 * nonce, original size in pages, sector size, page size) padded to a sector, then per page
 * its number, its bytes and SQLite's sampled checksum (nonce plus every 200th byte from the end).
 */
export function encodeJournal(pages: readonly JournalPage[], dbPages: number, pageSize: number): Uint8Array {
  const recordSize = 4 + pageSize + 4;
  const out = new Uint8Array(JOURNAL_SECTOR_SIZE + pages.length * recordSize);
  const view = new DataView(out.buffer);
  const nonce = randomBytes(4).readUInt32BE(0);
  out.set(JOURNAL_MAGIC, 0);
  view.setUint32(8, pages.length);
  view.setUint32(12, nonce);
  view.setUint32(16, dbPages);
  view.setUint32(20, JOURNAL_SECTOR_SIZE);
  view.setUint32(24, pageSize);
  let at = JOURNAL_SECTOR_SIZE;
  for (const { pgno, data } of pages) {
    if (data.length !== pageSize) throw new RangeError(`journal page ${pgno} has ${data.length} bytes, expected ${pageSize}`);
    view.setUint32(at, pgno);
    out.set(data, at + 4);
    view.setUint32(at + 4 + pageSize, journalChecksum(nonce, data));
    at += recordSize;
  }
  return out;
}

/** SQLite's page checksum in a journal record: the nonce plus bytes pageSize−200, −400, … (>0), mod 2³². */
export function journalChecksum(nonce: number, data: Uint8Array): number {
  let sum = nonce;
  for (let i = data.length - 200; i > 0; i -= 200) sum = (sum + data[i]!) >>> 0;
  return sum >>> 0;
}
