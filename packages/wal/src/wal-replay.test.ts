/** Tests of WAL replay against real SQLite: our replay equals SQLite's checkpoint, and SQLite accepts WALs our encoder writes. */
import { writeFileSync } from "node:fs";
import { tempDir } from "@sqlrep/testkit";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { concatBytes } from "./bytes.js";
import { isWalError } from "./errors.js";
import { WAL_MAGIC_BE, WAL_MAGIC_LE, WalEncoder, walFrameSize } from "./wal-format.js";
import { readWalPageSync, scanWalSync, type WalTransaction } from "./wal-reader.js";
import { applyWal, replayWal, replayWalSync, type WalReplayPage } from "./wal-replay.js";
import { checkpointWithSqlite, queryImage } from "./testing/sqlite.js";
import { betterSqliteWriter, FINGERPRINT_SQL, runWorkload, walSetup, workloadStatements, type Commit } from "./testing/workload.js";

const tmp = tempDir("sqlrep-wal-replay-");
afterAll(() => tmp.remove());

const pageSize = 4096;
let commits: Commit[] = [];
let db: Uint8Array;
let wal: Uint8Array;
let txs: readonly WalTransaction[] = [];

beforeAll(async () => {
  const path = tmp.join("replay.db");
  const w = betterSqliteWriter(path);
  try {
    await w.exec(walSetup(pageSize));
    commits = await runWorkload(w, path, workloadStatements(pageSize));
  } finally {
    await w.close();
  }
  ({ db, wal } = (commits.at(-1) as Commit).files);
  txs = scanWalSync(wal).transactions;
});

const fingerprintOf = (image: Uint8Array, name: string): string => queryImage(tmp.path, name, image, (c) => String(c.prepare(FINGERPRINT_SQL).pluck().get()));

describe("replayWal", () => {
  it("yields each committed transaction's pages in page order, and the final commit size", async () => {
    const pages: WalReplayPage[] = [];
    const chunks = { size: wal.length, readAt: async (o: number, l: number) => wal.slice(o, o + l) };
    const it = replayWal(chunks, { readSize: 3 * walFrameSize(pageSize) });
    let step = await it.next();
    for (; step.done !== true; step = await it.next()) pages.push(step.value);
    const end = step.value;
    expect(end.transactions).toBe(txs.length);
    expect(end.commit).toBe(txs.at(-1)?.commit);
    expect(end.stop.reason).toBe("end-of-file");
    txs.forEach((tx, i) => {
      const mine = pages.filter((p) => p.transaction === i);
      expect(mine.map((p) => p.pgno)).toEqual([...tx.pages.keys()]);
      for (const p of mine) {
        expect(p.commit).toBe(tx.commit);
        expect(Buffer.compare(p.data, readWalPageSync(wal, tx.pages.get(p.pgno) as number, pageSize))).toBe(0);
      }
    });
    // Applying them in order and truncating is what SQLite's checkpoint leaves.
    const image = new Uint8Array(end.commit * pageSize);
    image.set(db.subarray(0, image.length));
    for (const p of pages) if (p.pgno <= end.commit) image.set(p.data, (p.pgno - 1) * pageSize);
    const sqlite = checkpointWithSqlite(tmp.path, "replay-sqlite.db", { db, wal });
    expect(Buffer.compare(image, sqlite)).toBe(0);
  });

  it("throws `incomplete` when the chain stops before the end, unless told to ignore it", () => {
    const torn = wal.subarray(0, wal.length - 10);
    const yielded: number[] = [];
    let error: unknown;
    try {
      for (const p of replayWalSync(torn)) yielded.push(p.transaction);
    } catch (err) {
      error = err;
    }
    expect(isWalError(error) && error.code).toBe("incomplete");
    expect(isWalError(error) && error.offset).toBe((txs.at(-1) as WalTransaction).end - walFrameSize(pageSize));
    expect(Math.max(...yielded)).toBe(txs.length - 2);
    const image = applyWal(db, torn, { trailing: "ignore" });
    expect(fingerprintOf(image, "torn-image.db")).toBe(commits.at(-2)?.fingerprint);
  });

  it("replays concatenated segments that each end on a commit (a Litestream v0.3 shadow WAL)", () => {
    const boundaries = [2, 5, txs.length - 1].map((i) => (txs[i] as WalTransaction).end);
    const segments = boundaries.map((end, i) => wal.subarray(i === 0 ? 0 : (boundaries[i - 1] as number), end));
    const joined = concatBytes(segments);
    expect(fingerprintOf(applyWal(db, joined), "segments.db")).toBe(commits[txs.length - 1]?.fingerprint);
    // A missing middle segment breaks the checksum chain: loud, not a silent short restore.
    const gap = concatBytes([segments[0] as Uint8Array, segments[2] as Uint8Array]);
    expect(() => applyWal(db, gap)).toThrow(expect.objectContaining({ code: "incomplete" }));
  });

  it("frames after the last commit are `incomplete` too: a segment must end on a commit", () => {
    const enc = new WalEncoder({ pageSize: 512, salt1: 1, salt2: 2 });
    const page = new Uint8Array(512).fill(9);
    const bytes = concatBytes([enc.headerBytes, enc.frame(1, page, 1), enc.frame(1, page)]);
    expect(() => [...replayWalSync(bytes)]).toThrow(expect.objectContaining({ code: "incomplete", offset: bytes.length }));
    expect([...replayWalSync(bytes, { trailing: "ignore" })].length).toBe(1);
  });

  it("refuses a database whose page size differs from the WAL's", () => {
    const other = new Uint8Array(db.subarray(0, 1024));
    other.set([0x04, 0x00], 16);
    expect(() => applyWal(other, wal)).toThrow(expect.objectContaining({ code: "invalid-argument" }));
  });
});

