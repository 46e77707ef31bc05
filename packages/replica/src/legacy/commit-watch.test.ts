/** Unit tests of CommitWatch on WALs made by the WAL encoder: it fires exactly when a commit frame is whole, for any block size. */
import { describe, expect, it } from "vitest";
import { WalEncoder } from "@sqlrep/wal";
import { CommitWatch } from "./commit-watch.js";

/** A WAL of `n` transactions of two 512-byte pages each (commit on the second). */
function wal(n: number): { bytes: Uint8Array; commitEnds: number[] } {
  const enc = new WalEncoder({ pageSize: 512, salt1: 1, salt2: 2 });
  const parts = [enc.headerBytes];
  const commitEnds: number[] = [];
  for (let t = 0; t < n; t++) {
    parts.push(enc.frame(1, new Uint8Array(512).fill(t)), enc.frame(2, new Uint8Array(512).fill(t), 2));
    commitEnds.push(enc.offset);
  }
  const bytes = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return { bytes, commitEnds };
}

describe("CommitWatch", () => {
  it.each([1, 3, 5, 7, 536, 1000, 4096])("fires exactly when a commit frame has arrived whole, in blocks of %i bytes", (size) => {
    const { bytes, commitEnds } = wal(6);
    const watch = new CommitWatch();
    const fired: number[] = [];
    for (let at = 0; at < bytes.length; at += size) {
      const block = bytes.subarray(at, Math.min(bytes.length, at + size));
      const end = at + block.length;
      if (watch.push(block, end >= 32 ? 536 : undefined)) fired.push(end);
    }
    // Each time it fires, a commit frame has just been completed by that block, and every commit is covered.
    for (const end of fired) expect(commitEnds.some((c) => c <= end && c > end - size)).toBe(true);
    expect(fired.at(-1)).toBe(bytes.length);
    for (const c of commitEnds) expect(fired.some((end) => end >= c)).toBe(true);
    if (size <= 536) expect(fired).toHaveLength(commitEnds.length);
  });

  it("stays quiet without the frame size and before a commit frame is whole", () => {
    const { bytes } = wal(1);
    const watch = new CommitWatch();
    expect(watch.push(bytes.subarray(0, 32), undefined)).toBe(false);
    expect(watch.push(bytes.subarray(32, bytes.length - 1), 536)).toBe(false);
    expect(watch.push(bytes.subarray(bytes.length - 1), 536)).toBe(true);
  });
});
