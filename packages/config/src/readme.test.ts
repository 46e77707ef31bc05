// Runs the README's usage example against the built packages, as a user would.
import { readmeExample, runReadmeExample } from "@sqlrep/testkit";
import { describe, expect, it } from "vitest";

const example = readmeExample(import.meta.url);

describe.skipIf(example.unbuilt)(`README usage example${example.unbuilt ? ` (skipped: ${example.unbuilt})` : ""}`, () => {
  it("runs as written against the built package and prints what its comments say", async () => {
    const out = (await runReadmeExample(example)).trim().split("\n");
    const promised = [...example.code.matchAll(/\/\/ (.+)$/gm)].map((m) => m[1]!.trim());
    expect(out).toEqual(promised);
  });
});