describe("WALs written by our encoder are accepted and replayed by SQLite", () => {
  /** Re-encodes every committed transaction of the real WAL with fresh salts in the given byte order. */
  function reencode(bigEndian: boolean, upTo: number): { bytes: Uint8Array; encoder: WalEncoder } {
    const encoder = new WalEncoder({ pageSize, salt1: 0x0badf00d, salt2: 0x5eed5eed, checkpointSequence: 9, bigEndian });
    const parts = [encoder.headerBytes];
    for (const tx of txs.slice(0, upTo)) {
      const entries = [...tx.pages];
      entries.forEach(([pgno, frameOffset], i) => {
        parts.push(encoder.frame(pgno, readWalPageSync(wal, frameOffset, pageSize), i === entries.length - 1 ? tx.commit : 0));
      });
    }
    return { bytes: concatBytes(parts), encoder };
  }

  for (const bigEndian of [true, false]) {
    const order = bigEndian ? "big-endian (magic 0x377f0683)" : "little-endian (magic 0x377f0682)";
    it(`${order}: SQLite reads the data, and its checkpoint equals ours`, () => {
      const { bytes } = reencode(bigEndian, txs.length);
      expect(new DataView(bytes.buffer).getUint32(0, false)).toBe(bigEndian ? WAL_MAGIC_BE : WAL_MAGIC_LE);

      // Open it live, with the WAL next to the database, before any checkpoint.
      const path = tmp.join(`encoded-${bigEndian ? "be" : "le"}.db`);
      writeFileSync(path, db);
      writeFileSync(`${path}-wal`, bytes);
      const conn = new Database(path, { readonly: true });
      try {
        expect(String(conn.prepare(FINGERPRINT_SQL).pluck().get())).toBe(commits.at(-1)?.fingerprint);
        expect(conn.pragma("page_count", { simple: true })).toBe(txs.at(-1)?.commit);
      } finally {
        conn.close();
      }

      const sqlite = checkpointWithSqlite(tmp.path, `encoded-ckpt-${bigEndian ? "be" : "le"}.db`, { db, wal: bytes });
      expect(Buffer.compare(applyWal(db, bytes), sqlite)).toBe(0);
      expect(Buffer.compare(sqlite, checkpointWithSqlite(tmp.path, "original-ckpt.db", { db, wal }))).toBe(0);
    });

    it(`${order}: a corrupted last transaction is ignored by SQLite and by us alike`, () => {
      const { bytes } = reencode(bigEndian, txs.length);
      const damaged = bytes.slice();
      const at = damaged.length - 1000;
      damaged[at] = (damaged[at] as number) ^ 0xff;
      const scan = scanWalSync(damaged);
      expect(scan.transactions.length).toBe(txs.length - 1);
      expect(scan.stop.reason).toBe("checksum-mismatch");
      const sqlite = checkpointWithSqlite(tmp.path, `encoded-bad-${bigEndian ? "be" : "le"}.db`, { db, wal: damaged });
      expect(fingerprintOf(sqlite, "encoded-bad-check.db")).toBe(commits.at(-2)?.fingerprint);
      expect(Buffer.compare(applyWal(db, damaged, { trailing: "ignore" }), sqlite)).toBe(0);
    });
  }
});
