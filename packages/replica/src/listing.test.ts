/** Test of listing with stored timestamps on a directory replica: concurrent HEADs, results in order, a file deleted before its HEAD skipped. */
import { describe, expect, it } from "vitest";
import { tempDir } from "@sqlrep/testkit";
import { FileObjectStore } from "./file-store.js";
import { directoryLayout } from "./layout.js";
import { ObjectReplicaClient, type LtxFileInfo } from "./replica-client.js";
import { History, Rng } from "./testing/history.js";
import { InstrumentedStore } from "./testing/instrumented-store.js";

describe("listing with stored timestamps", () => {
  it("runs the HEADs concurrently, yields in order, and skips a file deleted before its HEAD", async () => {
    using dir = tempDir("sqlrep-listing-");
    const store = new InstrumentedStore(new FileObjectStore(dir.path), 0);
    const client = new ObjectReplicaClient(store, directoryLayout());
    const h = new History(new Rng(8));
    for (let t = 1; t <= 80; t++) h.commitRandom({ step: [1000, 1000] });
    for (let t = 1; t <= 80; t++) await h.write(client, 0, t, t);
    const listed: LtxFileInfo[] = [];
    for await (const f of client.ltxFiles(0, { useMetadata: true })) {
      listed.push(f);
      // Retention deletes a file the listing has seen but not HEADed yet.
      if (f.minTXID === 1) await client.deleteLtxFiles([{ level: 0, minTXID: 70, maxTXID: 70 }]);
    }
    expect(listed.map((f) => f.minTXID)).toEqual([...Array(80).keys()].map((i) => i + 1).filter((t) => t !== 70));
    expect(listed.every((f) => f.createdAt.getTime() === h.timestamp(f.minTXID))).toBe(true);
    expect(store.headsPeak).toBeGreaterThan(1);
    expect(store.headsPeak).toBeLessThanOrEqual(32);
  });
});
