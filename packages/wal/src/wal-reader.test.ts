/**
 * Tests of the WAL reader on WALs written by real SQLite (better-sqlite3 and the shell): committed transactions,
 * resume positions across checkpoints and restarts, and torn or damaged tails stopping where SQLite stops.
 */
import { open, readFile, writeFile } from "node:fs/promises";
import Database from "better-sqlite3";
import { tempDir } from "@sqlrep/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ByteSource } from "./source.js";
import { concatBytes } from "./bytes.js";
import { encodeWal, WAL_HEADER_SIZE, WalEncoder, walFrameSize } from "./wal-format.js";
import {
  checkWalPosition,
  checkWalPositionSync,
  readWalHeaderSync,
  readWalPageSync,
  scanWal,
  scanWalSync,
  walTransactionsSync,
  type WalScan,
  type WalTransaction,
} from "./wal-reader.js";
import { applyWal } from "./wal-replay.js";
import { checkpointWithSqlite, hasSqliteShell, queryImage, SQLITE3_SHELL } from "./testing/sqlite.js";
import { betterSqliteWriter, FINGERPRINT_SQL, runWorkload, shellWriter, walSetup, workloadStatements, type Commit, type Writer } from "./testing/workload.js";

const tmp = tempDir("sqlrep-wal-reader-");
afterAll(() => tmp.remove());

