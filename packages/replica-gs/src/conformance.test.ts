/** The ReplicaClient conformance suite against a real GCS bucket or emulator, skipped (saying what to set) when none is configured. */
import { describe, expect, it } from "vitest";
import { describeReplicaClient, ltxFile } from "@sqlrep/replica/conformance";
import { parseGsUrl } from "./backend.js";
import { createGsReplicaClient } from "./replica.js";

// No GCS emulator installs from npm or Debian here (see the README), so the suite runs
// against a real bucket — or whatever $STORAGE_EMULATOR_HOST points at — when given one.
const bucket = process.env["SQLREP_TEST_GCS_BUCKET"];
const credentials = process.env["GOOGLE_APPLICATION_CREDENTIALS"] ?? process.env["STORAGE_EMULATOR_HOST"];
const missing = !bucket ? "SQLREP_TEST_GCS_BUCKET is not set" : !credentials ? "neither GOOGLE_APPLICATION_CREDENTIALS nor STORAGE_EMULATOR_HOST is set" : undefined;
const title =
  missing === undefined
    ? `against gs://${bucket}`
    : `(skipped: ${missing}; set SQLREP_TEST_GCS_BUCKET=<a bucket you may write to> and GOOGLE_APPLICATION_CREDENTIALS=<key file> or STORAGE_EMULATOR_HOST=<host:port>)`;
const runId = `sqlrep-test/${Date.now().toString(36)}-${process.pid}`;

describe.skipIf(missing !== undefined)(`GCS conformance ${title}`, () => {
  let run = 0;
  describeReplicaClient("gs (a fresh prefix per test)", async () => {
    const client = createGsReplicaClient(parseGsUrl(`gs://${bucket}/${runId}/run-${++run}/db`));
    return { client, cleanup: () => client.deleteAll() };
  });

  it("refuses a create-only write over an existing object (ifGenerationMatch: 0), single and resumable", async () => {
    const client = createGsReplicaClient(parseGsUrl(`gs://${bucket}/${runId}/create-only/db`));
    const ref = { level: 0, minTXID: 3, maxTXID: 3 };
    const first = ltxFile(3, 3, 1);
    await client.writeLtxFile(ref, first, { ifNotExists: true });
    await expect(client.writeLtxFile(ref, ltxFile(3, 3, 2), { ifNotExists: true })).rejects.toMatchObject({ code: "exists" });
    async function* chunks() {
      yield ltxFile(3, 3, 9000);
    }
    await expect(client.writeLtxFile(ref, chunks(), { ifNotExists: true })).rejects.toMatchObject({ code: "exists" });
    expect(Buffer.compare(await client.readLtxRange(ref, 0, first.length), first)).toBe(0);
    await client.deleteAll();
  }, 60_000);
});
