// Runs the README's usage example against the built packages, as a user would.
import { readmeExample, runReadmeExample } from "@sqlrep/testkit";
import { describe, expect, it } from "vitest";

const example = readmeExample(import.meta.url);

describe.skipIf(example.unbuilt)(`README usage example${example.unbuilt ? ` (skipped: ${example.unbuilt})` : ""}`, () => {
  it("runs as written against the built package", async () => {
    const out = (await runReadmeExample(example)).trim().split("\n");
    // First pass: the CREATE TABLE and the INSERT; second pass: only the UPDATE.
    const ends = out.map((line) => Number(/tx ending at (\d+)/.exec(line)?.[1]));
    expect(ends.every((n) => n > 32)).toBe(true);
    const last = ends.at(-1) as number;
    expect(out.filter((line) => line.includes(`tx ending at ${last}:`)).length).toBeGreaterThan(0);
    expect(new Set(ends).size).toBe(3);
  });
});
