/** Tests of applyLtx: the golden chains made by the reference implementations reproduce their result databases; gaps, shrinks, lock page, bad checksums. */
import { hasSharedTestdata, noSharedTestdataReason } from "@sqlrep/testkit";
import { describe, expect, it } from "vitest";
import { applyLtx } from "./apply.js";
import { CHECKSUM_FLAG, DatabaseChecksum, databaseChecksum, formatChecksum, lockPgno, pageChecksum } from "./checksum.js";
import { LtxReader } from "./decoder.js";
import { encodeLtx, encodeLtxStream, type LtxHeaderInit } from "./encoder.js";
import { isLtxError, type LtxErrorCode } from "./errors.js";
import { MemoryPageStore } from "./page-store.js";
import { chainsOf, fixtureBytes, fixtureFolders, hex64, sha256, topFixtureBytes } from "./testing/fixtures.js";
import { fill } from "./testing/pages.js";
import { asyncSource, randomChunks, Rng } from "./testing/random.js";
import { ZeroPageChecksums } from "./zero-page.js";

async function failure(promise: Promise<unknown>): Promise<{ code: LtxErrorCode; file: string | undefined } | undefined> {
  try {
    await promise;
  } catch (err) {
    if (isLtxError(err)) return { code: err.code, file: err.file };
    throw err;
  }
  return undefined;
}

describe.skipIf(!hasSharedTestdata)(`applying the golden chains${hasSharedTestdata ? "" : ` (skipped: ${noSharedTestdataReason})`}`, () => {
  const chains = fixtureFolders().flatMap((folder) =>
    chainsOf(folder).map((chain) => [`${folder.version}: ${chain.map((e) => e.file).join(" → ")}`, folder.version, chain] as const),
  );

  it("finds the chains of every folder", () => {
    expect(chains.length).toBe(9); // chain-01…04 of v1, v1lz4, v2, v3f, v3b; nochecksum pairs of v1x, v2, v3f, v3b
  });

  it.each(chains)("%s reproduces every result_db", async (_name, version, chain) => {
    const store = new MemoryPageStore();
    let pos: Awaited<ReturnType<typeof applyLtx>> | undefined;
    const rng = new Rng(chain.length);
    for (const entry of chain) {
      const source = asyncSource(randomChunks(fixtureBytes(version, entry.file), rng, 500));
      pos = await applyLtx(store, [new LtxReader(source, { file: entry.file })], { pos });
      expect(pos.txid).toBe(entry.header.max_txid);
      const db = store.bytes();
      expect(db.length).toBe(entry.result_db!.size);
      expect(sha256(db)).toBe(entry.result_db!.sha256);
      expect(pos.postApplyChecksum).toBe(hex64(entry.result_db!.checksum));
      if (db.length > 0) expect(databaseChecksum(db, entry.header.page_size)).toBe(hex64(entry.result_db!.checksum));
    }
  });

  it.each(chains)("%s applied in one call without a starting position", async (_name, version, chain) => {
    const store = new MemoryPageStore();
    const last = chain[chain.length - 1]!;
    const pos = await applyLtx(
      store,
      chain.map((e) => fixtureBytes(version, e.file)),
      { names: chain.map((e) => e.file) },
    );
    expect(pos).toEqual({ txid: last.header.max_txid, postApplyChecksum: hex64(last.result_db!.checksum) });
    expect(sha256(store.bytes())).toBe(last.result_db!.sha256);
  });

  it("applies the LiteFS incremental onto its own result (pre-apply mismatch names the file)", async () => {
    const db = topFixtureBytes("litefs-v1-incremental-txid13-post-apply.db");
    expect(formatChecksum(databaseChecksum(db, 4096))).toBe("fe3831a381c602b9");
    const ltx = topFixtureBytes("litefs-v1-incremental-txid13-3pages.ltx");
    // The pre-apply state is not available; the post-apply database does not match it.
    expect(await failure(applyLtx(new MemoryPageStore(db), [ltx], { names: ["litefs.ltx"] }))).toEqual({
      code: "pre-apply-checksum-mismatch",
      file: "litefs.ltx",
    });
  });

  it("rejects a chain with a TXID gap, naming the file", async () => {
    const folder = fixtureFolders().find((f) => f.version === "v3-block")!;
    const [c1, , c3] = chainsOf(folder)[0]!;
    const store = new MemoryPageStore();
    const pos = await applyLtx(store, [fixtureBytes("v3-block", c1!.file)]);
    expect(await failure(applyLtx(store, [fixtureBytes("v3-block", c3!.file)], { pos, names: [c3!.file] }))).toEqual({
      code: "non-contiguous",
      file: c3!.file,
    });
    // Without a position the gap shows as a pre-apply checksum mismatch.
    expect((await failure(applyLtx(store, [fixtureBytes("v3-block", c3!.file)])))?.code).toBe("pre-apply-checksum-mismatch");
  });
});

