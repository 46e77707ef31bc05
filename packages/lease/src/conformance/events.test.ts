// The mutual-exclusion checker: it must catch overlapping holders and epochs that do not increase.
import { describe, expect, it } from "vitest";
import { exclusionViolations, tenures, type ChildEvent } from "./events.js";

const run = (entries: Record<string, ChildEvent[]>) => exclusionViolations(tenures(new Map(Object.entries(entries))));

describe("exclusion checker", () => {
  it("accepts holders one after another with increasing epochs", () => {
    expect(
      run({
        a: [
          { ev: "acquired", t: 1, epoch: 5, id: "x" },
          { ev: "act", t: 2, epoch: 5 },
          { ev: "releasing", t: 3, epoch: 5 },
        ],
        b: [
          { ev: "acquired", t: 4, epoch: 9, id: "y" },
          { ev: "act", t: 6, epoch: 9 },
        ],
      }),
    ).toEqual([]);
  });

  it("reports a holder acquiring while another still acts", () => {
    const problems = run({
      a: [
        { ev: "acquired", t: 1, epoch: 5, id: "x" },
        { ev: "act", t: 10, epoch: 5 },
      ],
      b: [{ ev: "acquired", t: 4, epoch: 9, id: "y" }],
    });
    expect(problems).toEqual(["b (epoch 9) acquired at 4.0 while a (epoch 5) still acted until 10.0"]);
  });

  it("reports an epoch that does not increase", () => {
    const problems = run({
      a: [{ ev: "acquired", t: 1, epoch: 5, id: "x" }],
      b: [{ ev: "acquired", t: 4, epoch: 5, id: "y" }],
    });
    expect(problems).toEqual(["epoch went from 5 (a) to 5 (b): not strictly increasing"]);
  });

  it("ends a frozen holder's tenure at its last act, not at its late step-down", () => {
    expect(
      run({
        a: [
          { ev: "acquired", t: 1, epoch: 5, id: "x" },
          { ev: "act", t: 2, epoch: 5 },
          { ev: "stepped-down", t: 50, epoch: 5, reason: "lost", message: "" },
        ],
        b: [{ ev: "acquired", t: 20, epoch: 7, id: "y" }],
      }),
    ).toEqual([]);
  });
});
