// @sqlrep/ltx: CRC-64, database checksum, LTX encode/decode (v1, v1-lz4, v3-block),
// compaction of 100 files and the LZ4 block codec, each next to a plain memory copy of
// the same size measured in the same run. Page data comes from a real SQLite database
// (bench/lib/sqlite-data.mjs). `--quick` stops at 256 MiB.
import { execFileSync } from "node:child_process";
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync, writeSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { compactLtx, crc64, DatabaseChecksum, encodeLtx, formatChecksum, lockPgno, LtxEncoder, LtxReader, pageChecksum } from "@sqlrep/ltx";
import { bestTime, collect, copyRate, cpuMs, GiB, mbps, MiB, nsPerByte, rateCells, Rng, RssPeak, sizeLabel } from "../lib/measure.mjs";
import { realisticDatabase } from "../lib/sqlite-data.mjs";

const PAGE = 4096;
const DB_BYTES = 256 * MiB;
const TIMESTAMP = 1_700_000_000_000;

export default async function run(bench) {
  const maxSize = bench.quick ? 256 * MiB : GiB;
  const dbPath = realisticDatabase(bench.cache, DB_BYTES, bench.log);
  // The first 256 MiB of the database's pages: the page data of every benchmark below
  // (larger sizes cycle through it with ascending page numbers).
  const pool = new Uint8Array(readFileSync(dbPath).subarray(0, DB_BYTES));
  const copy = await referenceAndCrc(bench, pool, maxSize);
  await databaseChecksum(bench, dbPath, copy);
  await codec(bench, pool, maxSize, copy);
  await compaction(bench, pool, copy);
  await lz4Blocks(bench, pool, copy);
}

/** How many timed runs a size gets (the best one counts): fewer as it grows. */
function runsFor(bytes) {
  return bytes <= MiB ? 20 : bytes <= 64 * MiB ? 3 : bytes <= 256 * MiB ? 2 : 1;
}

/** Memory copy at every size used (the reference), then CRC-64 over one buffer allocated once. */
async function referenceAndCrc(bench, pool, maxSize) {
  bench.log("memory copy and CRC-64");
  const src = new Uint8Array(maxSize);
  for (let o = 0; o < maxSize; o += pool.length) src.set(pool.subarray(0, Math.min(pool.length, maxSize - o)), o);
  const dst = new Uint8Array(maxSize);
  const sizes = [MiB, 16 * MiB, 64 * MiB, 256 * MiB, GiB].filter((s) => s <= maxSize);
  const copy = new Map();
  for (const size of sizes) {
    const t = await copyRate(src, dst, size, { runs: size >= 256 * MiB ? 3 : 5 });
    copy.set(size, t.mbps);
    bench.row("memory copy (Uint8Array.set, the reference)", { size: sizeLabel(size), ...rateCells(size, t.ms, t.cpuMs), runs: t.runs });
  }
  // JIT warm-up on the same code path before anything is timed.
  for (let i = 0; i < 8; i++) crc64(src.subarray(0, 16 * MiB));
  for (const size of [MiB, 16 * MiB, 256 * MiB, GiB].filter((s) => s <= maxSize)) {
    const data = src.subarray(0, size);
    const t = await bestTime(() => crc64(data), { runs: size >= 256 * MiB ? 3 : 5 });
    bench.row("CRC-64 (crc64 over one buffer)", crcRow(size, t, copy.get(size)));
  }
  // The shape every checksum in LTX has: a 4-byte page number, then one page.
  const pages = pool.subarray(0, 256 * MiB);
  const t = await bestTime(
    () => {
      for (let o = 0, pgno = 1; o < pages.length; o += PAGE, pgno++) pageChecksum(pgno, pages.subarray(o, o + PAGE));
    },
    { runs: 3 },
  );
  bench.row("CRC-64 (crc64 over one buffer)", { ...crcRow(pages.length, t, copy.get(256 * MiB)), size: "256 MiB as pageChecksum per 4 KiB" });
  return copy;
}

