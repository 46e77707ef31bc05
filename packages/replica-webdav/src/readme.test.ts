// Runs the README's usage example against the built packages and webdav-server, as a user would.
import { readmeExample, runReadmeExample, startWebdavServer } from "@sqlrep/testkit";
import { afterAll, describe, expect, it } from "vitest";

const example = readmeExample(import.meta.url);
const dav = await startWebdavServer();
afterAll(() => dav.stop(), 30_000);

describe.skipIf(example.unbuilt)(`README usage example${example.unbuilt ? ` (skipped: ${example.unbuilt})` : ""}`, () => {
  it("runs as written against the built package and webdav-server, and prints what the README says", async () => {
    expect(await runReadmeExample(example, { env: { REPLICA_URL: dav.replicaUrl("readme/app.db") }, timeoutMs: 20_000 })).toBe(example.printed);
  }, 30_000);
});
