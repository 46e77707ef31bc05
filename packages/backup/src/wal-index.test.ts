/** Test of readWalIndex on a real database's `-shm`: it follows commits, checkpoints and the WAL restart after them. */
import { statSync } from "node:fs";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "@sqlrep/testkit";
import { FileSource } from "./file-source.js";
import { framesToCheckpoint, readWalIndex } from "./wal-index.js";

const tmp = tempDir("sqlrep-backup-wal-index-");
afterAll(() => tmp.remove());

describe("readWalIndex", () => {
  it("follows commits, checkpoints and the WAL restart that follows them", () => {
    const path = tmp.join("index.db");
    const shm = new FileSource(`${path}-shm`);
    expect(readWalIndex(shm)).toBeUndefined(); // no -shm yet
    const db = new Database(path);
    try {
      db.pragma("journal_mode = WAL");
      db.pragma("wal_autocheckpoint = 0");
      db.exec("CREATE TABLE t (v BLOB)");
      db.exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) INSERT INTO t SELECT randomblob(3000) FROM n");
      const frameSize = 4096 + 24;
      const written = (statSync(`${path}-wal`).size - 32) / frameSize;
      expect(readWalIndex(shm)).toEqual({ mxFrame: written, nBackfill: 0 });

      const [cp] = db.pragma("wal_checkpoint(PASSIVE)") as { log: number; checkpointed: number }[];
      expect(readWalIndex(shm)).toEqual({ mxFrame: cp!.log, nBackfill: cp!.checkpointed });
      expect(framesToCheckpoint(readWalIndex(shm)!)).toBe(0);

      db.exec("INSERT INTO t VALUES (1)"); // restarts the WAL: a few frames at its start
      const after = readWalIndex(shm)!;
      expect(after.nBackfill).toBe(0);
      expect(after.mxFrame).toBeGreaterThan(0);
      expect(after.mxFrame).toBeLessThan(written);
      expect(framesToCheckpoint(after)).toBe(after.mxFrame);
    } finally {
      db.close();
      shm.close();
    }
  });
});
