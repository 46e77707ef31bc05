/**
 * A 64 MiB snapshot plus incremental files: the restore reads ranges of the snapshot
 * in parallel and its memory does not grow with the database (RSS measured loosely).
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LtxEncoder, pageChecksum, DatabaseChecksum } from "@sqlrep/ltx";
import { tempDir, type TempDir } from "@sqlrep/testkit";
import { FileObjectStore } from "./file-store.js";
import { directoryLayout } from "./layout.js";
import { createFileReplicaClient } from "./file-replica.js";
import { ObjectReplicaClient, type ReplicaClient } from "./replica-client.js";
import { restore } from "./restore.js";
import { InstrumentedStore } from "./testing/instrumented-store.js";

const PAGE_SIZE = 4096;
const PAGES = 16 * 1024; // 64 MiB
const MiB = 1024 * 1024;

/** Page `pgno` at `version`: seeded pseudo-random bytes (incompressible, as most real pages are not far from). */
function page(pgno: number, version: number): Uint8Array {
  const data = new Uint8Array(PAGE_SIZE);
  const words = new Uint32Array(data.buffer);
  let x = (Math.imul(pgno, 0x9e3779b1) ^ Math.imul(version + 1, 0x85ebca6b)) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return data;
}

let dir: TempDir;
let client: ReplicaClient;
/** The expected database: its SHA-256 and checksum (pages are never all held at once). */
let expected: { sha256: string; checksum: bigint };

beforeAll(async () => {
  dir = tempDir("sqlrep-large-");
  client = createFileReplicaClient(dir.join("replica"));
  const versions = new Map<number, Uint8Array>(); // pages rewritten by the incrementals
  const base = (pgno: number) => versions.get(pgno) ?? page(pgno, 0);
  async function* encode(encoder: LtxEncoder, pgnos: Iterable<number>, get: (pgno: number) => Uint8Array, post?: bigint): AsyncIterable<Uint8Array> {
    for (const pgno of pgnos) yield* encoder.writePage(pgno, get(pgno));
    yield* encoder.finish(post);
  }
  // The snapshot at TXID 1, streamed to the replica.
  const sum = new DatabaseChecksum();
  const snapshot = new LtxEncoder({ pageSize: PAGE_SIZE, commit: PAGES, minTXID: 1, maxTXID: 1, timestamp: Date.UTC(2025, 0, 1) });
  const all = Array.from({ length: PAGES }, (_, i) => i + 1);
  await client.writeLtxFile(
    { level: 9, minTXID: 1, maxTXID: 1 },
    encode(snapshot, all, (p) => {
      const data = page(p, 0);
      sum.add(pageChecksum(p, data));
      return data;
    }),
  );
  // Ten incremental files rewriting a few scattered pages each.
  for (let txid = 2; txid <= 11; txid++) {
    const pgnos = [...new Set(Array.from({ length: 20 }, (_, i) => 1 + ((txid * 7919 + i * 104729) % PAGES)))].sort((a, b) => a - b);
    const pre = sum.value;
    for (const p of pgnos) {
      const next = page(p, txid);
      sum.replace(pageChecksum(p, base(p)), pageChecksum(p, next));
      versions.set(p, next);
    }
    const encoder = new LtxEncoder({ pageSize: PAGE_SIZE, commit: PAGES, minTXID: txid, maxTXID: txid, timestamp: Date.UTC(2025, 0, 1) + txid * 1000, preApplyChecksum: pre });
    await client.writeLtxFile({ level: 0, minTXID: txid, maxTXID: txid }, encode(encoder, pgnos, base, sum.value));
  }
  const hash = createHash("sha256");
  for (let p = 1; p <= PAGES; p++) hash.update(base(p));
  expected = { sha256: hash.digest("hex"), checksum: sum.value };
}, 120_000);

afterAll(() => dir.remove());

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

describe("restore of a 64 MiB database", () => {
  it("reads the snapshot's ranges in parallel and keeps memory well under the database size", async () => {
    const store = new InstrumentedStore(new FileObjectStore(dir.join("replica")), 0);
    const counted = new ObjectReplicaClient(store, directoryLayout());
    // Collected garbage is not memory in use: V8 lets up to ~64 MiB of dead buffers pile up
    // before it collects, so the sampler collects first and then measures what is live.
    gc();
    const before = process.memoryUsage();
    let peakRss = 0;
    let peakLive = 0;
    const sample = () => {
      gc();
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss - before.rss);
      peakLive = Math.max(peakLive, m.arrayBuffers + m.heapUsed - before.arrayBuffers - before.heapUsed);
    };
    const sampler = setInterval(sample, 10);
    const output = dir.join("db");
    const result = await restore(counted, { output, parallelism: 4, rangeSize: MiB, onProgress: sample });
    clearInterval(sampler);
    expect(result).toMatchObject({ txid: 11, pageCount: PAGES, files: 11, checksumVerified: true });
    expect(result.databaseChecksum).toBe(expected.checksum);
    expect(await sha256(output)).toBe(expected.sha256);
    // 64 ranges of the snapshot and the small files, four at a time.
    expect(store.reads).toBeGreaterThanOrEqual(64 + 10);
    expect(store.peak).toBe(4);
    console.log(`restore of 64 MiB: peak growth RSS ${(peakRss / MiB).toFixed(1)} MiB, live buffers + heap ${(peakLive / MiB).toFixed(1)} MiB`);
    expect(peakLive / MiB).toBeLessThan(24);
    expect(peakRss / MiB).toBeLessThan(48);
  }, 60_000);
});

/** The V8 collector, exposed at run time (vitest's workers do not pass --expose-gc). */
const gc: () => void = (() => {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();
