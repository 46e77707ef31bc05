/** Test of replicaPosition on a directory replica built from the history model: empty, and the highest TXID with the lowest-level file ending there. */
import { describe, expect, it } from "vitest";
import { tempDir } from "@sqlrep/testkit";
import { replicaPosition } from "./position.js";
import { createFileReplicaClient } from "./file-replica.js";
import { History, Rng } from "./testing/history.js";

describe("replicaPosition", () => {
  it("is TXID 0 for an empty replica, else the highest TXID and the lowest-level file ending there", async () => {
    using dir = tempDir("sqlrep-position-");
    const client = createFileReplicaClient(dir.path);
    expect(await replicaPosition(client)).toEqual({ txid: 0, file: undefined });
    const h = new History(new Rng(5));
    for (let t = 1; t <= 9; t++) h.commitRandom();
    await h.write(client, 9, 1, 9);
    expect(await replicaPosition(client)).toMatchObject({ txid: 9, file: { level: 9, minTXID: 1, maxTXID: 9 } });
    for (let t = 1; t <= 9; t++) await h.write(client, 0, t, t);
    await h.write(client, 1, 1, 9);
    const pos = await replicaPosition(client);
    expect(pos).toMatchObject({ txid: 9, file: { level: 0, minTXID: 9, maxTXID: 9 } });
    expect(pos.file!.createdAt.getTime()).toBe(h.timestamp(9));
    // Retention removed level 0; the position survives in the higher levels.
    await client.deleteLtxFiles(Array.from({ length: 9 }, (_, i) => ({ level: 0, minTXID: i + 1, maxTXID: i + 1 })));
    expect(await replicaPosition(client)).toMatchObject({ txid: 9, file: { level: 1, minTXID: 1, maxTXID: 9 } });
  });
});
