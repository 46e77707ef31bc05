// Runs the README's usage example against the built packages, as a user would.
import { readmeExample, runReadmeExample } from "@sqlrep/testkit";
import { describe, expect, it } from "vitest";

const example = readmeExample(import.meta.url);

describe.skipIf(example.unbuilt)(`README usage example${example.unbuilt ? ` (skipped: ${example.unbuilt})` : ""}`, () => {
  it("runs as written against the built package", async () => {
    const out = await runReadmeExample(example);
    expect(out).toMatch(/^2 0$/m);
    expect(out).toMatch(/restored TXID 2, checksum verified: true/);
  }, 30_000);
});
