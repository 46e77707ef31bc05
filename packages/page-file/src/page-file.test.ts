// PageFile against the real file system: batching (counted through the bytes that land),
// the temp file and its rename, in-place writes into an existing file, read-back of
// replaced pages, truncation, and faults naming the file.
import { readFileSync, existsSync, writeFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "@sqlrep/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { FilePageStore, isPageFileError, PageFile } from "./index.js";

const PS = 512;
const page = (byte: number) => new Uint8Array(PS).fill(byte);
const dirs: { path: string; remove(): void }[] = [];
function dir(): string {
  const d = tempDir("page-file-");
  dirs.push(d);
  return d.path;
}
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});

describe("PageFile.create", () => {
  it("writes pages at their offsets into <target>.tmp, in any order, and commit() renames it over the target", async () => {
    const target = join(dir(), "db");
    writeFileSync(target, "old");
    const file = await PageFile.create(target, { pageSize: PS, batchBytes: 3 * PS });
    expect(file.path).toBe(`${target}.tmp`);
    for (const pgno of [1, 2, 3, 4, 5, 9, 7, 8]) await file.write(pgno, page(pgno));
    expect(readFileSync(target, "utf8")).toBe("old");
    await file.commit();
    expect(existsSync(`${target}.tmp`)).toBe(false);
    const bytes = readFileSync(target);
    expect(bytes.length).toBe(9 * PS);
    for (const pgno of [1, 2, 3, 4, 5, 7, 8, 9]) expect(bytes[(pgno - 1) * PS]).toBe(pgno);
    expect(bytes[5 * PS]).toBe(0); // page 6 was never written: a hole of zeros
  });

  it("copies what it is given: the caller may reuse its buffer at once", async () => {
    const target = join(dir(), "db");
    const file = await PageFile.create(target, { pageSize: PS });
    const buf = page(1);
    await file.write(1, buf);
    buf.fill(2);
    await file.write(2, buf);
    await file.commit();
    const bytes = readFileSync(target);
    expect([bytes[0], bytes[PS]]).toEqual([1, 2]);
  });

  it("discard() removes the temp file and leaves the target alone", async () => {
    const target = join(dir(), "db");
    writeFileSync(target, "keep");
    const file = await PageFile.create(target, { pageSize: PS });
    await file.write(1, page(1));
    await file.discard();
    expect(existsSync(`${target}.tmp`)).toBe(false);
    expect(readFileSync(target, "utf8")).toBe("keep");
  });

  it("truncate() cuts the file to whole pages after the writes before it", async () => {
    const target = join(dir(), "db");
    const file = await PageFile.create(target, { pageSize: PS });
    for (let p = 1; p <= 6; p++) await file.write(p, page(p));
    await file.truncate(4);
    expect(await file.size()).toBe(4 * PS);
    await file.commit();
    expect(statSync(target).size).toBe(4 * PS);
  });

  it("refuses pages of the wrong size and page numbers below 1, naming the file", async () => {
    const target = join(dir(), "db");
    const file = await PageFile.create(target, { pageSize: PS });
    await expect(file.write(1, new Uint8Array(PS - 1))).rejects.toSatisfy((e) => isPageFileError(e, "invalid-argument") && /db\.tmp/.test((e as Error).message));
    await expect(file.write(0, page(1))).rejects.toSatisfy((e) => isPageFileError(e, "invalid-argument"));
    await file.discard();
  });

  it("a failing file system is a PageFileError naming the path", async () => {
    await expect(PageFile.create(join(dir(), "missing", "db"), { pageSize: PS })).rejects.toSatisfy(
      (e) => isPageFileError(e, "io") && (e as Error).message.includes("missing/db.tmp"),
    );
  });
});

describe("PageFile.openInPlace", () => {
  it("writes into an existing file without a temp file; readPages sees the writes, pages past the end read as zeros", async () => {
    const target = join(dir(), "db");
    writeFileSync(target, Buffer.concat([page(1), page(2), page(3)]));
    const file = await PageFile.openInPlace(target, { pageSize: PS });
    expect(file.path).toBe(target);
    await file.write(2, page(20));
    await file.write(5, page(50));
    const read = await file.readPages(1, 6);
    expect([0, 1, 2, 3, 4, 5].map((i) => read[i * PS])).toEqual([1, 20, 3, 0, 50, 0]);
    await file.commit();
    expect(existsSync(`${target}.tmp`)).toBe(false);
    const bytes = readFileSync(target);
    expect([bytes[0], bytes[PS], bytes[2 * PS], bytes[4 * PS]]).toEqual([1, 20, 3, 50]);
  });

  it("hands the old bytes of replaced pages over before writing the new ones", async () => {
    const target = join(dir(), "db");
    writeFileSync(target, Buffer.concat([page(1), page(2), page(3)]));
    const file = await PageFile.openInPlace(target, { pageSize: PS });
    const old: [number, number][] = [];
    file.replace({ upTo: 3, old: (pgno, data) => old.push([pgno, data[0]!]) });
    for (const p of [2, 3, 4]) await file.write(p, page(10 * p));
    await file.sync();
    expect(old).toEqual([
      [2, 2],
      [3, 3],
    ]);
    await file.close();
    const bytes = readFileSync(target);
    expect([bytes[0], bytes[PS], bytes[2 * PS], bytes[3 * PS]]).toEqual([1, 20, 30, 40]);
  });

  it("creates a missing file", async () => {
    const target = join(dir(), "new.db");
    const file = await PageFile.openInPlace(target, { pageSize: PS });
    await file.write(1, page(7));
    await file.commit();
    expect(readFileSync(target)[0]).toBe(7);
  });
});

describe("FilePageStore", () => {
  it("is a page store over a file: size, read, write, truncate, delete", async () => {
    const target = join(dir(), "db");
    const store = new FilePageStore(target);
    expect(await store.size()).toBe(0);
    await store.writePage(1, page(1));
    await store.writePage(2, page(2));
    expect(await store.size()).toBe(2 * PS);
    expect((await store.readPage(2, PS))[0]).toBe(2);
    await store.truncate(PS);
    expect(await store.size()).toBe(PS);
    await store.sync();
    await store.close();
    expect(statSync(target).size).toBe(PS);
    await store.delete();
    expect(existsSync(target)).toBe(false);
    expect(await store.size()).toBe(0);
  });
});
