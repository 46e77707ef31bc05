// Straightforward whole-buffer re-statements of SQLite's recovery and rollback rules,
// written independently of the streaming readers so the fuzz suite can compare them.

const be32 = (b: Uint8Array, at: number): number => (((b[at] ?? 0) << 24) | ((b[at + 1] ?? 0) << 16) | ((b[at + 2] ?? 0) << 8) | (b[at + 3] ?? 0)) >>> 0;
const le32 = (b: Uint8Array, at: number): number => (((b[at + 3] ?? 0) << 24) | ((b[at + 2] ?? 0) << 16) | ((b[at + 1] ?? 0) << 8) | (b[at] ?? 0)) >>> 0;
const pow2 = (n: number, lo: number, hi: number): boolean => n >= lo && n <= hi && (n & (n - 1)) === 0;

function sum(b: Uint8Array, from: number, to: number, big: boolean, s: [number, number]): [number, number] {
  const word = big ? be32 : le32;
  let [x, y] = s;
  for (let i = from; i < to; i += 8) {
    x = (x + word(b, i) + y) % 0x100000000;
    y = (y + word(b, i + 4) + x) % 0x100000000;
  }
  return [x, y];
}

export interface OracleTx {
  start: number;
  end: number;
  commit: number;
  pages: [number, number][];
  checksum: [number, number];
}

export type OracleWal = { header: false } | { header: true; pageSize: number; txs: OracleTx[]; stopOffset: number; stopReason: string; pending: number };

/** SQLite's walIndexRecover, over a whole WAL image. */
export function oracleWal(b: Uint8Array): OracleWal {
  if (b.length < 32) return { header: false };
  const magic = be32(b, 0);
  if (magic !== 0x377f0682 && magic !== 0x377f0683) return { header: false };
  const big = magic === 0x377f0683;
  const pageSize = be32(b, 8);
  if (be32(b, 4) !== 3007000 || !pow2(pageSize, 512, 65536)) return { header: false };
  let s = sum(b, 0, 24, big, [0, 0]);
  if (s[0] !== be32(b, 24) || s[1] !== be32(b, 28)) return { header: false };
  const frameSize = pageSize + 24;
  const txs: OracleTx[] = [];
  let pages = new Map<number, number>();
  let start = 32;
  let off = 32;
  let frames = 0;
  let stopReason = "end-of-file";
  for (; ; off += frameSize) {
    if (off + frameSize > b.length) {
      stopReason = off === b.length ? "end-of-file" : "partial-frame";
      break;
    }
    if (be32(b, off + 8) !== be32(b, 16) || be32(b, off + 12) !== be32(b, 20)) {
      stopReason = "salt-mismatch";
      break;
    }
    const pgno = be32(b, off);
    if (pgno === 0) {
      stopReason = "invalid-page-number";
      break;
    }
    const next = sum(b, off + 24, off + frameSize, big, sum(b, off, off + 8, big, s));
    if (next[0] !== be32(b, off + 16) || next[1] !== be32(b, off + 20)) {
      stopReason = "checksum-mismatch";
      break;
    }
    s = next;
    pages.set(pgno, off);
    frames++;
    const commit = be32(b, off + 4);
    if (commit !== 0) {
      txs.push({ start, end: off + frameSize, commit, pages: [...pages].sort((x, y) => x[0] - y[0]), checksum: s });
      start = off + frameSize;
      pages = new Map();
      frames = 0;
    }
  }
  return { header: true, pageSize, txs, stopOffset: off, stopReason, pending: frames };
}

export type OracleJournal =
  | { ok: false } // the first header's sizes are corrupt: SQLite reports SQLITE_CORRUPT
  | { ok: true; hot: boolean; records: { offset: number; pgno: number }[]; skipped: number; stopOffset: number; stopReason: string };

const MAGIC = [0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7];

/** SQLite's pager_playback of a hot journal, over a whole journal image. */
export function oracleJournal(b: Uint8Array): OracleJournal {
  const magicAt = (at: number): boolean => MAGIC.every((m, i) => b[at + i] === m);
  const records: { offset: number; pgno: number }[] = [];
  let skipped = 0;
  const done = (stopOffset: number, stopReason: string, hot = true): OracleJournal => ({ ok: true, hot, records, skipped, stopOffset, stopReason });
  if (b.length < 28) return done(0, "end-of-file", false);
  if (!magicAt(0)) return done(0, "no-header", false);
  const pageSize = be32(b, 24);
  const sector = be32(b, 20);
  if (!pow2(pageSize, 512, 65536) || !pow2(sector, 32, 65536)) return { ok: false };
  if (sector > b.length) return done(0, "end-of-file", false);
  const initial = be32(b, 16);
  const lock = 0x40000000 / pageSize + 1;
  const recordSize = pageSize + 8;
  let hdr = 0;
  for (;;) {
    if (hdr !== 0) {
      hdr = Math.ceil(hdr / sector) * sector;
      if (hdr + sector > b.length) return done(hdr, "end-of-file");
      if (!magicAt(hdr)) return done(hdr, "no-header");
    }
    let n = be32(b, hdr + 8);
    const nonce = be32(b, hdr + 12);
    let off = hdr + sector;
    if (n === 0xffffffff) n = Math.floor((b.length - off) / recordSize);
    for (let i = 0; i < n; i++, off += recordSize) {
      if (off + 4 + pageSize > b.length) return done(off, off === b.length ? "end-of-file" : "partial-record");
      const pgno = be32(b, off);
      if (pgno === 0 || pgno === lock) return done(off, "invalid-page-number");
      if (pgno > initial) {
        skipped++;
        continue;
      }
      if (off + recordSize > b.length) return done(off, "partial-record");
      let c = nonce;
      for (let k = pageSize - 200; k > 0; k -= 200) c = (c + (b[off + 4 + k] ?? 0)) % 0x100000000;
      if (c !== be32(b, off + 4 + pageSize)) return done(off, "checksum-mismatch");
      records.push({ offset: off, pgno });
    }
    hdr = off;
  }
}
