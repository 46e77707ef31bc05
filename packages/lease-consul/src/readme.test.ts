// Runs the README's usage example against the built packages, as a user would.
import { readmeExample, runReadmeExample, startConsulDouble } from "@sqlrep/testkit";
import { describe, expect, it } from "vitest";

const example = readmeExample(import.meta.url);

describe.skipIf(example.unbuilt)(`README usage example, on the Consul double${example.unbuilt ? ` (skipped: ${example.unbuilt})` : ""}`, () => {
  it("runs as written against the built package and prints what the README says", async () => {
    const double = await startConsulDouble();
    try {
      expect(example.printed).toBeDefined();
      expect(await runReadmeExample(example, { env: { CONSUL_URL: double.url } })).toBe(example.printed);
    } finally {
      await double.close();
    }
  }, 30_000);
});
