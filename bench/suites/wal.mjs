// @sqlrep/wal: scanning a real ~256 MiB WAL written by SQLite (every frame checksum
// verified), replaying it, and the same from the file through a ByteSource, next to a
// plain memory copy of the same bytes; then encoded WALs in both checksum byte orders
// at 4 and 64 KiB pages, and the rollback-journal reader.
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { encodeJournal, readJournalSync, replayWalSync, scanWalSync, WalEncoder } from "@sqlrep/wal";
import { bestTime, copyRate, mbps, MiB, rateCells, sizeLabel } from "../lib/measure.mjs";
import { realisticWal } from "../lib/sqlite-data.mjs";

export default async function run(bench) {
  const path = realisticWal(bench.cache, 256 * MiB, bench.log);
  const wal = new Uint8Array(readFileSync(path));
  const dst = new Uint8Array(wal.length);
  const copy = await copyRate(wal, dst, wal.length, { runs: 5 });
  const table = `real WAL from SQLite (better-sqlite3, 4 KiB pages, ${sizeLabel(wal.length)})`;
  bench.row(table, { what: "memory copy (Uint8Array.set, the reference)", ...rateCells(wal.length, copy.ms, copy.cpuMs, copy.mbps), runs: copy.runs });

  const scan = scanWalSync(wal);
  if (scan.stop.reason !== "end-of-file") throw new Error(`the WAL scan stopped early: ${scan.stop.reason} at ${scan.stop.offset}`);
  const frames = (wal.length - 32) / (scan.header.pageSize + 24);
  bench.note(`real WAL: ${frames} frames in ${scan.transactions.length} committed transactions, ${wal.length} bytes`);

  const fd = openSync(path, "r");
  try {
    const file = {
      size: wal.length,
      readAt(offset, length) {
        const buf = new Uint8Array(length);
        return buf.subarray(0, readSync(fd, buf, 0, length, offset));
      },
    };
    const cases = [
      ["scan in memory (scanWalSync, every checksum verified)", () => scanWalSync(wal)],
      ["scan from the file (ByteSource over readSync, 1 MiB reads)", () => scanWalSync(file)],
      [
        "replay in memory (replayWalSync: scan + every page read back)",
        () => {
          for (const _ of replayWalSync(wal));
        },
      ],
    ];
    for (const [what, fn] of cases) {
      const t = await bestTime(fn, { runs: 5 });
      bench.row(table, { what, ...rateCells(wal.length, t.ms, t.cpuMs, copy.mbps), runs: t.runs });
    }
  } finally {
    closeSync(fd);
  }

  await encodedWals(bench);
  await journal(bench);
}

/** A WAL of `totalBytes` written by WalEncoder: one page content, a commit every 10 frames. */
function encodedWal(pageSize, bigEndian, totalBytes) {
  const encoder = new WalEncoder({ pageSize, salt1: 1, salt2: 2, bigEndian });
  const frames = Math.floor(totalBytes / (pageSize + 24) / 10) * 10; // ends on a commit
  const out = new Uint8Array(32 + frames * (pageSize + 24));
  out.set(encoder.headerBytes);
  const page = new Uint8Array(pageSize).map((_, i) => (i * 31) & 0xff);
  for (let i = 0; i < frames; i++) out.set(encoder.frame(1 + (i % 5000), page, i % 10 === 9 ? 5000 : 0), 32 + i * (pageSize + 24));
  return out;
}

async function encodedWals(bench) {
  const table = "encoded WALs (WalEncoder, 64 MiB, a commit every 10 frames), in memory";
  for (const pageSize of [4096, 65536]) {
    for (const bigEndian of [false, true]) {
      const wal = encodedWal(pageSize, bigEndian, 64 * MiB);
      const copy = await copyRate(wal, new Uint8Array(wal.length), wal.length, { runs: 5 });
      const scan = await bestTime(() => scanWalSync(wal), { runs: 5 });
      const replay = await bestTime(
        () => {
          for (const _ of replayWalSync(wal));
        },
        { runs: 5 },
      );
      const scanRate = mbps(wal.length, scan.ms);
      bench.row(table, {
        page: pageSize,
        "checksum order": bigEndian ? "big-endian" : "little-endian",
        "scan MB/s": scanRate,
        "× copy": scanRate / copy.mbps,
        "replay MB/s": mbps(wal.length, replay.ms),
        "copy MB/s": copy.mbps,
        runs: scan.runs,
      });
    }
  }
}

async function journal(bench) {
  const pageSize = 4096;
  const page = new Uint8Array(pageSize).fill(7);
  const records = Array.from({ length: 16384 }, (_, i) => ({ pgno: 1 + i, data: page }));
  const bytes = encodeJournal({ pageSize, initialPages: 20000, segments: [{ records: records.slice(0, 8192) }, { records: records.slice(8192) }] });
  const copy = await copyRate(bytes, new Uint8Array(bytes.length), bytes.length, { runs: 5 });
  const t = await bestTime(
    () => {
      for (const _ of readJournalSync(bytes));
    },
    { runs: 5 },
  );
  const rate = mbps(bytes.length, t.ms);
  bench.row("rollback journal (encodeJournal, 4 KiB pages, two header blocks), in memory", {
    size: sizeLabel(bytes.length),
    "read MB/s": rate,
    "× copy": rate / copy.mbps,
    "copy MB/s": copy.mbps,
    runs: t.runs,
  });
}
