// Seeded fuzzing of every decoder: each mutated or truncated input must give either a
// WalError or exactly what an independent whole-buffer oracle of SQLite's rules gives.
// SQLREP_FUZZ_ITERATIONS raises the count (default 100,000 per decoder); SQLREP_FUZZ_SEED
// replays a run.
import { readFileSync } from "node:fs";
import { tempDir } from "@sqlrep/testkit";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { databasePageCount, decodeDatabaseHeader, lockPageNumber } from "./database-header.js";
import { isWalError, WalError } from "./errors.js";
import { encodeJournal, readJournal, readJournalSync, type JournalEnd, type JournalRecord } from "./journal.js";
import type { ByteSource, SyncByteSource } from "./source.js";
import { checksumRange } from "./wal-checksum.js";
import { encodeWal, type WalTransactionInit } from "./wal-format.js";
import { scanWal, scanWalSync, type WalPosition, type WalScan } from "./wal-reader.js";
import { replayWalSync } from "./wal-replay.js";
import { oracleJournal, oracleWal } from "./testing/oracles.js";
import { Prng } from "./testing/prng.js";

const ITERATIONS = Number(process.env.SQLREP_FUZZ_ITERATIONS ?? 100_000);
const SEED = Number(process.env.SQLREP_FUZZ_SEED ?? 0x5eed);
const ASYNC_EVERY = 16; // a share of the inputs also goes through the async driver
const MAX_READ = 4 * (65536 + 24) + (1 << 16); // no read may ask for more than this

const tmp = tempDir("sqlrep-wal-fuzz-");
afterAll(() => tmp.remove());

/** A source that fails the test on any read a decoder should never make. */
function guarded(bytes: Uint8Array, reads: { n: number }): SyncByteSource {
  return {
    size: bytes.length,
    readAt(offset, length) {
      reads.n++;
      if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0 || length > MAX_READ) {
        throw new Error(`unbounded or impossible read (${offset}, ${length})`);
      }
      if (reads.n > 100_000) throw new Error("runaway reads");
      return bytes.subarray(offset, offset + length);
    },
  };
}

function asyncOf(source: SyncByteSource): ByteSource {
  return { size: source.size, readAt: async (o, l) => source.readAt(o, l) };
}

/** Runs a decoder: returns its value, or undefined for a WalError; anything else fails. */
function expectWalErrorOr<T>(fn: () => T, context: () => string): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof WalError) || !isWalError(err)) throw new Error(`${context()}: not a WalError: ${String(err)}`, { cause: err });
    return undefined;
  }
}

function mutate(rng: Prng, input: Uint8Array, fieldOffsets: readonly number[]): Uint8Array {
  let b = input.slice();
  const interesting = [0, 1, 0xffffffff, 0x80000000, 512, 1024, 65536, 0x377f0682, 0x377f0683, 3007000, b.length, rng.u32()];
  for (let n = 1 + rng.below(3); n > 0; n--) {
    switch (rng.below(7)) {
      case 0: {
        const at = rng.below(b.length || 1);
        if (b.length > 0) b[at] = (b[at] as number) ^ (1 << rng.below(8));
        break;
      }
      case 1:
        if (b.length > 0) b[rng.below(b.length)] = rng.u32() & 0xff;
        break;
      case 2: {
        const at = rng.pick(fieldOffsets);
        if (at + 4 <= b.length) new DataView(b.buffer, b.byteOffset).setUint32(at, rng.pick(interesting), false);
        break;
      }
      case 3:
        b = b.subarray(0, rng.below(b.length + 1));
        break;
      case 4: {
        const extra = rng.bytes(rng.below(700));
        const out = new Uint8Array(b.length + extra.length);
        out.set(b);
        out.set(extra, b.length);
        b = out;
        break;
      }
      case 5: {
        const from = rng.below(b.length + 1);
        const len = rng.below(Math.min(2000, b.length - from) + 1);
        const at = rng.below(b.length + 1);
        const out = new Uint8Array(b.length + len);
        out.set(b.subarray(0, at));
        out.set(b.subarray(from, from + len), at);
        out.set(b.subarray(at), at + len);
        b = out;
        break;
      }
      default:
        // A view at an odd offset into a larger buffer, as a Node Buffer slice would be.
        b = (() => {
          const pad = 1 + rng.below(7);
          const host = new Uint8Array(b.length + pad);
          host.set(b, pad);
          return host.subarray(pad);
        })();
    }
  }
  return b;
}

