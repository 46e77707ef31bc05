// Runs the README's usage example against the built packages and Azurite, as a user would.
import { readmeExample, runReadmeExample, startAzurite } from "@sqlrep/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { parseAbsUrl } from "./backend.js";
import { createBlobServiceClient } from "./replica.js";
import { resolveAbsSettings } from "./settings.js";

const example = readmeExample(import.meta.url);
const azurite = await startAzurite();
afterAll(() => azurite.stop(), 30_000);

describe.skipIf(example.unbuilt)(`README usage example${example.unbuilt ? ` (skipped: ${example.unbuilt})` : ""}`, () => {
  it("runs as written against the built package and Azurite, and prints what the README says", async () => {
    const env = { LITESTREAM_AZURE_ACCOUNT_KEY: azurite.accountKey };
    const url = azurite.url("readme", "app.db");
    await createBlobServiceClient(resolveAbsSettings(parseAbsUrl(url), env))
      .getContainerClient("readme")
      .createIfNotExists();
    expect(await runReadmeExample(example, { env: { ...env, REPLICA_URL: url }, timeoutMs: 20_000 })).toBe(example.printed);
  }, 30_000);
});
