/** Test that a read cut off by killing the WebDAV server mid-body fails with a retryable ReplicaError naming the file. */
import { afterAll, describe, expect, it } from "vitest";
import { isReplicaError, type ReplicaError } from "@sqlrep/replica";
import { ltxFile } from "@sqlrep/replica/conformance";
import { startWebdavServer } from "@sqlrep/testkit";
import { parseWebdavUrl } from "./backend.js";
import { createWebdavReplicaClient } from "./replica.js";

const dav = await startWebdavServer();
afterAll(() => dav.stop(), 30_000);

describe("a dead server", () => {
  it("fails a read cut off when the server is killed mid-body with a retryable ReplicaError naming the file", async () => {
    const client = createWebdavReplicaClient(parseWebdavUrl(dav.replicaUrl("faults/db")), { attempts: 2, backoffMs: 10 });
    const ref = { level: 9, minTXID: 1, maxTXID: 1 };
    await client.writeLtxFile(ref, ltxFile(1, 1, 30_000)); // ~30 MiB
    const body = await client.openLtxFile(ref);
    let received = 0;
    const error = await (async () => {
      for await (const chunk of body) {
        if (received === 0) dav.process.kill();
        received += chunk.length;
      }
    })().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(30_000 * 1024);
    expect(isReplicaError(error, "io")).toBe(true);
    expect((error as ReplicaError).retryable).toBe(true);
    expect((error as ReplicaError).key).toBe("faults/db/ltx/9/0000000000000001-0000000000000001.ltx");
    // Writes and listings against the dead port fail the same way.
    const write = await client.writeLtxFile({ level: 0, minTXID: 2, maxTXID: 2 }, ltxFile(2, 2)).catch((err: unknown) => err);
    expect(write).toMatchObject({ name: "ReplicaError", code: "io", retryable: true, key: "faults/db/ltx/0/0000000000000002-0000000000000002.ltx" });
    expect((write as Error).message).toMatch(/ECONNREFUSED/);
  }, 30_000);
});
