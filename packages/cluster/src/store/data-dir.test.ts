/** Tests of the data directory's epoch file: kept across restarts, never read as 0 when damaged. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "@sqlrep/testkit";
import { isClusterError } from "../errors.js";
import { DataDir } from "./data-dir.js";

const tmp = tempDir("sqlrep-cluster-datadir-");
afterAll(() => tmp.remove());

describe("the epoch file", () => {
  it("keeps the highest epoch across restarts, and a lower one stays refused", () => {
    const dir = tmp.join("restart");
    new DataDir(dir).noteEpoch(7, "node-a");
    const again = new DataDir(dir);
    expect(again.maxEpoch).toBe(7);
    expect(() => again.noteEpoch(6, "node-b")).toThrow(expect.objectContaining({ code: "epoch-stale" }));
    again.noteEpoch(12, "node-c");
    expect(new DataDir(dir).maxEpoch).toBe(12);
  });

  it("overwrites an older, shorter file in place", () => {
    const dir = tmp.join("older");
    new DataDir(dir);
    writeFileSync(join(dir, "epoch"), "5\n");
    const d = new DataDir(dir);
    expect(d.maxEpoch).toBe(5);
    d.noteEpoch(123456, "node-a");
    expect(new DataDir(dir).maxEpoch).toBe(123456);
  });

  it("reads an empty file (a crash before its first write) as no epoch, and refuses a damaged one naming it", () => {
    const dir = tmp.join("damaged");
    new DataDir(dir);
    writeFileSync(join(dir, "epoch"), "");
    expect(new DataDir(dir).maxEpoch).toBe(0);
    for (const bad of ["00000000000000000x07\n", "-3\n", "\u0000\u0000\u0000"]) {
      writeFileSync(join(dir, "epoch"), bad);
      let error: unknown;
      try {
        new DataDir(dir);
      } catch (err) {
        error = err;
      }
      expect(isClusterError(error, "corrupt"), `${JSON.stringify(bad)}: ${String(error)}`).toBe(true);
      expect((error as Error).message).toContain(join(dir, "epoch"));
    }
  });
});
