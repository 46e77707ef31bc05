// Runs the README's usage example against the built packages, as a user would: without a
// bucket it builds the client only; with SQLREP_TEST_GCS_BUCKET and credentials it writes too.
import { readmeExample, runReadmeExample } from "@sqlrep/testkit";
import { describe, expect, it } from "vitest";

const example = readmeExample(import.meta.url);
const bucket = process.env["SQLREP_TEST_GCS_BUCKET"];
const credentials = process.env["GOOGLE_APPLICATION_CREDENTIALS"] ?? process.env["STORAGE_EMULATOR_HOST"];

describe.skipIf(example.unbuilt)(`README usage example${example.unbuilt ? ` (skipped: ${example.unbuilt})` : ""}`, () => {
  it("runs as written against the built package and prints what the README says", async () => {
    expect(example.printed).toBeDefined();
    expect(await runReadmeExample(example, { env: { REPLICA_URL: undefined }, timeoutMs: 20_000 })).toBe(example.printed);
  }, 30_000);

  it.skipIf(!bucket || !credentials)(
    `writes, lists and deletes with REPLICA_URL${bucket && credentials ? "" : " (skipped: needs SQLREP_TEST_GCS_BUCKET and GOOGLE_APPLICATION_CREDENTIALS or STORAGE_EMULATOR_HOST)"}`,
    async () => {
      const path = `sqlrep-test/readme-${process.pid}/app.db`;
      const out = await runReadmeExample(example, { env: { REPLICA_URL: `gs://${bucket}/${path}` }, timeoutMs: 60_000 });
      expect(out).toBe(`gs replica at gs://${bucket}/${path}, snapshots under ${path}/ltx/9/\nTXID 1-1: 2024-01-02T00:00:00.000Z\n`);
    },
    60_000,
  );
});