const ps = 512;
const init = (h: Partial<LtxHeaderInit> & Pick<LtxHeaderInit, "minTXID" | "maxTXID" | "commit">): LtxHeaderInit => ({ pageSize: ps, timestamp: 0, ...h });

describe("applyLtx", () => {
  it("grows with zero gaps, shrinks and deletes, keeping the checksum in step", async () => {
    const store = new MemoryPageStore();
    const snap = encodeLtx(init({ minTXID: 1, maxTXID: 1, commit: 2 }), [
      { pgno: 1, data: fill(1, ps) },
      { pgno: 2, data: fill(2, ps) },
    ]);
    let pos = await applyLtx(store, [snap]);
    // Grow to 5 pages writing only page 5: pages 3 and 4 are zeros.
    const grownDb = new Uint8Array(5 * ps);
    grownDb.set(fill(1, ps), 0);
    grownDb.set(fill(2, ps), ps);
    grownDb.set(fill(5, ps), 4 * ps);
    const grow = encodeLtx(init({ minTXID: 2, maxTXID: 2, commit: 5, preApplyChecksum: pos.postApplyChecksum }), [{ pgno: 5, data: fill(5, ps) }], {
      postApplyChecksum: databaseChecksum(grownDb, ps),
    });
    pos = await applyLtx(store, [grow], { pos });
    expect(store.bytes()).toEqual(grownDb);
    const shrink = encodeLtx(init({ minTXID: 3, maxTXID: 3, commit: 1, preApplyChecksum: pos.postApplyChecksum }), [], {
      postApplyChecksum: databaseChecksum(grownDb.subarray(0, ps), ps),
    });
    pos = await applyLtx(store, [shrink], { pos });
    expect(store.bytes()).toEqual(fill(1, ps));
    const del = encodeLtx(init({ minTXID: 4, maxTXID: 4, commit: 0, preApplyChecksum: pos.postApplyChecksum }), []);
    pos = await applyLtx(store, [del], { pos });
    expect(pos).toEqual({ txid: 4, postApplyChecksum: CHECKSUM_FLAG });
    expect(await store.size()).toBe(0);
  });

  it("rejects a file whose post-apply checksum the result does not match", async () => {
    const store = new MemoryPageStore();
    const pos = await applyLtx(store, [encodeLtx(init({ minTXID: 1, maxTXID: 1, commit: 1 }), [{ pgno: 1, data: fill(1, ps) }])]);
    const lie = encodeLtx(init({ minTXID: 2, maxTXID: 2, commit: 1, preApplyChecksum: pos.postApplyChecksum }), [{ pgno: 1, data: fill(2, ps) }], {
      postApplyChecksum: CHECKSUM_FLAG | 12345n,
    });
    expect(await failure(applyLtx(store, [lie], { pos, names: ["lie.ltx"] }))).toEqual({ code: "post-apply-checksum-mismatch", file: "lie.ltx" });
  });

  it("applies NoChecksum files and reports the real checksum", async () => {
    const store = new MemoryPageStore();
    const pos = await applyLtx(store, [
      encodeLtx(
        init({ minTXID: 1, maxTXID: 3, commit: 2 }),
        [
          { pgno: 1, data: fill(1, ps) },
          { pgno: 2, data: fill(2, ps) },
        ],
        { checksums: false },
      ),
      encodeLtx(init({ minTXID: 4, maxTXID: 4, commit: 2 }), [{ pgno: 2, data: fill(3, ps) }], { checksums: false }),
    ]);
    expect(pos.txid).toBe(4);
    expect(pos.postApplyChecksum).toBe(databaseChecksum(store.bytes(), ps));
  });

  it("grows an incremental database across the lock page, counting the zero gap", async () => {
    const pageSize = 65536;
    const lock = lockPgno(pageSize);
    let lockWrites = 0;
    const store = new MemoryPageStore();
    const sparse = {
      size: () => store.size(),
      readPage: (pgno: number, n: number) => store.readPage(pgno, n),
      writePage: async (pgno: number, data: Uint8Array) => {
        if (pgno === lock) lockWrites++;
        else if (pgno === 1) await store.writePage(pgno, data);
      },
      truncate: async (n: number) => void (n <= pageSize ? await store.truncate(n) : undefined),
      delete: () => store.delete(),
    };
    let pos = await applyLtx(sparse, [encodeLtx({ pageSize, commit: 1, minTXID: 1, maxTXID: 1, timestamp: 0 }, [{ pgno: 1, data: fill(1, pageSize) }])]);
    const zeros = new ZeroPageChecksums(pageSize);
    const want = new DatabaseChecksum(pos.postApplyChecksum).add(pageChecksum(lock + 1, fill(9, pageSize)));
    for (let pgno = 2; pgno < lock; pgno++) want.add(zeros.checksum(pgno));
    const grow = encodeLtx(
      { pageSize, commit: lock + 1, minTXID: 2, maxTXID: 2, timestamp: 0, preApplyChecksum: pos.postApplyChecksum },
      [{ pgno: lock + 1, data: fill(9, pageSize) }],
      { postApplyChecksum: want.value },
    );
    pos = await applyLtx(sparse, [grow], { pos });
    expect(pos.postApplyChecksum).toBe(want.value);
    expect(lockWrites).toBe(1);
  });

  it("zeroes the lock page when a snapshot crosses it", { timeout: 30_000 }, async () => {
    const pageSize = 65536;
    const lock = lockPgno(pageSize);
    // A 1 GiB database that keeps only what matters: its size and the lock page's bytes.
    let size = (lock + 1) * pageSize;
    let lockPage = fill(0xee, pageSize);
    const store = {
      size: async () => size,
      readPage: async () => new Uint8Array(pageSize),
      writePage: async (pgno: number, data: Uint8Array) => {
        if (pgno === lock) lockPage = data.slice();
        size = Math.max(size, pgno * pageSize);
      },
      truncate: async (n: number) => void (size = n),
      delete: async () => void (size = 0),
    };
    const zero = new Uint8Array(pageSize);
    function* pages() {
      for (let pgno = 1; pgno <= lock + 1; pgno++) if (pgno !== lock) yield { pgno, data: zero };
    }
    const snap = encodeLtxStream({ pageSize, commit: lock + 1, minTXID: 1, maxTXID: 1, timestamp: 0 }, pages(), { format: "v1", checksums: false });
    await applyLtx(store, [snap]);
    expect(lockPage).toEqual(zero);
    expect(size).toBe((lock + 1) * pageSize);
  });

  it("rejects a page size that does not fit the database", async () => {
    const store = new MemoryPageStore(new Uint8Array(1000));
    const f = encodeLtx(init({ minTXID: 2, maxTXID: 2, commit: 1 }), [{ pgno: 1, data: fill(1, ps) }], { checksums: false });
    expect((await failure(applyLtx(store, [f])))?.code).toBe("page-size-mismatch");
  });
});
