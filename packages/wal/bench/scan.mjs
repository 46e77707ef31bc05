// Throughput of the WAL scanner (checksum verification included), WAL replay and the
// journal reader over in-memory images, next to a plain memory copy of the same bytes.
// Run after `pnpm --filter @sqlrep/wal build`: node packages/wal/bench/scan.mjs
import { encodeJournal, readJournalSync, replayWalSync, scanWalSync, WalEncoder } from "../dist/index.js";

const MiB = 1 << 20;
const rate = (bytes, ms) => `${((bytes / MiB) / (ms / 1000)).toFixed(0)} MB/s`;

function best(fn, runs = 5) {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    min = Math.min(min, performance.now() - t);
  }
  return min;
}

function makeWal(pageSize, bigEndian, totalBytes) {
  const encoder = new WalEncoder({ pageSize, salt1: 1, salt2: 2, bigEndian });
  const frames = Math.floor(totalBytes / (pageSize + 24));
  const out = new Uint8Array(32 + frames * (pageSize + 24));
  out.set(encoder.headerBytes);
  const page = new Uint8Array(pageSize).map((_, i) => (i * 31) & 0xff);
  for (let i = 0; i < frames; i++) out.set(encoder.frame(1 + (i % 5000), page, i % 10 === 9 ? 5000 : 0), 32 + i * (pageSize + 24));
  return out;
}

for (const pageSize of [4096, 65536]) {
  for (const bigEndian of [false, true]) {
    const wal = makeWal(pageSize, bigEndian, 64 * MiB);
    const copy = best(() => new Uint8Array(wal.length).set(wal));
    const scan = best(() => scanWalSync(wal));
    const replay = best(() => {
      for (const _ of replayWalSync(wal));
    });
    console.log(`WAL page ${pageSize} ${bigEndian ? "BE" : "LE"} ${(wal.length / MiB).toFixed(0)} MiB: scan ${rate(wal.length, scan)}, replay ${rate(wal.length, replay)}, memcpy ${rate(wal.length, copy)}`);
  }
}

const pageSize = 4096;
const page = new Uint8Array(pageSize).fill(7);
const records = Array.from({ length: 16384 }, (_, i) => ({ pgno: 1 + i, data: page }));
const journal = encodeJournal({ pageSize, initialPages: 20000, segments: [{ records: records.slice(0, 8192) }, { records: records.slice(8192) }] });
const read = best(() => {
  for (const _ of readJournalSync(journal));
});
console.log(`journal page ${pageSize} ${(journal.length / MiB).toFixed(0)} MiB: read ${rate(journal.length, read)}`);
