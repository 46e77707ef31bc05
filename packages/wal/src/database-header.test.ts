/** Tests of decodeDatabaseHeader on databases written by real SQLite (better-sqlite3 and the sqlite3 shell), its validation, and the lock page. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { tempDir } from "@sqlrep/testkit";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { databasePageCount, decodeDatabaseHeader, lockPageNumber } from "./database-header.js";
import { isWalError } from "./errors.js";
import { hasSqliteShell, SQLITE3_SHELL } from "./testing/sqlite.js";

const tmp = tempDir("sqlrep-wal-dbheader-");
afterAll(() => tmp.remove());

const versionNumber = (v: string): number => {
  const [major = 0, minor = 0, patch = 0] = v.split(".").map(Number);
  return major * 1_000_000 + minor * 1000 + patch;
};

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    if (isWalError(err)) return err.code;
    throw err;
  }
  return undefined;
};

describe("database header on real databases (better-sqlite3)", () => {
  for (const pageSize of [512, 1024, 4096, 65536]) {
    for (const mode of ["wal", "delete"] as const) {
      it(`page size ${pageSize}, journal_mode=${mode}`, () => {
        const path = tmp.join(`b-${pageSize}-${mode}.db`);
        const db = new Database(path);
        db.pragma(`page_size=${pageSize}`);
        db.pragma("auto_vacuum=incremental");
        db.pragma(`journal_mode=${mode}`);
        db.pragma("user_version=-42");
        db.pragma("application_id=0x4c495445");
        db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB); CREATE INDEX tv ON t(v);");
        const insert = db.prepare("INSERT INTO t(v) VALUES (randomblob(?))");
        db.transaction(() => {
          for (let i = 0; i < 200; i++) insert.run(100 + (i % 7) * 50);
        })();
        db.exec("DELETE FROM t WHERE id % 3 = 0");
        const expected = {
          pageCount: db.pragma("page_count", { simple: true }) as number,
          freelist: db.pragma("freelist_count", { simple: true }) as number,
          schema: db.pragma("schema_version", { simple: true }) as number,
          version: versionNumber((db.prepare("SELECT sqlite_version() AS v").get() as { v: string }).v),
        };
        db.close(); // checkpoints a WAL into the file, so the header on disk is current

        const bytes = readFileSync(path);
        const h = decodeDatabaseHeader(bytes.subarray(0, 100));
        const v = mode === "wal" ? 2 : 1;
        expect(h).toMatchObject({
          pageSize,
          writeVersion: v,
          readVersion: v,
          journal: mode === "wal" ? "wal" : "rollback",
          reservedSpace: 0,
          usableSize: pageSize,
          maxPayloadFraction: 64,
          minPayloadFraction: 32,
          leafPayloadFraction: 32,
          pageCount: expected.pageCount,
          freelistPages: expected.freelist,
          schemaCookie: expected.schema,
          schemaFormat: 4,
          textEncoding: "utf-8",
          userVersion: -42,
          incrementalVacuum: 1,
          applicationId: 0x4c495445,
          sqliteVersion: expected.version,
        });
        expect(h.largestRootPage).toBeGreaterThan(1);
        expect(h.versionValidFor).toBe(h.changeCounter);
        expect(h.changeCounter).toBeGreaterThan(0);
        expect(databasePageCount(h, bytes.length)).toBe(expected.pageCount);
        expect(bytes.length).toBe(expected.pageCount * pageSize);
      });
    }
  }

  it("reads UTF-16 encodings", () => {
    for (const [encoding, expected] of [
      ["UTF-16le", "utf-16le"],
      ["UTF-16be", "utf-16be"],
    ] as const) {
      const path = tmp.join(`enc-${encoding}.db`);
      const db = new Database(path);
      db.pragma(`encoding='${encoding}'`);
      db.exec("CREATE TABLE t(x)");
      db.close();
      const h = decodeDatabaseHeader(readFileSync(path));
      expect(h.textEncoding).toBe(expected);
    }
  });
});

describe.skipIf(!hasSqliteShell)(`database header written by the sqlite3 shell (needs ${SQLITE3_SHELL})`, () => {
  for (const pageSize of [1024, 65536]) {
    for (const mode of ["wal", "delete"]) {
      it(`page size ${pageSize}, journal_mode=${mode}`, () => {
        const path = tmp.join(`s-${pageSize}-${mode}.db`);
        // default_cache_size is deprecated (better-sqlite3 omits it); the shell still writes it.
        const sql = `PRAGMA page_size=${pageSize}; PRAGMA journal_mode=${mode}; PRAGMA default_cache_size=777; CREATE TABLE t(x); INSERT INTO t VALUES (zeroblob(5000)); PRAGMA page_count; SELECT sqlite_version();`;
        const out = execFileSync(SQLITE3_SHELL, ["-batch", path, sql], { encoding: "utf8" }).trim().split("\n");
        const version = out.pop() ?? "";
        const pageCount = Number(out.pop());
        const h = decodeDatabaseHeader(readFileSync(path));
        expect(h).toMatchObject({
          pageSize,
          pageCount,
          defaultCacheSize: 777,
          sqliteVersion: versionNumber(version),
          journal: mode === "wal" ? "wal" : "rollback",
        });
      });
    }
  }
});

describe("database header validation", () => {
  const good = (): Uint8Array => {
    const path = tmp.join("valid.db");
    const db = new Database(path);
    db.exec("CREATE TABLE IF NOT EXISTS t(x)");
    db.close();
    return readFileSync(path).subarray(0, 100);
  };

  it("rejects what SQLite cannot open", () => {
    const set = (at: number, ...bytes: number[]): Uint8Array => {
      const b = good().slice();
      b.set(bytes, at);
      return b;
    };
    expect(code(() => decodeDatabaseHeader(set(0, 0x73)))).toBe("invalid-magic");
    expect(code(() => decodeDatabaseHeader(set(16, 0x03, 0x00)))).toBe("invalid-page-size");
    expect(code(() => decodeDatabaseHeader(set(16, 0x00, 0x00)))).toBe("invalid-page-size");
    expect(code(() => decodeDatabaseHeader(set(16, 0x00, 0x01)))).toBeUndefined(); // 1 means 65536
    expect(code(() => decodeDatabaseHeader(set(21, 65)))).toBe("invalid-header");
    expect(code(() => decodeDatabaseHeader(set(16, 0x02, 0x00, 1, 1, 40)))).toBe("invalid-header"); // 512 - 40 < 480 usable
    expect(code(() => decodeDatabaseHeader(set(56, 0, 0, 0, 4)))).toBe("invalid-header");
    expect(code(() => decodeDatabaseHeader(good().subarray(0, 99)))).toBe("truncated");
  });

  it("trusts the in-header size only when version-valid-for matches the change counter", () => {
    const b = good().slice();
    const h = decodeDatabaseHeader(b);
    expect(databasePageCount(h, 999 * h.pageSize)).toBe(h.pageCount);
    new DataView(b.buffer).setUint32(92, h.changeCounter + 1, false);
    expect(databasePageCount(decodeDatabaseHeader(b), 10 * h.pageSize + 1)).toBe(11);
  });
});

describe("lockPageNumber", () => {
  it("is the page holding byte 0x40000000", () => {
    const expected: Record<number, number> = { 512: 2097153, 1024: 1048577, 4096: 262145, 65536: 16385 };
    for (const [ps, pgno] of Object.entries(expected)) {
      expect(lockPageNumber(Number(ps))).toBe(pgno);
      expect((pgno - 1) * Number(ps)).toBe(0x40000000);
    }
    expect(code(() => lockPageNumber(1000))).toBe("invalid-page-size");
  });
});
