/** The store on its own: commits, reopen without hashing, crash repair, verification, views, snapshots, retention. */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodeLtx, formatChecksum } from "@sqlrep/ltx";
import { tempDir } from "@sqlrep/testkit";
import { isClusterError } from "../errors.js";
import { allPages, fileChecksum, PageModel, pages } from "../testing/pages.js";
import { encodeSnapshot, restoreSnapshot } from "./snapshot.js";
import { Store } from "./store.js";

const tmp = tempDir("sqlrep-cluster-store-");
afterAll(() => tmp.remove());
let n = 0;
const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;
const open = (dir = tmp.join(`data-${n++}`), extra: Partial<Parameters<typeof Store.open>[0]> = {}) =>
  Store.open({ dataDir: dir, syncInterval: 1e9, verifyOnOpen: false, ...extra });

describe("Store commits", () => {
  it("commits transactions: one LTX file per TXID with chained checksums, the file equals the model, the position is durable after sync", async () => {
    const store = await open();
    const db = await store.create("tenants/acme.db");
    const model = new PageModel();
    const first = allPages(3, 1);
    let pos = await db.commit(first, 3);
    model.apply(first, 3);
    expect(pos).toMatchObject({ txid: 1, checksum: model.checksum() });
    for (let v = 2; v <= 6; v++) {
      const tx = v === 4 ? pages([2, 4, 5], v) : pages([(v % 3) + 1], v);
      const commit = v === 4 ? 5 : model.commit;
      pos = await db.commit(tx, commit);
      model.apply(tx, commit);
      expect(pos.checksum).toBe(model.checksum());
    }
    // shrink
    pos = await db.commit(pages([1], 7), 2);
    model.apply(pages([1], 7), 2);
    expect(pos).toMatchObject({ txid: 7, checksum: model.checksum() });
    expect(fileChecksum(db.files.database)).toBe(model.checksum());
    expect(readFileSync(db.files.database).length).toBe(2 * 4096);
    const files = readdirSync(join(db.files.dir, "ltx"))
      .filter((f) => f.endsWith(".ltx"))
      .sort();
    expect(files).toHaveLength(7);
    let prev = 0n;
    for (const f of files) {
      const ltx = decodeLtx(new Uint8Array(readFileSync(join(db.files.dir, "ltx", f))));
      expect(ltx.header.preApplyChecksum).toBe(prev);
      prev = ltx.trailer.postApplyChecksum;
    }
    expect(prev).toBe(model.checksum());
    await db.sync();
    expect(JSON.parse(readFileSync(db.files.pos, "utf8"))).toMatchObject({ txid: "0000000000000007", checksum: formatChecksum(model.checksum()), commit: 2 });
    await store.close();
  });

  it("refuses pages out of order, past the size, of the wrong size, and a growth or first transaction missing a page", async () => {
    const store = await open();
    const db = await store.create("app.db");
    const refuse = async (p: Promise<unknown>, re: RegExp) => {
      const err = await p.catch((e: unknown) => e);
      expect(isClusterError(err, "invalid-argument")).toBe(true);
      expect((err as Error).message).toMatch(re);
    };
    await refuse(db.commit(pages([1, 3], 1), 3), /first transaction must carry every page 1…3 \(page 2 is missing\)/);
    await db.commit(allPages(2, 1), 2);
    await refuse(db.commit(pages([2, 1], 2), 2), /must ascend/);
    await refuse(db.commit(pages([3], 2), 2), /past the database size/);
    await refuse(db.commit([{ pgno: 1, data: new Uint8Array(100) }], 2), /100 bytes/);
    await refuse(db.commit(pages([4], 2), 4), /grows from 2 to 4 pages but page 3 is missing/);
    expect(db.position.txid).toBe(1);
    // One buffer with page numbers, as a mount hands them over.
    const data = new Uint8Array(2 * 4096);
    data.set(pages([1], 9)[0]!.data, 0);
    data.set(pages([3], 9)[0]!.data, 4096);
    await refuse(db.commit({ pgnos: new Uint32Array([1, 3]), data }, 4), /page 4 is missing/);
    expect((await db.commit({ pgnos: new Uint32Array([1, 3]), data }, 3)).txid).toBe(2);
    await store.close();
  });
});

