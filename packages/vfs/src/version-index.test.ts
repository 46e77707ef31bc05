// The multi-version page index against a naive model: every version answers as the
// model's copy of it did, before and after folds.
import { describe, expect, it } from "vitest";
import { rng } from "./testing/model.js";
import { DATA, dataSlot, fileSlot, MISSING, VersionIndex, ZERO, zeroSlot, type Slot } from "./version-index.js";

function key(slot: Slot): string {
  return slot.file === DATA ? `data:${slot.data![0]}` : slot.file === ZERO ? "zero" : slot.file === MISSING ? "missing" : `${slot.file}/${slot.entry}`;
}

describe("VersionIndex", () => {
  it("answers every live version like a copy per version would, across folds", () => {
    const random = rng(42);
    const index = new VersionIndex();
    const pages = 200;
    const model: Map<number, string>[] = [new Map()];
    for (let p = 1; p <= pages; p++) {
      index.setBase(p, fileSlot(0, p));
      model[0]!.set(p, `0/${p}`);
    }
    let floor = 0;
    for (let v = 1; v <= 300; v++) {
      const seq = index.begin();
      expect(seq).toBe(v);
      const state = new Map(model[v - 1]!);
      for (let i = 0; i < 1 + Math.floor(random() * 10); i++) {
        const p = 1 + Math.floor(random() * pages);
        const r = random();
        const slot = r < 0.1 ? zeroSlot : r < 0.3 ? dataSlot(new Uint8Array([v & 0xff])) : fileSlot(v, p);
        index.set(p, seq, slot);
        state.set(p, key(slot));
      }
      model.push(state);
      if (v % 37 === 0) {
        floor = v - Math.floor(random() * 20);
        index.fold(floor);
      }
      for (const check of [floor, Math.floor((floor + v) / 2), v]) {
        for (let p = 1; p <= pages; p += 7) expect(key(index.lookup(p, check)), `page ${p} at ${check}`).toBe(model[check]!.get(p));
      }
    }
    expect(index.lookup(pages + 1, index.seq).file).toBe(MISSING);
    expect(index.historySize).toBeLessThan(300 * 10);
  });

  it("changedSince lists the pages written after a version", () => {
    const index = new VersionIndex();
    index.setBase(1, fileSlot(0, 0));
    const a = index.begin();
    index.set(2, a, fileSlot(1, 0));
    const b = index.begin();
    index.set(3, b, fileSlot(2, 0));
    expect(index.changedSince(a).sort()).toEqual([3]);
    expect(index.changedSince(0).sort()).toEqual([2, 3]);
    expect(() => index.set(4, a, fileSlot(3, 0))).toThrow(/newest/);
  });
});
