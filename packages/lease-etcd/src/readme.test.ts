// Runs the README's usage example against the built packages, as a user would.
import { readmeExample, runReadmeExample, etcdAvailable, etcdUnavailableReason, startEtcd } from "@sqlrep/testkit";
import { describe, expect, it } from "vitest";

const example = readmeExample(import.meta.url);
const skip = !etcdAvailable() ? etcdUnavailableReason() : example.unbuilt;

describe.skipIf(skip !== undefined)(`README usage example${skip ? ` (skipped: ${skip})` : ""}`, () => {
  it("runs as written against the built package and a real etcd, and prints what the README says", async () => {
    const etcd = await startEtcd();
    try {
      expect(example.printed).toBeDefined();
      expect(await runReadmeExample(example, { env: { ETCD_ENDPOINTS: etcd.endpoints.join(",") } })).toBe(example.printed);
    } finally {
      await etcd.stop();
    }
  }, 30_000);
});