/** A ByteSource over a real file, read with positioned async reads. */
async function fileSource(path: string): Promise<ByteSource & { close(): Promise<void> }> {
  const fh = await open(path, "r");
  const { size } = await fh.stat();
  return {
    size,
    async readAt(offset, length) {
      const buf = new Uint8Array(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    },
    close: () => fh.close(),
  };
}

const summary = (t: WalTransaction) => ({ start: t.start, end: t.end, commit: t.commit, frames: t.frameCount, pages: [...t.pages] });

const writers: { name: string; make: (path: string) => Writer; skip: boolean }[] = [
  { name: "better-sqlite3", make: betterSqliteWriter, skip: false },
  { name: `sqlite3 shell (${SQLITE3_SHELL})`, make: shellWriter, skip: !hasSqliteShell },
];

for (const writer of writers) {
  describe.skipIf(writer.skip)(`committed transactions of real WALs written by ${writer.name}${writer.skip ? " — shell not installed" : ""}`, () => {
    for (const pageSize of [512, 1024, 4096, 65536]) {
      describe(`page size ${pageSize}`, () => {
        const name = `${writer.name.split(" ")[0]}-${pageSize}`;
        const path = tmp.join(`${name}.db`);
        let commits: Commit[] = [];
        let db: Uint8Array;
        let wal: Uint8Array;
        let scan: WalScan;

        beforeAll(async () => {
          const w = writer.make(path);
          try {
            await w.exec(walSetup(pageSize));
            commits = await runWorkload(w, path, workloadStatements(pageSize));
          } finally {
            await w.close();
          }
          const last = commits.at(-1);
          if (last === undefined) throw new Error("no commits");
          ({ db, wal } = last.files);
          scan = scanWalSync(wal, { file: `${name}.db-wal` });
        });

        it("yields one transaction per commit, ending where the WAL ended after that commit", () => {
          expect(scan.header.pageSize).toBe(pageSize);
          expect(scan.transactions.length).toBe(commits.length);
          expect(scan.stop).toEqual({ offset: wal.length, reason: "end-of-file" });
          expect(scan.pendingFrames).toBe(0);
          const frameSize = walFrameSize(pageSize);
          scan.transactions.forEach((tx, i) => {
            const commit = commits[i] as Commit;
            expect(tx.end).toBe(commit.walSize);
            expect(tx.commit).toBe(commit.pageCount);
            expect(tx.start).toBe(i === 0 ? WAL_HEADER_SIZE : scan.transactions[i - 1]?.end);
            expect(tx.frameCount * frameSize).toBe(tx.end - tx.start);
            expect(tx.position.offset).toBe(tx.end);
            const offsets = [...tx.pages.values()];
            for (const off of offsets) expect(off >= tx.start && off < tx.end && (off - WAL_HEADER_SIZE) % frameSize === 0).toBe(true);
            expect([...tx.pages.keys()]).toEqual([...tx.pages.keys()].sort((a, b) => a - b));
          });
          // The workload shrinks the database (auto_vacuum=FULL) and grows it again.
          const sizes = scan.transactions.map((t) => t.commit);
          expect(sizes.some((s, i) => i > 0 && s < (sizes[i - 1] as number))).toBe(true);
        });

        it("replaying each prefix gives what SQLite's checkpoint gives, and the data that was written", () => {
          scan.transactions.forEach((tx, i) => {
            const commit = commits[i] as Commit;
            const mine = applyWal(db, wal.subarray(0, tx.end));
            const sqlite = checkpointWithSqlite(tmp.path, `${name}-ckpt-${i}.db`, commit.files);
            expect(mine.length).toBe(sqlite.length);
            expect(Buffer.compare(mine, sqlite)).toBe(0);
            const fingerprint = queryImage(tmp.path, `${name}-img-${i}.db`, mine, (conn) => String(conn.prepare(FINGERPRINT_SQL).pluck().get()));
            expect(fingerprint).toBe(commit.fingerprint);
            // Every page the transaction wrote reads back as it is in the database after it.
            for (const [pgno, frameOffset] of tx.pages) {
              if (pgno > tx.commit) continue;
              const page = readWalPageSync(wal, frameOffset, pageSize);
              expect(Buffer.compare(page, mine.subarray((pgno - 1) * pageSize, pgno * pageSize))).toBe(0);
            }
          });
        });

        it("resumes from every saved position and validates it", () => {
          const all = scan.transactions.map(summary);
          scan.transactions.forEach((tx, i) => {
            expect(checkWalPositionSync(wal, tx.position)).toMatchObject({ valid: true });
            const rest = scanWalSync(wal, { from: tx.position });
            expect(rest.transactions.map(summary)).toEqual(all.slice(i + 1));
          });
          const forged = { ...(scan.transactions[1] as WalTransaction).position, checksum2: 12345 };
          expect(checkWalPositionSync(wal, forged)).toMatchObject({ valid: false, reason: "checksum-mismatch" });
          expect(() => scanWalSync(wal, { from: forged })).toThrow(expect.objectContaining({ code: "stale-position" }));
        });

        it("the generator yields transactions as it finds them and returns how it stopped", () => {
          const it = walTransactionsSync(wal);
          const first = it.next();
          expect(first.done).toBe(false);
          expect(summary(first.value as WalTransaction)).toEqual(summary(scan.transactions[0] as WalTransaction));
          let step = it.next();
          let n = 1;
          for (; step.done !== true; step = it.next()) n++;
          expect(n).toBe(scan.transactions.length);
          expect(step.value.stop).toEqual(scan.stop);
          expect(step.value.position).toEqual(scan.position);
        });

        it("bounds each call by maxBytes without splitting a transaction", () => {
          const bound = 3 * walFrameSize(pageSize);
          const seen: WalTransaction[] = [];
          let from = undefined as WalTransaction["position"] | undefined;
          for (let calls = 0; calls < 100; calls++) {
            const batch = scanWalSync(wal, { from, maxBytes: bound, readSize: 2 * walFrameSize(pageSize) });
            if (batch.transactions.length === 0) break;
            const covered = batch.position.offset - (from?.offset ?? WAL_HEADER_SIZE);
            expect(covered <= bound || batch.transactions.length === 1).toBe(true);
            seen.push(...batch.transactions);
            from = batch.position;
          }
          expect(seen.map(summary)).toEqual(scan.transactions.map(summary));
        });

        it("reads the same through an async readAt over the file as from memory", async () => {
          const file = tmp.join(`${name}-copy.db-wal`);
          await writeFile(file, wal);
          const source = await fileSource(file);
          try {
            const viaFile = await scanWal(source, { readSize: 4 * walFrameSize(pageSize) + 7 });
            expect(viaFile.transactions.map(summary)).toEqual(scan.transactions.map(summary));
            const last = scan.transactions.at(-1) as WalTransaction;
            expect(await checkWalPosition(source, last.position)).toMatchObject({ valid: true });
          } finally {
            await source.close();
          }
        });
      });
    }
  });
}

describe("checkpoints and WAL restarts (better-sqlite3)", () => {
  const pageSize = 1024;

  async function setup(name: string): Promise<{ path: string; w: Writer; conn: Database.Database }> {
    const path = tmp.join(`${name}.db`);
    const conn = new Database(path);
    conn.exec(walSetup(pageSize));
    const w: Writer = {
      exec: async (sql) => void conn.exec(sql),
      value: async (sql) => String(conn.prepare(sql).pluck().get()),
      close: async () => void conn.close(),
    };
    await runWorkload(w, path, workloadStatements(pageSize).slice(0, 4));
    return { path, w, conn };
  }

  const readWal = async (path: string) => new Uint8Array(await readFile(`${path}-wal`));

  for (const mode of ["PASSIVE", "RESTART"] as const) {
    it(`${mode}: the position stays valid until the next writer resets the WAL, then is reported invalid`, async () => {
      const { path, conn } = await setup(`ckpt-${mode}`);
      try {
        const before = await readWal(path);
        const first = scanWalSync(before);
        const pos = first.position;
        const [result] = conn.pragma(`wal_checkpoint(${mode})`) as { busy: number; log: number; checkpointed: number }[];
        expect(result).toMatchObject({ busy: 0 });
        expect(result?.checkpointed).toBe(result?.log);

        const afterCheckpoint = await readWal(path);
        expect(checkWalPositionSync(afterCheckpoint, pos)).toMatchObject({ valid: true });
        expect(scanWalSync(afterCheckpoint, { from: pos })).toMatchObject({ transactions: [], stop: { reason: "end-of-file" } });

        conn.exec("UPDATE t SET v = x'01' WHERE id = 3");
        const reset = await readWal(path);
        const header = readWalHeaderSync(reset);
        expect(header.salt1).toBe((first.header.salt1 + 1) >>> 0);
        expect(header.checkpointSequence).toBe(first.header.checkpointSequence + 1);
        expect(checkWalPositionSync(reset, pos)).toMatchObject({ valid: false, reason: "salt-mismatch" });
        expect(() => scanWalSync(reset, { from: pos })).toThrow(expect.objectContaining({ code: "stale-position" }));
        // Enumeration restarts at the header: one new transaction, then the old frames' salts stop it.
        const again = scanWalSync(reset);
        expect(again.transactions.length).toBe(1);
        expect(again.transactions[0]?.start).toBe(WAL_HEADER_SIZE);
        expect(again.stop.reason).toBe("salt-mismatch");
        expect(reset.length).toBe(before.length);
      } finally {
        conn.close();
      }
    });
  }

  it("PASSIVE while a reader holds a snapshot: the WAL is not reset, the next commit appends after the position", async () => {
    const { path, conn } = await setup("ckpt-reader");
    const reader = new Database(path);
    try {
      reader.exec("BEGIN");
      reader.prepare("SELECT count(*) FROM t").get();
      const pos = scanWalSync(await readWal(path)).position;
      conn.pragma("wal_checkpoint(PASSIVE)");
      conn.exec("UPDATE t SET v = x'02' WHERE id = 3");
      const wal = await readWal(path);
      expect(checkWalPositionSync(wal, pos)).toMatchObject({ valid: true });
      const next = scanWalSync(wal, { from: pos });
      expect(next.transactions.length).toBe(1);
      expect(next.transactions[0]?.start).toBe(pos.offset);
    } finally {
      reader.exec("COMMIT");
      reader.close();
      conn.close();
    }
  });

  it("TRUNCATE: the empty WAL has no header, then a new one with new salts", async () => {
    const { path, conn } = await setup("ckpt-truncate");
    try {
      const first = scanWalSync(await readWal(path));
      conn.pragma("wal_checkpoint(TRUNCATE)");
      const empty = await readWal(path);
      expect(empty.length).toBe(0);
      expect(checkWalPositionSync(empty, first.position)).toEqual({ valid: false, reason: "no-header", header: undefined });
      expect(() => readWalHeaderSync(empty)).toThrow(expect.objectContaining({ code: "truncated" }));

      conn.exec("UPDATE t SET v = x'03' WHERE id = 3");
      const fresh = await readWal(path);
      const check = checkWalPositionSync(fresh, first.position);
      expect(check).toMatchObject({ valid: false, reason: "salt-mismatch" });
      const again = scanWalSync(fresh);
      expect(again.transactions.length).toBe(1);
      expect(again.stop).toEqual({ offset: fresh.length, reason: "end-of-file" });
    } finally {
      conn.close();
    }
  });
});

describe("torn, damaged and uncommitted tails stop where SQLite stops (better-sqlite3, page size 4096)", () => {
  const pageSize = 4096;
  const frameSize = walFrameSize(pageSize);
  const path = tmp.join("torn.db");
  let commits: Commit[] = [];
  let db: Uint8Array;
  let wal: Uint8Array;
  let txs: readonly WalTransaction[] = [];

  beforeAll(async () => {
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

  /** Our reading of a damaged WAL, checked against SQLite's own recovery of the same bytes. */
  function expectAgreement(damaged: Uint8Array, committed: number): WalScan {
    const result = scanWalSync(damaged);
    expect(result.transactions.map(summary)).toEqual(txs.slice(0, committed).map(summary));
    const sqlite = checkpointWithSqlite(tmp.path, `torn-${committed}-${damaged.length}.db`, { db, wal: damaged });
    expect(Buffer.compare(applyWal(db, damaged, { trailing: "ignore" }), sqlite)).toBe(0);
    const fingerprint = queryImage(tmp.path, "torn-check.db", sqlite, (c) => String(c.prepare(FINGERPRINT_SQL).pluck().get()));
    expect(fingerprint).toBe(commits[committed - 1]?.fingerprint);
    return result;
  }

  it("a last frame cut in the middle: the last transaction is dropped", () => {
    const last = txs.at(-1) as WalTransaction;
    const cut = wal.subarray(0, last.end - (frameSize >> 1));
    const result = expectAgreement(cut, txs.length - 1);
    expect(result.stop).toEqual({ offset: last.end - frameSize, reason: "partial-frame" });
    expect(result.pendingFrames).toBe(last.frameCount - 1);
  });

  it("a cut on a frame boundary inside a transaction: its frames are pending, never yielded", () => {
    const k = txs.findLastIndex((t) => t.frameCount >= 2);
    const tx = txs[k] as WalTransaction;
    const cut = wal.subarray(0, tx.start + frameSize);
    const result = expectAgreement(cut, k);
    expect(result.stop).toEqual({ offset: cut.length, reason: "end-of-file" });
    expect(result.pendingFrames).toBe(1);
  });

  it("a flipped byte in the last frame: checksum mismatch there, the position after it is invalid", () => {
    const last = txs.at(-1) as WalTransaction;
    const damaged = wal.slice();
    const at = last.end - 100;
    damaged[at] = (damaged[at] as number) ^ 0x40;
    const result = expectAgreement(damaged, txs.length - 1);
    expect(result.stop).toEqual({ offset: last.end - frameSize, reason: "checksum-mismatch" });
    expect(checkWalPositionSync(damaged, last.position)).toMatchObject({ valid: false, reason: "checksum-mismatch" });
    expect(checkWalPositionSync(damaged, (txs.at(-2) as WalTransaction).position)).toMatchObject({ valid: true });
  });

  it("a flipped byte in a middle transaction: everything from it on is ignored", () => {
    const k = 3;
    const tx = txs[k] as WalTransaction;
    const damaged = wal.slice();
    const at = tx.start + frameSize + 24 + 7; // inside the second frame's page, or the next transaction's first
    damaged[at] = (damaged[at] as number) ^ 0x01;
    const committed = tx.frameCount >= 2 ? k : k + 1;
    const result = expectAgreement(damaged, committed);
    expect(result.stop.reason).toBe("checksum-mismatch");
  });

  it("a frame salt from another generation stops the scan", () => {
    const k = 5;
    const tx = txs[k] as WalTransaction;
    const damaged = wal.slice();
    new DataView(damaged.buffer).setUint32(tx.start + 8, 0x12345678, false);
    const result = expectAgreement(damaged, k);
    expect(result.stop).toEqual({ offset: tx.start, reason: "salt-mismatch" });
  });

  it("frames a cache spill wrote for an open transaction are not yielded, nor after its rollback", async () => {
    const spillPath = tmp.join("spill.db");
    const conn = new Database(spillPath);
    try {
      conn.exec(walSetup(1024));
      conn.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB); INSERT INTO t(v) VALUES (randomblob(100));");
      const committedWal = await readFileBytes(`${spillPath}-wal`);
      const committed = scanWalSync(committedWal);
      expect(committed.stop.reason).toBe("end-of-file");

      conn.pragma("cache_size=5");
      conn.exec("BEGIN");
      const insert = conn.prepare("INSERT INTO t(v) VALUES (randomblob(300))");
      for (let i = 0; i < 500; i++) insert.run();
      const midWal = await readFileBytes(`${spillPath}-wal`);
      expect(midWal.length).toBeGreaterThan(committedWal.length); // the spill reached the file
      const mid = scanWalSync(midWal);
      expect(mid.transactions.map(summary)).toEqual(committed.transactions.map(summary));
      expect(mid.position).toEqual(committed.position);
      // SQLite defers salts and checksums of uncommitted frames once a page is rewritten
      // within the transaction (it fixes them at commit), so the chain breaks right here.
      expect(mid.stop.offset).toBeLessThan(midWal.length);
      expect(checkWalPositionSync(midWal, committed.position)).toMatchObject({ valid: true });
      conn.exec("ROLLBACK");

      conn.exec("UPDATE t SET v = x'05' WHERE id = 1");
      const afterWal = await readFileBytes(`${spillPath}-wal`);
      const after = scanWalSync(afterWal, { from: committed.position });
      expect(after.transactions.length).toBe(1);
      expect(after.transactions[0]?.start).toBe(committed.position.offset);
      // The rolled-back frames are still in the file but off the chain (zeroed salts or a stale checksum).
      expect(after.stop.offset).toBe(after.position.offset);
      expect(["salt-mismatch", "checksum-mismatch"]).toContain(after.stop.reason);
      expect(afterWal.length).toBe(midWal.length);
    } finally {
      conn.close();
    }
  });
});

describe("encoder-made WALs", () => {
  const page = (b: number): Uint8Array => new Uint8Array(512).fill(b);

  it("a bound that falls on the end of the file reports the end of the file", () => {
    const bytes = encodeWal({ pageSize: 512, salt1: 1, salt2: 2 }, [
      { pages: [{ pgno: 1, data: page(1) }], commit: 1 },
      { pages: [{ pgno: 2, data: page(2) }], commit: 2 },
    ]);
    expect(scanWalSync(bytes, { maxBytes: 2 * 536 })).toMatchObject({ stop: { offset: bytes.length, reason: "end-of-file" } });
    expect(scanWalSync(bytes, { maxBytes: 536 })).toMatchObject({ stop: { offset: 32 + 536, reason: "max-bytes" } });
  });

  it("a position whose frame carries other salts is reported as such", () => {
    const enc = new WalEncoder({ pageSize: 512, salt1: 1, salt2: 2 });
    const bytes = concatBytes([enc.headerBytes, enc.frame(1, page(1), 1, { salt2: 3 })]);
    const position = { offset: 32 + 536, salt1: 1, salt2: 2, checksum1: enc.checksum[0], checksum2: enc.checksum[1] };
    expect(checkWalPositionSync(bytes, position)).toMatchObject({ valid: false, reason: "salt-mismatch" });
  });
});

describe("uncommitted frames with a valid chain (encoder-made)", () => {
  it("are counted as pending and never yielded", () => {
    const page = (b: number): Uint8Array => new Uint8Array(512).fill(b);
    const enc = new WalEncoder({ pageSize: 512, salt1: 1, salt2: 2 });
    const bytes = concatBytes([enc.headerBytes, enc.frame(1, page(1), 1), enc.frame(2, page(2)), enc.frame(3, page(3))]);
    const result = scanWalSync(bytes);
    expect(result.transactions.length).toBe(1);
    expect(result.pendingFrames).toBe(2);
    expect(result.stop).toEqual({ offset: bytes.length, reason: "end-of-file" });
    expect(result.position.offset).toBe(32 + 536);
  });
});

async function readFileBytes(path: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(path));
}