describe("Store reopen and crash repair", () => {
  it("reopens at the durable position without reading the database file", async () => {
    const dir = tmp.join(`data-${n++}`);
    const store = await open(dir);
    const db = await store.create("app.db");
    await db.commit(allPages(50, 1), 50);
    const pos = await db.commit(pages([7], 2), 50);
    await store.close();
    // If the boot hashed the file it would notice this change; it must not read it.
    const bytes = readFileSync(join(dir, "dbs/app.db/database"));
    bytes[7 * 4096 + 100]! ^= 0xff;
    writeFileSync(join(dir, "dbs/app.db/database"), bytes);
    const again = await open(dir);
    expect(again.require("app.db").position).toMatchObject({ txid: 2, checksum: pos.checksum });
    expect(again.require("app.db").failed).toBeUndefined();
    // ... but the background verification does, and refuses it naming both checksums and the file.
    const err = await again.verify("app.db");
    expect(isClusterError(err, "verify-failed")).toBe(true);
    expect(err!.message).toContain(formatChecksum(pos.checksum));
    expect(err!.message).toContain(join(dir, "dbs/app.db/database"));
    expect(err!.message).toMatch(/pages that differ from their recorded checksums: 8/);
    await expect(again.require("app.db").commit(pages([1], 3), 50)).rejects.toThrow(/is refused/);
    await again.close();
  });

  it("re-applies LTX files written after the durable position (a crash before the sync), whatever reached the file", async () => {
    const dir = tmp.join(`data-${n++}`);
    const store = await open(dir);
    const db = await store.create("app.db");
    const model = new PageModel();
    model.apply(allPages(10, 1), 10);
    await db.commit(allPages(10, 1), 10);
    await db.sync();
    for (let v = 2; v < 8; v++) {
      const tx = v === 7 ? pages([7, 11, 12], v) : pages([v, v + 3], v);
      model.apply(tx, v === 7 ? 12 : 10);
      await db.commit(tx, model.commit);
    }
    // "Crash": the position file still says TXID 1; the file has every write, the table too.
    // Tear the database file back to TXID 1 for some pages, as a lost page-cache write would.
    const bytes = new Uint8Array(readFileSync(db.files.database));
    bytes.set(allPages(10, 1)[3]!.data, 3 * 4096);
    writeFileSync(db.files.database, bytes);
    const again = await open(dir);
    const re = again.require("app.db");
    expect(re.position).toMatchObject({ txid: 7, checksum: model.checksum() });
    expect(re.failed).toBeUndefined();
    expect(fileChecksum(re.files.database)).toBe(model.checksum());
    expect(await again.verify("app.db")).toBeUndefined();
    await again.close();
  });

  it("after a crash whose LTX files cannot be re-applied, knows no checksum past its position (a stale one would hide a divergence)", async () => {
    const dir = tmp.join(`data-${n++}`);
    const store = await open(dir);
    const db = await store.create("app.db");
    const first = await db.commit(allPages(10, 1), 10);
    await db.sync();
    for (let v = 2; v <= 4; v++) await db.commit(pages([v], v), 10);
    expect(db.checksumAt(4)).toBeDefined();
    // "Crash" before the sync, and TXID 2's LTX file damaged: recovery cuts the log at TXID 1.
    // The file is put back as it was at TXID 1 (what the position says).
    const two = db.log.entries.find((e) => e.minTXID === 2)!.file;
    const damaged = new Uint8Array(readFileSync(two));
    damaged.fill(0xff, 200, 260);
    writeFileSync(two, damaged);
    const bytes = new Uint8Array(readFileSync(db.files.database));
    bytes.set(allPages(10, 1)[1]!.data, 1 * 4096);
    bytes.set(allPages(10, 1)[2]!.data, 2 * 4096);
    bytes.set(allPages(10, 1)[3]!.data, 3 * 4096);
    writeFileSync(db.files.database, bytes);
    const again = await open(dir);
    const re = again.require("app.db");
    expect(re.position).toMatchObject({ txid: 1, checksum: first.checksum });
    expect(re.failed).toBeUndefined();
    expect(re.checksumAt(1)).toBe(first.checksum);
    for (const txid of [2, 3, 4]) expect(re.checksumAt(txid)).toBeUndefined();
    // And once it moves on, the history is its own.
    const next = await re.commit(pages([5], 9), 10);
    expect(re.checksumAt(2)).toBe(next.checksum);
    expect(re.checksumAt(3)).toBeUndefined();
    await again.close();
  });

  it("rebuilds a checksum table that does not add up by hashing the file once, and refuses a file that is not the position", async () => {
    const dir = tmp.join(`data-${n++}`);
    const store = await open(dir);
    const db = await store.create("app.db");
    const pos = await db.commit(allPages(20, 1), 20);
    await store.close();
    const table = readFileSync(join(dir, "dbs/app.db/checksums"));
    table[8 * 5 + 3]! ^= 1;
    writeFileSync(join(dir, "dbs/app.db/checksums"), table);
    const again = await open(dir);
    expect(again.require("app.db").failed).toBeUndefined();
    expect(again.require("app.db").position.checksum).toBe(pos.checksum);
    await again.close();
    // Now both: table and file disagree with the position.
    writeFileSync(join(dir, "dbs/app.db/checksums"), table);
    const bytes = readFileSync(join(dir, "dbs/app.db/database"));
    bytes[100]! ^= 1;
    writeFileSync(join(dir, "dbs/app.db/database"), bytes);
    const third = await open(dir);
    const err = third.require("app.db").failed;
    expect(isClusterError(err, "verify-failed")).toBe(true);
    expect(err!.message).toContain(formatChecksum(pos.checksum));
    await third.close();
  });
});

