/** Test that a write cut off by killing Azurite mid-upload fails with a retryable ReplicaError naming the blob. */
import { afterAll, describe, expect, it } from "vitest";
import { isReplicaError, type ReplicaError } from "@sqlrep/replica";
import { ltxFile } from "@sqlrep/replica/conformance";
import { startAzurite } from "@sqlrep/testkit";
import { parseAbsUrl } from "./backend.js";
import { createAbsReplicaClient, createBlobServiceClient } from "./replica.js";
import { resolveAbsSettings } from "./settings.js";

const azurite = await startAzurite();
afterAll(() => azurite.stop(), 30_000);
const env = { LITESTREAM_AZURE_ACCOUNT_KEY: azurite.accountKey };
const retry = { maxTries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 50 };

describe("a dead endpoint", () => {
  it("fails a write cut off when Azurite is killed mid-upload with a retryable ReplicaError naming the blob", async () => {
    const spec = parseAbsUrl(azurite.url("faults", "db"));
    await createBlobServiceClient(resolveAbsSettings(spec, env)).getContainerClient("faults").createIfNotExists();
    const client = createAbsReplicaClient(spec, { env, retry });
    await client.writeLtxFile({ level: 0, minTXID: 1, maxTXID: 1 }, ltxFile(1, 1)); // the server works
    const big = ltxFile(2, 2, 20_000); // ~20 MiB: several staged blocks
    let sent = 0;
    async function* slowly(): AsyncIterable<Uint8Array> {
      for (let at = 0; at < big.length; at += 1 << 20) {
        if (at === 4 << 20) azurite.process.kill(); // after the first block went up
        sent += 1;
        yield big.subarray(at, at + (1 << 20));
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    const error = await client.writeLtxFile({ level: 0, minTXID: 2, maxTXID: 2 }, slowly()).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(sent).toBeGreaterThan(4);
    expect(isReplicaError(error, "io")).toBe(true);
    expect((error as ReplicaError).retryable).toBe(true);
    expect((error as ReplicaError).key).toBe("db/ltx/0/0000000000000002-0000000000000002.ltx");
    expect((error as Error).message).toContain("abs://faults/db/ltx/0/0000000000000002-0000000000000002.ltx");
    // Reads and listings against the dead port fail the same way, quickly.
    const read = await client.readLtxRange({ level: 0, minTXID: 1, maxTXID: 1 }, 0, 10).catch((err: unknown) => err);
    expect(read).toMatchObject({ name: "ReplicaError", code: "io", retryable: true, key: "db/ltx/0/0000000000000001-0000000000000001.ltx" });
  }, 30_000);
});
