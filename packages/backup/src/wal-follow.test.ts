/** Test of StateReader on a real WAL-mode database: ordered chunked reads equal page-by-page reads, WAL frames overlaid, zeros past the end. */
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "@sqlrep/testkit";
import { walStartPosition } from "@sqlrep/wal";
import { FileSource } from "./file-source.js";
import { databaseFilePages, readHeader, scanBatch, StateReader, walPageMap } from "./wal-follow.js";

const tmp = tempDir("sqlrep-backup-wal-follow-");
afterAll(() => tmp.remove());

describe("StateReader.inOrder", () => {
  it("yields the same pages as page-by-page reads: several chunks of the file, WAL frames overlaid, zeros past the file's end", () => {
    const path = tmp.join("state.db");
    const db = new Database(path);
    db.pragma("page_size = 1024");
    db.pragma("journal_mode = WAL");
    db.pragma("wal_autocheckpoint = 0");
    db.exec("CREATE TABLE t (v BLOB)");
    db.exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) INSERT INTO t SELECT randomblob(900) FROM n"); // ~3 MiB
    db.pragma("wal_checkpoint(TRUNCATE)");
    db.exec("UPDATE t SET v = randomblob(900) WHERE rowid % 7 = 0"); // frames in the WAL for pages spread over the file
    db.exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) INSERT INTO t SELECT randomblob(900) FROM n"); // the WAL grows the database
    const wal = new FileSource(`${path}-wal`);
    const file = new FileSource(path);
    try {
      const header = readHeader(wal)!;
      const { end } = scanBatch(wal, header, walStartPosition(header), Number.MAX_SAFE_INTEGER);
      const { pages: frames, commit } = walPageMap(wal, end);
      expect(commit!).toBeGreaterThan(databaseFilePages(file));
      const reader = new StateReader(wal, file, 1024, frames);
      const total = commit! + 5; // five pages neither in the file nor in the WAL: zeros
      let pgno = 0;
      for (const page of reader.inOrder(total)) {
        expect(page.pgno).toBe(++pgno);
        expect(Buffer.from(page.data).equals(Buffer.from(reader.page(page.pgno))), `page ${page.pgno}`).toBe(true);
      }
      expect(pgno).toBe(total);
    } finally {
      wal.close();
      file.close();
      db.close();
    }
  });
});
