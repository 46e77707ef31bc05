/** The synchronous read-back of overwritten pages and the bounded LTX fsyncs, on real files. */
import { closeSync, openSync, writeFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "@sqlrep/testkit";
import { isClusterError } from "../errors.js";
import { fsyncAll } from "./fsync.js";
import { readBackSync } from "./read-back.js";

const tmp = tempDir("sqlrep-cluster-read-back-");
afterAll(() => tmp.remove());
const PAGE = 512;
const page = (fill: number) => new Uint8Array(PAGE).fill(fill);

describe("readBackSync", () => {
  it("hands over the current bytes of each page up to the old size, runs read at once, nothing past it", () => {
    const file = tmp.join("db");
    // Pages 1…6 of the file hold 10 + pgno.
    writeFileSync(file, Buffer.concat(Array.from({ length: 6 }, (_, i) => page(11 + i))));
    const fd = openSync(file, "r");
    try {
      const seen: [number, number, number][] = [];
      const tx = [1, 2, 3, 5, 6, 7, 8].map((pgno) => ({ pgno, data: page(0) }));
      readBackSync(fd, file, tx, 6, PAGE, (pgno, data) => seen.push([pgno, data[0]!, data[PAGE - 1]!]));
      expect(seen).toEqual([
        [1, 11, 11],
        [2, 12, 12],
        [3, 13, 13],
        [5, 15, 15],
        [6, 16, 16],
      ]);
      const none: number[] = [];
      readBackSync(fd, file, [{ pgno: 7, data: page(0) }], 6, PAGE, (pgno) => none.push(pgno));
      expect(none).toEqual([]);
    } finally {
      closeSync(fd);
    }
  });

  it("refuses a file shorter than the pages it should hold, naming the file and offset", () => {
    const file = tmp.join("short");
    writeFileSync(file, page(1));
    const fd = openSync(file, "r");
    try {
      let err: unknown;
      try {
        readBackSync(fd, file, [{ pgno: 2, data: page(0) }], 4, PAGE, () => undefined);
      } catch (e) {
        err = e;
      }
      expect(isClusterError(err, "io")).toBe(true);
      expect((err as Error).message).toContain(file);
      expect((err as { offset?: number }).offset).toBe(PAGE);
    } finally {
      closeSync(fd);
    }
  });
});

describe("fsyncAll", () => {
  it("syncs every file it is given, skips a missing one, and names a file it cannot open", async () => {
    const files = Array.from({ length: 5 }, (_, i) => tmp.join(`ltx-${i}`));
    for (const f of files) writeFileSync(f, "x");
    await fsyncAll([...files, tmp.join("gone")], 2);
    const dir = tmp.join("");
    let err: unknown;
    try {
      await fsyncAll([dir], 2); // a directory cannot be opened for writing
    } catch (e) {
      err = e;
    }
    expect(isClusterError(err, "io")).toBe(true);
    expect((err as Error).message).toContain(dir);
  });
});
