/** Test of listing with stored timestamps on a directory replica: concurrent HEADs, results in order, a file deleted before its HEAD skipped. */
import { describe, expect, it } from "vitest";
import { tempDir } from "@sqlrep/testkit";
import { FileObjectStore } from "./file-store.js";
import { directoryLayout } from "./layout.js";
import { isObjectInfo, type ListOptions, type ObjectEntry } from "./object-store.js";
import { ObjectReplicaClient, ltxKey, type LtxFileInfo } from "./replica-client.js";
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

  it("takes the timestamp a listing carries (Azure, GCS, WebDAV) without a HEAD, in order with the files that need one", async () => {
    using dir = tempDir("sqlrep-listing-");
    const inner = new FileObjectStore(dir.path);
    let heads = 0;
    // Every odd TXID's entry carries its stored timestamp, as a listing with metadata does.
    const store = Object.assign(Object.create(inner) as FileObjectStore, {
      async *list(prefix: string, options?: ListOptions): AsyncIterable<ObjectEntry> {
        for await (const entry of inner.list(prefix, options)) {
          if (!isObjectInfo(entry) || !/1\.ltx$|3\.ltx$|5\.ltx$|7\.ltx$|9\.ltx$/.test(entry.key)) yield entry;
          else yield { ...entry, timestamp: (await inner.head(entry.key)).timestamp };
        }
      },
      head(key: string) {
        heads++;
        return inner.head(key);
      },
    });
    const client = new ObjectReplicaClient(store, directoryLayout("some/db"));
    const h = new History(new Rng(9));
    for (let t = 1; t <= 10; t++) h.commitRandom({ step: [1000, 1000] });
    for (let t = 1; t <= 10; t++) await h.write(client, 0, t, t);
    const listed: LtxFileInfo[] = [];
    for await (const f of client.ltxFiles(0, { useMetadata: true })) listed.push(f);
    expect(listed.map((f) => f.minTXID)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(listed.map((f) => f.createdAt.getTime())).toEqual(listed.map((f) => h.timestamp(f.minTXID)));
    expect(heads).toBe(5);
    expect(ltxKey(client.layout, { level: 9, minTXID: 1, maxTXID: 2 })).toBe("some/db/ltx/9/0000000000000001-0000000000000002.ltx");
    expect(directoryLayout("/some//db/").legacyRoot).toBe("some/db/");
    expect(directoryLayout().levelPrefix(3)).toBe("ltx/3/");
  });
});