function crcRow(size, t, copyMbps) {
  return { size: sizeLabel(size), ...rateCells(size, t.ms, t.cpuMs, copyMbps), runs: t.runs };
}

/** The database checksum of the whole file from disk (page cache warm), library and bin. */
async function databaseChecksum(bench, dbPath, copy) {
  bench.log("database checksum");
  const table = "database checksum of a 256 MiB SQLite file (from disk, page cache warm)";
  const ref = copy.get(256 * MiB);
  const buf = new Uint8Array(MiB);
  let library;
  const t = await bestTime(
    () => {
      const fd = openSync(dbPath, "r");
      try {
        const size = fstatSync(fd).size;
        const lock = lockPgno(PAGE);
        const sum = new DatabaseChecksum();
        let pgno = 1;
        for (let pos = 0; pos < size; pos += buf.length) {
          const n = readSync(fd, buf, 0, buf.length, pos);
          for (let o = 0; o < n; o += PAGE, pgno++) if (pgno !== lock) sum.add(pageChecksum(pgno, buf.subarray(o, o + PAGE)));
        }
        library = formatChecksum(sum.value);
      } finally {
        closeSync(fd);
      }
    },
    { runs: 3 },
  );
  const size = statSync(dbPath).size;
  bench.row(table, { path: "library: 1 MiB reads, pageChecksum + DatabaseChecksum", MiB: size / MiB, ...rateCells(size, t.ms, t.cpuMs, ref), runs: t.runs });

  const ltxBin = join(dirname(createRequire(import.meta.url).resolve("@sqlrep/ltx/package.json")), "dist", "bin", "ltx.js");
  let printed;
  const b = await bestTime(() => (printed = execFileSync(process.execPath, [ltxBin, "checksum", dbPath], { encoding: "utf8" }).trim()), {
    runs: 2,
    warmup: 0,
  });
  // The CPU time is the bin's, a child process: not measured here.
  bench.row(table, { path: "`ltx checksum` bin: a read per page, process start included", MiB: size / MiB, ...rateCells(size, b.ms, undefined, ref), runs: b.runs });
  if (printed !== library) throw new Error(`ltx checksum printed ${printed}, the library computed ${library}`);
}

/**
 * Collects an encoder's output into a file through an 8 MiB staging buffer. The writes
 * are timed (wall and CPU) so the encoder's figures can leave them out; the copies into
 * the staging buffer stay in (a memory copy, well under 1% of any encoder's time).
 */
class FileSink {
  constructor(path) {
    this.fd = openSync(path, "w");
    this.stage = new Uint8Array(8 * MiB);
    this.used = 0;
    this.bytes = 0;
    this.ms = 0;
    this.cpuMs = 0;
  }

  write(chunks) {
    for (const c of chunks) {
      if (this.used + c.length > this.stage.length) this.flush();
      if (c.length > this.stage.length) this.timed(() => writeSync(this.fd, c));
      else {
        this.stage.set(c, this.used);
        this.used += c.length;
      }
      this.bytes += c.length;
    }
  }

  flush() {
    this.timed(() => writeSync(this.fd, this.stage, 0, this.used));
    this.used = 0;
  }

  timed(fn) {
    const t = performance.now();
    const c = cpuMs();
    fn();
    this.cpuMs += cpuMs() - c;
    this.ms += performance.now() - t;
  }

  close() {
    this.flush();
    closeSync(this.fd);
  }
}

