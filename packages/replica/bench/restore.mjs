// Restore throughput of @sqlrep/replica from a directory replica (run `pnpm build` first):
//   node --expose-gc bench/restore.mjs [database MiB = 200] [small files = 3000]
// PROFILE=1 adds a profiled first run and prints where its CPU time went.
// Builds a replica in a temp dir: a snapshot of the whole database at level 9, then
// small transactions (a few pages each) at level 0, compacted into level 1 every 100
// and level 1 into level 2 once; then restores it several ways and prints MB/s.
import { execSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir, cpus } from "node:os";
import { join } from "node:path";
import { LtxEncoder, DatabaseChecksum, pageChecksum } from "@sqlrep/ltx";
import { compactLevel, createFileReplicaClient, restore } from "../dist/index.js";

const MiB = 1024 * 1024;
const PAGE_SIZE = 4096;
const dbMiB = Number(process.argv[2] ?? 200);
const smallFiles = Number(process.argv[3] ?? 3000);
const pages = (dbMiB * MiB) / PAGE_SIZE;

/** A page that compresses about like a real one: half pseudo-random, half repetitive records. */
function page(pgno, version) {
  const data = new Uint8Array(PAGE_SIZE);
  const words = new Uint32Array(data.buffer, 0, PAGE_SIZE / 8);
  let x = (Math.imul(pgno, 0x9e3779b1) ^ Math.imul(version + 1, 0x85ebca6b)) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  const record = new TextEncoder().encode(`row ${pgno} v${version} name=user-${pgno % 977} status=active;`);
  for (let at = PAGE_SIZE / 2; at < PAGE_SIZE; at += record.length) data.set(record.subarray(0, Math.min(record.length, PAGE_SIZE - at)), at);
  return data;
}