/** Recomputes the WAL header checksum and every frame checksum, so mutated fields reach the deeper rules. */
function reseal(b: Uint8Array): void {
  if (b.length < 32) return;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const big = (view.getUint32(0, false) & 1) === 1;
  let s = checksumRange(view, 0, 24, big, 0, 0);
  view.setUint32(24, s[0], false);
  view.setUint32(28, s[1], false);
  const pageSize = view.getUint32(8, false);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) return;
  for (let off = 32; off + pageSize + 24 <= b.length; off += pageSize + 24) {
    s = checksumRange(view, off + 24, off + 24 + pageSize, big, ...checksumRange(view, off, off + 8, big, s[0], s[1]));
    view.setUint32(16 + off, s[0], false);
    view.setUint32(20 + off, s[1], false);
  }
}

function walSeeds(): Uint8Array[] {
  const rng = new Prng(SEED ^ 0x1234);
  const tx = (pgnos: number[], commit: number, size: number): WalTransactionInit => ({ pages: pgnos.map((pgno) => ({ pgno, data: rng.bytes(size) })), commit });
  const seeds: Uint8Array[] = [];
  for (const bigEndian of [false, true]) {
    for (const pageSize of [512, 1024]) {
      seeds.push(
        encodeWal({ pageSize, salt1: rng.u32(), salt2: rng.u32(), bigEndian }, [tx([1, 2], 2, pageSize), tx([3], 3, pageSize), tx([2, 4, 2], 4, pageSize), tx([1], 2, pageSize)]),
      );
    }
  }
  // A real WAL from SQLite, cut after a few transactions to keep inputs small.
  const path = tmp.join("seed.db");
  const db = new Database(path);
  db.exec("PRAGMA page_size=512; PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t(x);");
  for (let i = 0; i < 4; i++) db.prepare("INSERT INTO t VALUES (randomblob(100))").run();
  const wal = new Uint8Array(readFileSync(`${path}-wal`));
  db.close();
  const real = oracleWal(wal);
  if (!real.header || real.txs.length < 3) throw new Error("seed WAL has too few transactions");
  seeds.push(wal.slice(0, real.txs[3]?.end ?? wal.length));
  return seeds;
}

function compareScan(got: WalScan, input: Uint8Array, from: WalPosition | undefined, context: () => string): void {
  const oracle = oracleWal(input);
  if (!oracle.header) throw new Error(`${context()}: scan succeeded on a header the oracle rejects`);
  const skip = from === undefined ? 0 : oracle.txs.findIndex((t) => t.end === from.offset) + 1;
  const expected = oracle.txs.slice(skip);
  const actual = got.transactions.map((t) => ({ start: t.start, end: t.end, commit: t.commit, pages: [...t.pages], checksum: [t.position.checksum1, t.position.checksum2] }));
  expect(actual, context()).toEqual(expected);
  expect(got.stop, context()).toEqual({ offset: oracle.stopOffset, reason: oracle.stopReason });
  expect(got.pendingFrames, context()).toBe(oracle.pending);
}