/** Encodes a snapshot of `bytes` of page data to `path`; returns the encoder's own time and the file size. */
function encodeSnapshot(pool, bytes, format, path) {
  const pages = bytes / PAGE;
  const poolPages = pool.length / PAGE;
  const sink = new FileSink(path);
  const t = performance.now();
  const c = cpuMs();
  const encoder = new LtxEncoder({ pageSize: PAGE, commit: pages, minTXID: 1, maxTXID: 1, timestamp: TIMESTAMP }, { format });
  for (let i = 0; i < pages; i++) {
    const o = (i % poolPages) * PAGE;
    sink.write(encoder.writePage(i + 1, pool.subarray(o, o + PAGE)));
  }
  sink.write(encoder.finish());
  const ms = performance.now() - t - sink.ms;
  const cpu = cpuMs() - c - sink.cpuMs;
  sink.close();
  return { ms, cpuMs: cpu, fileBytes: sink.bytes };
}

/** Streams `path` through an LtxReader in 1 MiB chunks; returns the decoder's own time (reads excluded) and peak RSS. */
async function decodeFile(path, expectPages) {
  let readMs = 0;
  let readCpu = 0;
  const fd = openSync(path, "r");
  const size = fstatSync(fd).size;
  function* chunks() {
    for (let pos = 0; pos < size; pos += MiB) {
      const t = performance.now();
      const c = cpuMs();
      const buf = new Uint8Array(Math.min(MiB, size - pos));
      readSync(fd, buf, 0, buf.length, pos);
      readCpu += cpuMs() - c;
      readMs += performance.now() - t;
      yield buf;
    }
  }
  const rss = new RssPeak();
  try {
    const t = performance.now();
    const c = cpuMs();
    const reader = new LtxReader(chunks(), { file: path });
    let pages = 0;
    for await (const page of reader) {
      if ((++pages & 255) === 0) rss.sample();
      if (page.data.length !== PAGE) throw new Error("short page");
    }
    await reader.finish();
    const ms = performance.now() - t - readMs;
    const cpu = cpuMs() - c - readCpu;
    if (pages !== expectPages) throw new Error(`${path}: decoded ${pages} pages, expected ${expectPages}`);
    return { ms, cpuMs: cpu, rss: rss.result() };
  } finally {
    closeSync(fd);
  }
}

async function codec(bench, pool, maxSize, copy) {
  const sizes = [MiB, 64 * MiB, 256 * MiB, GiB].filter((s) => s <= maxSize);
  for (const format of ["v1", "v1-lz4", "v3-block"]) {
    bench.log(`encode and decode ${format}`);
    const path = join(bench.scratch, `snapshot-${format}.ltx`);
    // Warm-up: a few small files through both paths.
    for (let i = 0; i < 5; i++) {
      encodeSnapshot(pool, 4 * MiB, format, path);
      await decodeFile(path, (4 * MiB) / PAGE);
    }
    for (const size of sizes) {
      const runs = runsFor(size);
      const enc = { ms: Infinity, cpuMs: Infinity };
      let fileBytes = 0;
      collect();
      for (let r = 0; r < runs; r++) {
        const e = encodeSnapshot(pool, size, format, path);
        enc.ms = Math.min(enc.ms, e.ms);
        enc.cpuMs = Math.min(enc.cpuMs, e.cpuMs);
        fileBytes = e.fileBytes;
      }
      bench.row("LTX encode (snapshot of 4 KiB pages; MB/s of page data; file writes excluded)", {
        format,
        pages: sizeLabel(size),
        "file/pages": fileBytes / size,
        ...rateCells(size, enc.ms, enc.cpuMs, copy.get(size)),
        runs,
      });
      const dec = { ms: Infinity, cpuMs: Infinity };
      let rss;
      collect();
      for (let r = 0; r < runs; r++) {
        const d = await decodeFile(path, size / PAGE);
        dec.ms = Math.min(dec.ms, d.ms);
        dec.cpuMs = Math.min(dec.cpuMs, d.cpuMs);
        if (rss === undefined || d.rss.peak > rss.peak) rss = d.rss;
      }
      bench.row("LTX decode (LtxReader streaming 1 MiB chunks, every checksum verified; MB/s of page data; file reads excluded)", {
        format,
        pages: sizeLabel(size),
        ...rateCells(size, dec.ms, dec.cpuMs, copy.get(size)),
        "RSS peak MiB": rss.peak,
        "RSS growth MiB": rss.growth,
        runs,
      });
    }
  }
}

