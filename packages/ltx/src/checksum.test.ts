/** Unit tests of LTX checksums on the spec's vectors: page checksums, the lock page, the database checksum kept incrementally, the text form. */
import { describe, expect, it } from "vitest";
import { DatabaseChecksum, databaseChecksum, formatChecksum, lockPgno, pageChecksum, parseChecksum } from "./checksum.js";

const fill = (byte: number, n: number): Uint8Array => new Uint8Array(n).fill(byte);
const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

describe("pageChecksum", () => {
  it("matches the spec vectors (§5.3)", () => {
    expect(formatChecksum(pageChecksum(1, fill(0, 4096)))).toBe("d9328f592d9e733d");
    expect(formatChecksum(pageChecksum(2, fill(0, 4096)))).toBe("f7901e47304ca33f");
    expect(formatChecksum(pageChecksum(1, fill(1, 512)))).toBe("e4e4aaa102377eee");
    expect(formatChecksum(pageChecksum(1, new TextEncoder().encode("hello world")))).toBe("b9cf3f056fd9ac6d");
  });
});

describe("lockPgno", () => {
  it("is the page holding offset 1 GiB", () => {
    const expected: Record<number, number> = { 512: 2097153, 1024: 1048577, 4096: 262145, 65536: 16385 };
    for (const [ps, pgno] of Object.entries(expected)) expect(lockPgno(Number(ps))).toBe(pgno);
  });
});

describe("database checksum (§5.7 vectors)", () => {
  it("matches the reference values", () => {
    expect(formatChecksum(databaseChecksum(concat(fill(1, 512), fill(2, 512), fill(3, 512)), 512))).toBe("efffffffecd99000");
    expect(formatChecksum(databaseChecksum(concat(fill(0x32, 1024), fill(0x33, 1024)), 1024))).toBe("e1899b6d587aaaaa");
    expect(formatChecksum(databaseChecksum(concat(fill(0x32, 512), fill(0x33, 512)), 512))).toBe("8b87423eeeeeeeee");
    expect(formatChecksum(databaseChecksum(fill(0x31, 512), 512))).toBe("eb1a999231044ddd");
    expect(formatChecksum(databaseChecksum(concat(fill(1, 512), fill(2, 512)), 512))).toBe("ad2dffe333333333");
    expect(formatChecksum(databaseChecksum(concat(fill(0x81, 1024), fill(0x82, 1024), fill(0x83, 1024)), 1024))).toBe("8a249272ad9f7dea");
    expect(formatChecksum(databaseChecksum(new Uint8Array(0), 4096))).toBe("8000000000000000");
  });

  it("skips the lock page (commit = LOCK + 10, all 'x' pages)", () => {
    const ps = 4096;
    const commit = lockPgno(ps) + 10;
    const page = fill(0x78, ps);
    const sum = new DatabaseChecksum();
    for (let pgno = 1; pgno <= commit; pgno++) if (pgno !== lockPgno(ps)) sum.add(pageChecksum(pgno, page));
    expect(formatChecksum(sum.value)).toBe("c19b668c376662c7");
  });

  it("updates incrementally: replacing a page equals recomputing", () => {
    const db = concat(fill(1, 512), fill(2, 512), fill(3, 512));
    const sum = new DatabaseChecksum(databaseChecksum(db, 512));
    const newPage = fill(9, 512);
    sum.replace(pageChecksum(2, db.subarray(512, 1024)), pageChecksum(2, newPage));
    db.set(newPage, 512);
    expect(sum.value).toBe(databaseChecksum(db, 512));
    // Shrinking by one page removes its contribution.
    sum.remove(pageChecksum(3, db.subarray(1024)));
    expect(sum.value).toBe(databaseChecksum(db.subarray(0, 1024), 512));
  });
});

describe("text form", () => {
  it("round-trips 16 hex digits and rejects junk", () => {
    expect(parseChecksum("8000000000000000")).toBe(1n << 63n);
    expect(parseChecksum("0xfe3831a381c602b9")).toBe(0xfe3831a381c602b9n);
    expect(parseChecksum("xyz")).toBeUndefined();
    expect(parseChecksum("1".repeat(17))).toBeUndefined();
    expect(formatChecksum(0x3e8n)).toBe("00000000000003e8");
  });
});