describe("fuzz: WAL header + frames reader", () => {
  it(`${ITERATIONS} mutated WALs: a WalError or exactly the oracle's transactions`, async () => {
    const rng = new Prng(SEED);
    const seeds = walSeeds();
    const fieldOffsets = [0, 4, 8, 12, 16, 20, 24, 28, ...[0, 4, 8, 12].flatMap((f) => [32 + f, 32 + 536 + f, 32 + 1048 + f, 32 + 2 * 1048 + f])];
    let accepted = 0;
    let transactions = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const input = mutate(rng, rng.pick(seeds), fieldOffsets);
      if (rng.below(2) === 0) reseal(input);
      const oracle = oracleWal(input);
      const mode = rng.below(8);
      const from: WalPosition | undefined =
        mode === 0 && oracle.header && oracle.txs.length > 0
          ? (() => {
              const t = rng.pick(oracle.txs);
              const view = new DataView(input.buffer, input.byteOffset);
              return { offset: t.end, salt1: view.getUint32(16, false), salt2: view.getUint32(20, false), checksum1: t.checksum[0], checksum2: t.checksum[1] };
            })()
          : mode === 1
            ? { offset: 32 + rng.below(4) * 536, salt1: rng.u32(), salt2: rng.u32(), checksum1: rng.u32(), checksum2: rng.u32() }
            : undefined;
      const maxBytes = mode === 2 ? 1 + rng.below(5000) : undefined;
      const readSize = 1 + rng.below(6000);
      const reads = { n: 0 };
      const context = () => `seed ${SEED} iteration ${i} mode ${mode}`;
      const options = { from, maxBytes, readSize };
      const got = expectWalErrorOr(() => scanWalSync(guarded(input, reads), options), context);
      if (got === undefined) {
        if (oracle.header && mode !== 1) throw new Error(`${context()}: WalError on a WAL the oracle accepts`);
      } else {
        accepted++;
        transactions += got.transactions.length;
        if (mode === 2) {
          // A bound never splits a transaction: the result is a prefix of the unbounded scan.
          const full = scanWalSync(input, { readSize });
          expect(
            got.transactions.map((t) => t.end),
            context(),
          ).toEqual(full.transactions.slice(0, got.transactions.length).map((t) => t.end));
        } else if (mode !== 1) {
          compareScan(got, input, from, context);
        }
      }
      if (i % ASYNC_EVERY === 0) {
        const viaAsync = await scanWal(asyncOf(guarded(input, { n: 0 })), options).catch((err: unknown) => {
          if (!isWalError(err)) throw err;
          return undefined;
        });
        expect(viaAsync === undefined, context()).toBe(got === undefined);
        if (viaAsync !== undefined && got !== undefined) expect(viaAsync.transactions.map((t) => t.end)).toEqual(got.transactions.map((t) => t.end));
      }
      if (i % 4 === 0 && got !== undefined && from === undefined && maxBytes === undefined) {
        // Replay yields exactly the pages of the transactions the scan found, whole.
        let pages = 0;
        for (const p of replayWalSync(guarded(input, { n: 0 }), { trailing: "ignore" })) {
          expect(p.data.length, context()).toBe(got.header.pageSize);
          pages++;
        }
        expect(pages, context()).toBe(got.transactions.reduce((n, t) => n + t.pages.size, 0));
      }
    }
    // The suite must reach past the header rules, not just produce errors.
    expect(accepted).toBeGreaterThan(ITERATIONS / 4);
    expect(transactions).toBeGreaterThan(ITERATIONS / 4);
  }, 120_000);
});