/**
 * A 64 MiB snapshot and 99 incremental files (48 rewritten pages each, a hot set among
 * them, the database growing by 16 pages every 10th file), v3-block, compacted into one.
 */
async function compaction(bench, pool, copy) {
  bench.log("compaction of 100 files");
  const rng = new Rng(100);
  const poolPages = pool.length / PAGE;
  const poolPage = (i) => pool.subarray(i * PAGE, (i + 1) * PAGE);
  let commit = 16384;
  const sums = [];
  for (let p = 1; p <= commit; p++) sums[p] = pageChecksum(p, poolPage(p - 1));
  const snapshot = encodeLtx(
    { pageSize: PAGE, commit, minTXID: 1, maxTXID: 1, timestamp: TIMESTAMP },
    Array.from({ length: commit }, (_, i) => ({ pgno: i + 1, data: poolPage(i) })),
  );
  const files = [snapshot];
  let pageBytes = commit * PAGE;
  const db = new DatabaseChecksum();
  for (let p = 1; p <= commit; p++) db.add(sums[p]);
  for (let txid = 2; txid <= 100; txid++) {
    const pre = db.value;
    const grown = txid % 10 === 0 ? commit + 16 : commit;
    const chosen = new Set();
    while (chosen.size < 48) chosen.add(1 + (rng.below(2) === 0 ? rng.below(256) : rng.below(commit)));
    for (let p = commit + 1; p <= grown; p++) chosen.add(p);
    commit = grown;
    const pages = [...chosen].sort((a, b) => a - b).map((pgno) => ({ pgno, data: poolPage(16384 + rng.below(poolPages - 16384)) }));
    for (const { pgno, data } of pages) {
      const sum = pageChecksum(pgno, data);
      if (sums[pgno] === undefined) db.add(sum);
      else db.replace(sums[pgno], sum);
      sums[pgno] = sum;
    }
    files.push(
      encodeLtx({ pageSize: PAGE, commit, minTXID: txid, maxTXID: txid, timestamp: TIMESTAMP + txid, preApplyChecksum: pre }, pages, {
        postApplyChecksum: db.value,
      }),
    );
    pageBytes += pages.length * PAGE;
  }
  const inBytes = files.reduce((n, f) => n + f.length, 0);
  let outBytes = 0;
  const t = await bestTime(
    async () => {
      outBytes = 0;
      for await (const chunk of compactLtx(files)) outBytes += chunk.length;
    },
    { runs: 3, warmup: 1 },
  );
  bench.row("compaction of 100 files (v3-block snapshot of 64 MiB + 99 incrementals → one v3-block snapshot, in memory)", {
    "in MiB": inBytes / MiB,
    "in pages MiB": pageBytes / MiB,
    "out MiB": outBytes / MiB,
    seconds: t.ms / 1000,
    "in MB/s": mbps(inBytes, t.ms),
    "out MB/s": mbps(outBytes, t.ms),
    "pages MB/s": mbps(pageBytes, t.ms),
    "pages MB/s cpu": mbps(pageBytes, t.cpuMs),
    "× copy": mbps(pageBytes, t.ms) / copy.get(64 * MiB),
    runs: t.runs,
  });
}

/**
 * The LZ4 codecs path by path, the JavaScript one (ltx's own, the port of the Go
 * reference's compressor) next to lz4-napi (native), on 64 MiB of the database's pages:
 * per-page blocks (1 KiB and 4 KiB pages), 64 KiB frame blocks, whole 4 MiB runs of
 * v3-block frames as a restore decodes them, LZ4 frames, lz4-napi's async calls
 * (libuv's threads) against its sync ones, and the package's addon decoding a run's
 * blocks in one call. MB/s of uncompressed data.
 */
