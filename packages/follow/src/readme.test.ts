// Runs the README's usage example against the built packages, as a user would.
import { readmeExample, runReadmeExample } from "@sqlrep/testkit";
import { describe, expect, it } from "vitest";

const example = readmeExample(import.meta.url);

describe.skipIf(example.unbuilt)(`README usage example${example.unbuilt ? ` (skipped: ${example.unbuilt})` : ""}`, () => {
  it("runs as written and prints what the README says", async () => {
    expect(example.printed).toBeDefined();
    expect(await runReadmeExample(example)).toBe(example.printed);
  });
});