describe("fuzz: rollback-journal reader", () => {
  function randomJournal(rng: Prng): Uint8Array {
    const pageSize = rng.pick([512, 1024]);
    const initialPages = 1 + rng.below(12);
    const pgno = (): number => rng.pick([1 + rng.below(initialPages), 1 + rng.below(initialPages), initialPages + 1 + rng.below(3), 0, lockPageNumber(pageSize)]);
    const segments = Array.from({ length: 1 + rng.below(3) }, () => {
      const records = Array.from({ length: rng.below(4) }, () => ({ pgno: pgno(), data: rng.bytes(pageSize) }));
      const recordCount = rng.pick([undefined, undefined, undefined, 0, 0xffffffff, records.length + 1]);
      return { records, nonce: rng.u32(), ...(recordCount === undefined ? {} : { recordCount }) };
    });
    return encodeJournal({ pageSize, initialPages, sectorSize: rng.pick([32, 64, 512, 1024]), segments });
  }

  it(`${ITERATIONS} generated and mutated journals: a WalError or exactly the oracle's records`, async () => {
    const rng = new Prng(SEED + 1);
    const fieldOffsets = [0, 4, 8, 12, 16, 20, 24, 32, 64, 512, 516, 1024, 1028];
    let accepted = 0;
    let records = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const base = randomJournal(rng);
      const input = rng.below(3) === 0 ? base : mutate(rng, base, fieldOffsets);
      const context = () => `seed ${SEED + 1} iteration ${i}`;
      const got = expectWalErrorOr(() => {
        const out: JournalRecord[] = [];
        const it = readJournalSync(guarded(input, { n: 0 }));
        let step = it.next();
        for (; step.done !== true; step = it.next()) out.push(step.value);
        return { out, end: step.value as JournalEnd };
      }, context);
      const oracle = oracleJournal(input);
      if (got === undefined) {
        expect(oracle.ok, `${context()}: WalError on a journal SQLite would play back`).toBe(false);
        continue;
      }
      if (!oracle.ok) throw new Error(`${context()}: accepted a journal SQLite calls corrupt`);
      accepted++;
      records += got.out.length;
      expect(
        got.out.map((r) => ({ offset: r.offset, pgno: r.pgno })),
        context(),
      ).toEqual(oracle.records);
      expect(got.end.stop, context()).toEqual({ offset: oracle.stopOffset, reason: oracle.stopReason });
      expect(got.end.skipped, context()).toBe(oracle.skipped);
      expect(got.end.header !== undefined, context()).toBe(oracle.hot);
      if (i % ASYNC_EVERY === 0) {
        const viaAsync: number[] = [];
        for await (const r of readJournal(asyncOf(guarded(input, { n: 0 })))) viaAsync.push(r.offset);
        expect(viaAsync, context()).toEqual(oracle.records.map((r) => r.offset));
      }
    }
    expect(accepted).toBeGreaterThan(ITERATIONS / 2);
    expect(records).toBeGreaterThan(ITERATIONS / 4);
  }, 120_000);
});

describe("fuzz: database header", () => {
  it(`${ITERATIONS} mutated headers: a WalError or fields read straight from the bytes`, () => {
    const seeds: Uint8Array[] = [];
    for (const [pageSize, mode] of [
      [512, "wal"],
      [4096, "delete"],
      [65536, "wal"],
    ] as const) {
      const path = tmp.join(`hdr-${pageSize}.db`);
      const db = new Database(path);
      db.exec(`PRAGMA page_size=${pageSize}; PRAGMA journal_mode=${mode}; CREATE TABLE t(x); INSERT INTO t VALUES (1);`);
      db.close();
      seeds.push(new Uint8Array(readFileSync(path).subarray(0, 100)));
    }
    const rng = new Prng(SEED + 2);
    const fieldOffsets = [16, 18, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60, 64, 68, 92, 96];
    let accepted = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const input = mutate(rng, rng.pick(seeds), fieldOffsets);
      const context = () => `seed ${SEED + 2} iteration ${i}`;
      const h = expectWalErrorOr(() => decodeDatabaseHeader(input), context);
      if (h === undefined) continue;
      accepted++;
      const view = new DataView(input.buffer, input.byteOffset, 100);
      const raw = view.getUint16(16, false);
      expect(h.pageSize, context()).toBe(raw === 1 ? 65536 : raw);
      expect(h.pageSize - input[20]!, context()).toBeGreaterThanOrEqual(480);
      expect([h.changeCounter, h.pageCount, h.userVersion, h.versionValidFor], context()).toEqual([
        view.getUint32(24, false),
        view.getUint32(28, false),
        view.getInt32(60, false),
        view.getUint32(92, false),
      ]);
      const fileSize = rng.below(1 << 30);
      const count = databasePageCount(h, fileSize);
      expect(count, context()).toBe(h.pageCount !== 0 && h.changeCounter === h.versionValidFor ? h.pageCount : Math.ceil(fileSize / h.pageSize));
    }
    expect(accepted).toBeGreaterThan(ITERATIONS / 4);
  }, 60_000);
});
