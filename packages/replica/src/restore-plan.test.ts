/** Unit tests of planFromFiles: which files a restore takes for the latest state, a TXID or a time, and the errors that name what is missing. */
import { describe, expect, it } from "vitest";
import { isReplicaError, type ReplicaErrorCode } from "./errors.js";
import type { LtxFileInfo } from "./replica-client.js";
import { planFromFiles, type RestoreTarget } from "./restore-plan.js";

const T0 = Date.UTC(2025, 0, 1);

/** A listed file; its timestamp is T0 + maxTXID seconds unless given. */
function f(level: number, min: number, max: number, at = max): LtxFileInfo {
  return { level, minTXID: min, maxTXID: max, size: 100, createdAt: new Date(T0 + at * 1000) };
}

function plan(files: LtxFileInfo[], target?: RestoreTarget): string[] {
  return planFromFiles(files, target).files.map((x) => `${x.level}:${x.minTXID}-${x.maxTXID}`);
}

function failure(files: LtxFileInfo[], target?: RestoreTarget): { code: ReplicaErrorCode; message: string } {
  try {
    planFromFiles(files, target);
  } catch (err) {
    if (isReplicaError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error("planFromFiles succeeded");
}

const l0 = (from: number, to: number, skip: number[] = []): LtxFileInfo[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i)
    .filter((t) => !skip.includes(t))
    .map((t) => f(0, t, t));

describe("planFromFiles", () => {
  it("starts from the newest base and takes the longest file at each step", () => {
    const files = [f(9, 1, 10), f(9, 1, 20), ...l0(1, 40), f(1, 11, 30), f(1, 21, 35)];
    expect(plan(files)).toEqual(["9:1-20", "1:21-35", "0:36-36", "0:37-37", "0:38-38", "0:39-39", "0:40-40"]);
    // A compaction file starting at TXID 1 is a base too.
    expect(plan([...files, f(2, 1, 30)]).slice(0, 2)).toEqual(["2:1-30", "1:21-35"]);
    expect(planFromFiles(files).txid).toBe(40);
    expect(planFromFiles(files).timestamp.getTime()).toBe(T0 + 40_000);
  });

  it("breaks ties by lower MinTXID, then by higher level", () => {
    expect(plan([f(9, 1, 5), f(1, 4, 9), f(2, 6, 9), f(3, 6, 9)])).toEqual(["9:1-5", "1:4-9"]);
    expect(plan([f(9, 1, 5), f(1, 6, 9), f(3, 6, 9), f(2, 6, 9)])).toEqual(["9:1-5", "3:6-9"]);
    // A level-9 snapshot beats a compaction file that also starts at TXID 1 and ends at the same TXID.
    expect(plan([f(2, 1, 9), f(9, 1, 9)])).toEqual(["9:1-9"]);
  });

  it("restores every TXID around a snapshot that covers a gap in level 0", () => {
    // The engine lost track of the WAL at TXID 51: level 0 has no 51, the snapshot 1-51 covers it.
    const files = [f(9, 1, 1), ...l0(1, 60, [51]), f(9, 1, 51), f(1, 1, 50), f(1, 52, 60)];
    for (let t = 1; t <= 60; t++) {
      const p = planFromFiles(files, { txid: t });
      expect(p.txid).toBe(t);
      expect(p.files[0]!.minTXID).toBe(1);
      if (t >= 51) expect(p.files[0]).toMatchObject({ level: 9, maxTXID: 51 });
    }
    expect(plan(files)).toEqual(["9:1-51", "1:52-60"]);
    expect(plan(files, { txid: 50 })).toEqual(["1:1-50"]);
    expect(plan(files, { txid: 49 })[0]).toBe("9:1-1");
  });

  it("restores exactly the target TXID, never a file that ends after it", () => {
    const files = [f(9, 1, 10), ...l0(11, 30), f(1, 11, 30)];
    expect(plan(files, { txid: 12 })).toEqual(["9:1-10", "0:11-11", "0:12-12"]);
    expect(plan(files, { txid: 30 })).toEqual(["9:1-10", "1:11-30"]);
    expect(plan(files, { txid: 10 })).toEqual(["9:1-10"]);
  });

  it("says which files end after a TXID that only a compaction covers", () => {
    const files = [f(9, 1, 10), f(1, 11, 30), ...l0(25, 30)];
    const { code, message } = failure(files, { txid: 20 });
    expect(code).toBe("txid-not-available");
    expect(message).toContain("level 1 file 000000000000000b-000000000000001e.ltx");
    expect(message).toContain("reaches TXID 000000000000000a");
  });

  it("lands on the newest state committed at or before a time, never after it", () => {
    const files = [f(9, 1, 10), ...l0(1, 30), f(1, 11, 20), f(1, 21, 30)];
    const at = (s: number) => ({ timestamp: new Date(T0 + s * 1000) });
    expect(planFromFiles(files, at(25)).txid).toBe(25);
    expect(planFromFiles(files, at(25.5)).txid).toBe(25);
    expect(planFromFiles(files, at(30)).txid).toBe(30);
    expect(planFromFiles(files, at(1000)).txid).toBe(30);
    expect(planFromFiles(files, at(9)).txid).toBe(9);
    expect(planFromFiles(files, at(1)).txid).toBe(1);
    // Without level 0 the granularity is level 1's.
    const compacted = [f(9, 1, 10), f(1, 11, 20), f(1, 21, 30)];
    expect(planFromFiles(compacted, at(29)).txid).toBe(20);
    expect(planFromFiles(compacted, at(15)).txid).toBe(10);
  });

  it("says the earliest restorable time when nothing is that old", () => {
    const files = [f(9, 1, 10), f(0, 11, 11)];
    const { code, message } = failure(files, { timestamp: new Date(T0 + 5000) });
    expect(code).toBe("txid-not-available");
    expect(message).toContain(`earliest restorable time is ${new Date(T0 + 10_000).toISOString()}`);
  });

  it("names the gap and the levels listed when the latest state cannot be reached", () => {
    const files = [f(9, 1, 10), ...l0(11, 20, [14, 15, 16]), f(1, 11, 13)];
    const { code, message } = failure(files);
    expect(code).toBe("non-contiguous");
    expect(message).toContain("TXIDs 000000000000000e…0000000000000010 are missing");
    expect(message).toContain("level 0: 7 files");
    expect(message).toContain("level 9: 1 file");
    expect(message).toContain("highest TXID 0000000000000014");
    // A TXID before the gap is still restorable; one after it is not.
    expect(planFromFiles(files, { txid: 13 }).txid).toBe(13);
    expect(failure(files, { txid: 18 }).code).toBe("txid-not-available");
  });

  it("reports a replica without a file starting at TXID 1, an empty replica, and bad targets", () => {
    expect(failure([f(0, 5, 5)]).message).toContain("TXIDs 1…0000000000000004 are missing");
    expect(failure([]).code).toBe("no-backup");
    expect(failure([f(9, 1, 3)], { txid: 4 }).code).toBe("txid-not-available");
    expect(failure([f(9, 1, 3), f(0, 4, 4)], { txid: 2 }).message).toContain("oldest snapshot");
    expect(failure([f(9, 1, 3)], { txid: 0 }).code).toBe("invalid-config");
    expect(failure([f(9, 1, 3)], { txid: 2, timestamp: new Date() }).code).toBe("invalid-config");
    expect(failure([f(9, 1, 3)], { timestamp: new Date(Number.NaN) }).code).toBe("invalid-config");
  });
});
