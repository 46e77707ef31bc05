/** Unit tests of PageChecksums against @sqlrep/ltx's full database checksum: grow, rewrite and shrink, the lock page, clones. */
import { describe, expect, it } from "vitest";
import { databaseChecksum, EMPTY_DATABASE_CHECKSUM, lockPgno, pageChecksum } from "@sqlrep/ltx";
import { PageChecksums } from "./page-checksums.js";

/** A tiny deterministic PRNG so failures reproduce. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const PAGE = 512;

function checksumOf(image: Uint8Array[], pageSize: number): bigint {
  const bytes = new Uint8Array(image.length * pageSize);
  image.forEach((p, i) => bytes.set(p, i * pageSize));
  return image.length === 0 ? EMPTY_DATABASE_CHECKSUM : databaseChecksum(bytes, pageSize);
}

describe("PageChecksums", () => {
  it("equals the full database checksum after every staged change (grow, rewrite, shrink), seeded", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rand = prng(seed);
      const image: Uint8Array[] = [];
      const sums = new PageChecksums(PAGE);
      for (let step = 0; step < 40; step++) {
        const change = sums.change();
        const commit = Math.max(1, Math.floor(rand() * 60));
        const next = image.slice(0, commit);
        while (next.length < commit) next.push(new Uint8Array(PAGE));
        const touched = new Set<number>();
        for (let pgno = image.length + 1; pgno <= commit; pgno++) touched.add(pgno); // growth writes every new page
        for (let k = 0; k < 5; k++) touched.add(1 + Math.floor(rand() * commit));
        for (const pgno of [...touched].sort((a, b) => a - b)) {
          const data = new Uint8Array(PAGE).map(() => Math.floor(rand() * 256));
          next[pgno - 1] = data;
          change.set(pgno, pageChecksum(pgno, data));
        }
        // pages written past the final size do not count
        change.set(commit + 3, pageChecksum(commit + 3, new Uint8Array(PAGE).fill(7)));
        const post = change.finish(commit);
        expect(post).toBe(checksumOf(next, PAGE));
        if (rand() < 0.2) continue; // an upload that failed: the base must be untouched
        change.commit();
        image.splice(0, image.length, ...next);
        expect(sums.commit).toBe(commit);
        expect(sums.checksum).toBe(checksumOf(image, PAGE));
      }
    }
  });

  it("leaves the lock page out, as LTX does", () => {
    const pageSize = 65536;
    const lock = lockPgno(pageSize);
    const sums = new PageChecksums(pageSize);
    sums.resize(lock + 1);
    sums.set(lock, pageChecksum(lock, new Uint8Array(pageSize).fill(1)));
    expect(sums.get(lock)).toBe(0n);
  });

  it("clones independently and reports its memory (8 bytes a page)", () => {
    const sums = new PageChecksums(4096, 1000);
    sums.resize(1000);
    for (let p = 1; p <= 1000; p++) sums.set(p, pageChecksum(p, new Uint8Array(4096).fill(p & 255)));
    const copy = sums.clone();
    sums.resize(10);
    expect(copy.commit).toBe(1000);
    expect(copy.checksum).not.toBe(sums.checksum);
    expect(sums.memoryBytes).toBe(8000);
  });
});