async function lz4Blocks(bench, pool, copy) {
  bench.log("LZ4 codecs");
  const js = await import(join(bench.repo, "packages", "ltx", "dist", "lz4", "block.js"));
  const addon = await import(join(bench.repo, "packages", "ltx", "dist", "lz4", "addon.js"));
  const { lz4Backend } = await import("@sqlrep/ltx");
  const backend = lz4Backend();
  const napi = backend.codec === "native" ? createRequire(join(bench.repo, "packages", "ltx", "package.json"))("lz4-napi") : undefined;
  bench.note(
    `LZ4: the library's default codec here is ${backend.codec}${backend.reason ? ` (${backend.reason})` : ""}; blocks decode ${addon.lz4Addon().loaded ? "with the package's addon" : `without the package's addon (${addon.lz4Addon().reason})`}`,
  );
  const data = pool.subarray(0, 64 * MiB);
  const table = "LZ4 codecs, JavaScript and native (lz4-napi), 64 MiB of the database's pages (MB/s of uncompressed data)";
  const ref = copy.get(64 * MiB);
  const row = (path, codec, t, packed) => bench.row(table, { path, codec, "in/out": packed / data.length, ...rateCells(data.length, t.ms, t.cpuMs, ref), runs: t.runs });
  for (const size of [1024, 4096, 65536]) {
    const n = data.length / size;
    const piece = (i) => data.subarray(i * size, (i + 1) * size);
    const blocks = { js: new Array(n), native: new Array(n) };
    const compressors = { js: (p) => js.lz4CompressBlock(p), native: napi && ((p) => napi.compressSync(p).subarray(4)) };
    const label = size === 65536 ? "64 KiB blocks (frames)" : `${size / 1024} KiB page blocks`;
    for (const codec of ["js", "native"]) {
      const compress = compressors[codec];
      if (compress === undefined) continue;
      const t = await bestTime(
        () => {
          for (let i = 0; i < n; i++) blocks[codec][i] = compress(piece(i));
        },
        { runs: 3, warmup: 1 },
      );
      row(
        `compress, ${label}`,
        codec,
        t,
        blocks[codec].reduce((a, b) => a + b.length, 0),
      );
    }
    const out = new Uint8Array(size);
    const input = blocks.js;
    const jsDecode = () => {
      for (let i = 0; i < n; i++) if (js.decodeBlock(input[i], 0, input[i].length, out, 0, size, 0, 0, undefined) !== size) throw new Error("short block");
    };
    const packed = input.reduce((a, b) => a + b.length, 0);
    row(`decompress, ${label}`, "js", await bestTime(jsDecode, { runs: 3, warmup: 1 }), packed);
    if (addon.lz4Addon().loaded) {
      // The package's addon: the blocks of 4 MiB of output per call, laid end to end as in a run.
      const perCall = Math.max(1, (4 * MiB) / size);
      const calls = [];
      for (let first = 0; first < n; first += perCall) {
        const group = input.slice(first, first + perCall);
        const src = new Uint8Array(group.reduce((a, b) => a + b.length, 0));
        const pairs = new Int32Array(2 * group.length);
        let at = 0;
        group.forEach((b, i) => {
          src.set(b, at);
          pairs[2 * i] = at;
          pairs[2 * i + 1] = at += b.length;
        });
        calls.push({ src, pairs, count: group.length });
      }
      const dst = new Uint8Array(perCall * size);
      const batchDecode = () => {
        for (const c of calls) if (addon.decodeBlockBatch(c.src, c.pairs, 0, c.count, dst, size) !== c.count) throw new Error("batch refused a block");
      };
      row(`decompress, ${label}, ${perCall} blocks per call`, "addon (batch)", await bestTime(batchDecode, { runs: 3, warmup: 1 }), packed);
    }
    if (napi) {
      // lz4-napi as the library called it before the addon: a size prefix, one call and one Buffer per block.
      const withSize = input.map((b) => {
        const x = new Uint8Array(b.length + 4);
        new DataView(x.buffer).setUint32(0, size, true);
        x.set(b, 4);
        return x;
      });
      const nativeDecode = () => {
        for (let i = 0; i < n; i++) out.set(napi.uncompressSync(withSize[i]));
      };
      row(`decompress, ${label}`, "native", await bestTime(nativeDecode, { runs: 3, warmup: 1 }), packed);
      if (addon.lz4Addon().loaded) {
        const addonDecode = () => {
          for (let i = 0; i < n; i++) if (js.decodeBlockFast(input[i], 0, input[i].length, out, 0, size, 0, 0, undefined) !== size) throw new Error("short block");
        };
        row(`decompress, ${label}, one call per block (the library's per-page path)`, "addon", await bestTime(addonDecode, { runs: 3, warmup: 1 }), packed);
      }
      if (size === 4096) {
        // lz4-napi's async calls: every page in flight at once on libuv's threads (4).
        const prefixed = withSize;
        const t = await bestTime(
          async () => {
            await Promise.all(prefixed.map((b) => napi.uncompress(b)));
          },
          { runs: 3, warmup: 1 },
        );
        row(`decompress, ${label}, async (libuv threads, all in flight)`, "native", t, packed);
      }
    }
  }
  // Whole runs: decodeFrameRun over 4 MiB runs of v3-block frames (a restore's base), every page also hashed.
  const { decodeFrameRun, encodeLtx, LtxRunReader } = await import("@sqlrep/ltx");
  const file = encodeLtx({ pageSize: PAGE, commit: data.length / PAGE, minTXID: 1, maxTXID: 1, timestamp: TIMESTAMP }, pageList(data), { lz4: "js" });
  const runs = [];
  const reader = new LtxRunReader([file], { runBytes: 4 * MiB });
  await reader.header();
  for (let r = await reader.nextRun(); r !== undefined; r = await reader.nextRun()) runs.push(r);
  const runOut = new Uint8Array(1024 * PAGE);
  const runTime = await bestTime(
    () => {
      for (const r of runs) decodeFrameRun(r, { pageSize: PAGE, out: runOut });
    },
    { runs: 3, warmup: 1 },
  );
  row("decodeFrameRun, 4 MiB runs of v3-block frames (decompress + CRC-64 of every page)", addon.lz4Addon().loaded ? "addon (batch)" : backend.codec, runTime, file.length);
  // Frames of a whole buffer (v1-lz4 bodies, Litestream v0.3 objects): ltx's streaming frame codec.
  const { lz4DecodeFrame, lz4EncodeFrame } = await import("@sqlrep/ltx");
  for (const codec of napi ? ["js", "native"] : ["js"]) {
    let frame;
    const t = await bestTime(
      () => {
        frame = lz4EncodeFrame(data, { blockSize: 65536, codec });
      },
      { runs: 2, warmup: 1 },
    );
    row("lz4EncodeFrame, 64 KiB blocks, content checksum", codec, t, frame.length);
    const d = await bestTime(() => lz4DecodeFrame(frame), { runs: 2, warmup: 1 });
    row(`lz4DecodeFrame (of the ${codec}-compressed frame; decodes natively when it can)`, backend.codec, d, frame.length);
  }
  if (napi) {
    const buffer = Buffer.from(data.buffer, data.byteOffset, data.length);
    let frame;
    const t = await bestTime(
      () => {
        frame = napi.compressFrameSync(buffer);
      },
      { runs: 2, warmup: 1 },
    );
    row("lz4-napi compressFrameSync, whole 64 MiB in one call (not streaming)", "native", t, frame.length);
    row(
      "lz4-napi decompressFrameSync, whole 64 MiB in one call (not streaming)",
      "native",
      await bestTime(() => napi.decompressFrameSync(frame), { runs: 2, warmup: 1 }),
      frame.length,
    );
  }
}

function* pageList(data) {
  for (let i = 0; i < data.length / PAGE; i++) yield { pgno: i + 1, data: data.subarray(i * PAGE, (i + 1) * PAGE) };
}