const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "sqlrep-restore-bench-"));
try {
  const client = createFileReplicaClient(join(dir, "replica"));
  const sum = new DatabaseChecksum();
  const current = new Map();
  const get = (p) => current.get(p) ?? page(p, 0);
  let t0 = performance.now();
  const snap = new LtxEncoder({ pageSize: PAGE_SIZE, commit: pages, minTXID: 1, maxTXID: 1, timestamp: Date.UTC(2025, 0, 1) });
  await client.writeLtxFile(
    { level: 9, minTXID: 1, maxTXID: 1 },
    (async function* () {
      for (let p = 1; p <= pages; p++) {
        const d = page(p, 0);
        sum.add(pageChecksum(p, d));
        yield* snap.writePage(p, d);
      }
      yield* snap.finish();
    })(),
  );
  let seed = 12345;
  const rand = (n) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
  for (let txid = 2; txid <= smallFiles + 1; txid++) {
    const pgnos = [...new Set(Array.from({ length: 1 + rand(4) }, () => 1 + rand(pages)))].sort((a, b) => a - b);
    const pre = sum.value;
    for (const p of pgnos) {
      const next = page(p, txid);
      sum.replace(pageChecksum(p, get(p)), pageChecksum(p, next));
      current.set(p, next);
    }
    const enc = new LtxEncoder({ pageSize: PAGE_SIZE, commit: pages, minTXID: txid, maxTXID: txid, timestamp: Date.UTC(2025, 0, 1) + txid * 1000, preApplyChecksum: pre });
    const bytes = [];
    for (const p of pgnos) bytes.push(...enc.writePage(p, get(p)));
    bytes.push(...enc.finish(sum.value));
    await client.writeLtxFile({ level: 0, minTXID: txid, maxTXID: txid }, Buffer.concat(bytes));
    if ((txid - 1) % 100 === 0) await compactLevel(client, 1);
  }
  await compactLevel(client, 1);
  const levelBytes = async (level) => {
    let n = 0,
      c = 0;
    for await (const f of client.ltxFiles(level)) {
      n += f.size;
      c++;
    }
    return `${c} files, ${(n / MiB).toFixed(1)} MiB`;
  };
  const l1 = await levelBytes(1);
  await compactLevel(client, 2);
  console.log(
    `replica built in ${((performance.now() - t0) / 1000).toFixed(1)} s: database ${dbMiB} MiB (${pages} pages of ${PAGE_SIZE}); level 9 ${await levelBytes(9)}; level 0 ${await levelBytes(0)}; level 1 ${l1}; level 2 ${await levelBytes(2)}`,
  );
  console.log(`node ${process.version}, ${cpus().length} × ${cpus()[0]?.model}`);

  async function run(name, options) {
    const output = join(dir, `db-${name.replace(/\W+/g, "-")}`);
    execSync("sync"); // earlier writes must not be flushed on this run's time
    global.gc?.();
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const iv = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    const start = performance.now();
    let written = 0;
    const r = await restore(client, {
      output,
      ...options,
      onProgress: (p) => {
        if (p.phase === "verify") written = performance.now();
      },
    });
    const seconds = (performance.now() - start) / 1000;
    const toCache = (written - start) / 1000;
    clearInterval(iv);
    if (!r.checksumVerified || r.databaseChecksum !== (options.target ? r.databaseChecksum : sum.value)) throw new Error(`${name}: checksum not verified`);
    console.log(
      `${name.padEnd(48)} ${r.files.toString().padStart(5)} files  ${(r.bytesDownloaded / MiB).toFixed(0).padStart(4)} MiB read  ` +
        `written ${toCache.toFixed(2)} s (${(r.bytes / MiB / toCache).toFixed(0).padStart(4)} MiB/s)  durable ${seconds.toFixed(2)} s (${(r.bytes / MiB / seconds).toFixed(0).padStart(4)} MiB/s)  RSS +${((peak - rss0) / MiB).toFixed(0)} MiB`,
    );
    rmSync(output);
  }
  current.clear();
  if (process.env.PROFILE) {
    const { Session } = await import("node:inspector/promises");
    const session = new Session();
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.start");
    await run("latest, profiled", {});
    const { profile } = await session.post("Profiler.stop");
    const self = new Map();
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const total = profile.timeDeltas.reduce((a, b) => a + b, 0);
    profile.samples.forEach((id, i) => {
      const n = byId.get(id);
      const k = `${n.callFrame.functionName || "(anon)"} ${n.callFrame.url.split("/").slice(-2).join("/")}:${n.callFrame.lineNumber}`;
      self.set(k, (self.get(k) ?? 0) + profile.timeDeltas[i]);
    });
    for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(((100 * v) / total).toFixed(1).padStart(5), k);
  }
  await run("latest (snapshot + L2), parallelism 8", {});
  await run("latest (snapshot + L2), parallelism 1", { parallelism: 1 });
  await run("TXID mid-way (snapshot + L1 files + L0 files)", { target: { txid: Math.floor(smallFiles / 2) + 51 } });
  await client.deleteLtxFiles([...(await all(client.ltxFiles(1))), ...(await all(client.ltxFiles(2)))]);
  await run(`latest, uncompacted (snapshot + ${smallFiles} L0 files)`, {});
  await run(`latest, uncompacted, parallelism 32`, { parallelism: 32 });
  const snapSize = statSync(join(dir, "replica", "ltx", "9", "0000000000000001-0000000000000001.ltx")).size;
  execSync("sync");
  t0 = performance.now();
  const { copyFile } = await import("node:fs/promises");
  await copyFile(join(dir, "replica", "ltx", "9", "0000000000000001-0000000000000001.ltx"), join(dir, "copy"));
  console.log(
    `reference: copyFile of the snapshot (${(snapSize / MiB).toFixed(0)} MiB) ${(snapSize / MiB / ((performance.now() - t0) / 1000)).toFixed(0)} MiB/s (page cache, no fsync)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

async function all(files) {
  const out = [];
  for await (const f of files) out.push(f);
  return out;
}
