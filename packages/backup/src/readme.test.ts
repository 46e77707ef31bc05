// Runs the README's usage example against the built packages, as a user would.
import { readmeExample, runReadmeExample } from "@sqlrep/testkit";
import { describe, expect, it } from "vitest";

const example = readmeExample(import.meta.url);

describe.skipIf(example.unbuilt)(`README usage example${example.unbuilt ? ` (skipped: ${example.unbuilt})` : ""}`, () => {
  it("runs as written against the built package", async () => {
    const out = await runReadmeExample(example);
    expect(out).toMatch(/TXID 1 uploaded \(\d+ bytes, level 9\)/);
    expect(out).toMatch(/TXID 2 uploaded \(\d+ bytes, level 0\)/);
    expect(out).toMatch(/replica at TXID 2, lag 0 ms/);
    expect(out).toMatch(/litestream_replica_txid\{db="[^"]+",name="local"\} 2/);
    expect(out).toMatch(/restored TXID 2, checksum verified: true/);
  }, 30_000);
});
