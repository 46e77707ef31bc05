/** Unit tests of verifyReplicaChain against a real file replica: compacted files past a snapshot, and the TXIDs a gap leaves out. */
import { afterAll, describe, expect, it } from "vitest";
import { encodeLtx } from "@sqlrep/ltx";
import { createFileReplicaClient, isReplicaError, SNAPSHOT_LEVEL, type ReplicaClient } from "@sqlrep/replica";
import { tempDir } from "@sqlrep/testkit";
import { verifyReplicaChain } from "./replica-tip.js";

const tmp = tempDir("sqlrep-shipper-tip-");
afterAll(() => tmp.remove());

let n = 0;
/** A replica holding files of one page each, without checksums (contiguity is what is checked here). */
async function replica(files: [level: number, min: number, max: number][]): Promise<ReplicaClient> {
  const client = createFileReplicaClient(tmp.join(`replica-${n++}`));
  for (const [level, minTXID, maxTXID] of files) {
    const bytes = encodeLtx({ pageSize: 512, commit: 1, minTXID, maxTXID, timestamp: maxTXID * 1000 }, [{ pgno: 1, data: new Uint8Array(512).fill(maxTXID) }], {
      checksums: false,
    });
    await client.writeLtxFile({ level, minTXID, maxTXID }, bytes);
  }
  return client;
}

describe("verifyReplicaChain", () => {
  it("follows a compacted file that starts inside the snapshot's range (its level-0 files pruned)", async () => {
    const client = await replica([
      [SNAPSHOT_LEVEL, 1, 13],
      [1, 10, 19],
      [0, 20, 20],
      [0, 21, 22],
    ]);
    expect(await verifyReplicaChain(client)).toMatchObject({ txid: 22, files: 4 });
  });

  it("names the TXIDs missing after the snapshot", async () => {
    const client = await replica([
      [SNAPSHOT_LEVEL, 1, 13],
      [1, 10, 15],
      [0, 18, 20],
    ]);
    const err = await verifyReplicaChain(client).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isReplicaError(err, "non-contiguous")).toBe(true);
    expect((err as Error).message).toContain("TXIDs 0000000000000010…0000000000000011 are missing after the snapshot at 000000000000000d");
  });
});