describe("Store views and snapshots", () => {
  it("a view reads one state while commits overwrite and cut pages under it (copy on write)", async () => {
    const store = await open();
    const db = await store.create("app.db");
    const model = new PageModel();
    model.apply(allPages(600, 1), 600);
    await db.commit(allPages(600, 1), 600);
    const expected = model.bytes();
    const view = await db.openView();
    const buf = new Uint8Array(100 * 4096);
    view.read(1, 100, buf);
    expect(same(buf, expected.subarray(0, 100 * 4096))).toBe(true);
    // Overwrite pages already read, not yet read, and cut the end off.
    await db.commit(pages([5, 150, 151, 400], 2), 600);
    await db.commit(pages([1], 3), 300);
    for (let first = 101; first <= 600; first += 100) {
      view.read(first, 100, buf);
      expect(same(buf, expected.subarray((first - 1) * 4096, (first + 99) * 4096))).toBe(true);
    }
    view.release();
    await store.close();
  });

  it("a snapshot encoded from a view restores into another node's store: same checksum, log started over, position durable", async () => {
    const a = await open();
    const b = await open();
    const src = await a.create("app.db");
    await src.commit(allPages(40, 1), 40);
    await src.commit(pages([3, 4], 2), 40);
    const dst = await b.create("app.db");
    await dst.commit(allPages(5, 9), 5);
    const pos = await restoreSnapshot(dst, encodeSnapshot(await src.openView()), { epoch: 7 });
    expect(pos).toMatchObject({ txid: 2, checksum: src.position.checksum, epoch: 7 });
    expect(fileChecksum(dst.files.database)).toBe(src.position.checksum);
    expect(dst.log.tip).toMatchObject({ txid: 2, postApply: src.position.checksum });
    expect(readdirSync(join(dst.files.dir, "ltx")).filter((f) => f.endsWith(".ltx"))).toEqual([]);
    expect(JSON.parse(readFileSync(dst.files.pos, "utf8"))).toMatchObject({ txid: "0000000000000002", epoch: 7 });
    // The next transaction continues the snapshot.
    expect((await dst.commit(pages([1], 3), 40)).txid).toBe(3);
    await a.close();
    await b.close();
  });

  it("a snapshot whose pages do not add up to the view's checksum is refused before its trailer", async () => {
    const store = await open();
    const db = await store.create("app.db");
    await db.commit(allPages(8, 1), 8);
    const bytes = readFileSync(db.files.database);
    bytes[4096 * 2]! ^= 1;
    writeFileSync(db.files.database, bytes);
    const chunks: Uint8Array[] = [];
    const err = await (async () => {
      for await (const c of encodeSnapshot(await db.openView(), { file: db.files.database })) chunks.push(c);
    })().catch((e: unknown) => e);
    expect(isClusterError(err, "verify-failed")).toBe(true);
    await store.close();
  });
});

describe("Store retention", () => {
  it("keeps LTX files younger than the retention and always the newest; drops older ones once durable", async () => {
    const store = await open(undefined, { retention: 60_000 });
    const db = await store.create("app.db");
    const t0 = Date.now() - 120_000;
    await db.commit(allPages(2, 1), 2, { timestamp: t0 });
    await db.commit(pages([1], 2), 2, { timestamp: t0 + 1 });
    await db.commit(pages([2], 3), 2, { timestamp: Date.now() });
    const names = () => readdirSync(join(db.files.dir, "ltx")).filter((f) => f.endsWith(".ltx")).length;
    store.runRetention();
    expect(names()).toBe(3); // not durable yet
    await db.sync();
    store.runRetention();
    expect(names()).toBe(1);
    expect(db.log.entries.map((e) => e.maxTXID)).toEqual([3]);
    await db.commit(pages([2], 4), 2, { timestamp: t0 });
    await db.sync();
    store.runRetention(Date.now() + 3_600_000);
    expect(db.log.entries.map((e) => e.maxTXID)).toEqual([4]);
    expect(existsSync(db.files.database)).toBe(true);
    await store.close();
  });
});
