// Runs the README's usage example against the built packages, as a user would.
import { readmeExample, runReadmeExample, startS3Server } from "@sqlrep/testkit";
import { describe, expect, it, afterAll } from "vitest";

const example = readmeExample(import.meta.url);
const s3 = await startS3Server();
afterAll(() => s3.stop(), 30_000);

describe.skipIf(example.unbuilt)(`README usage example${example.unbuilt ? ` (skipped: ${example.unbuilt})` : ""}`, () => {
  it("runs as written against the built package and an S3 server", async () => {
    const out = await runReadmeExample(example, {
      env: { REPLICA_URL: s3.url("readme/app.db"), LITESTREAM_ACCESS_KEY_ID: s3.accessKeyId, LITESTREAM_SECRET_ACCESS_KEY: s3.secretAccessKey },
      timeoutMs: 20_000,
    });
    expect(out).toMatch(/^level 9, TXID 1-1: \d+ bytes, \d{4}-\d\d-\d\dT[\d:.]+Z\nmagic LTX1\n/);
    expect(out).toMatch(/PUT: \{ count: 1, bytes: \d+ \}/);
    expect(out).toMatch(/GET: \{ count: 1, bytes: 4 \}/);
    expect(out).toMatch(/DELETE: \{ count: 1, bytes: 0 \}/);
  }, 30_000);
});
