/** The conformance suite every ReplicaClient backend runs (as Litestream's RunWithReplicaClient), exported as `./conformance` for backend packages. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { encodeLtx, type LtxPage } from "@sqlrep/ltx";
import { isReplicaError } from "./errors.js";
import { SNAPSHOT_LEVEL } from "./layout.js";
import { ltxKey, type LtxFileInfo, type LtxFileRef, type ReplicaClient } from "./replica-client.js";

/** What a conformance run needs from a backend: a fresh, empty replica per test. */
export interface ReplicaClientHarness {
  client: ReplicaClient;
  /** Removes everything the test created. */
  cleanup(): Promise<void>;
}

/** What a backend cannot do as finely as the rest, said to the suite. */
export interface ReplicaClientConformanceOptions {
  /**
   * The finest timestamp the backend keeps, in ms (default 1). SFTP v3 keeps file times
   * in whole seconds (1000): a timestamp then comes back exact or truncated to it.
   */
  timestampResolutionMs?: number | undefined;
}

/**
 * The suite every `ReplicaClient` runs (Litestream's `RunWithReplicaClient`): listing
 * order and seeking, ranged reads, timestamps kept with files, atomic overwrite,
 * deletes, level isolation, streaming writes, not-found errors. A backend's test file
 * calls it with a factory and adds backend-specific cases.
 */
export function describeReplicaClient(name: string, create: () => Promise<ReplicaClientHarness>, options: ReplicaClientConformanceOptions = {}): void {
  const resolution = options.timestampResolutionMs ?? 1;
  /** The times a kept timestamp may come back as: exact, or truncated to the resolution. */
  const kept = (time: number) => [...new Set([time, time - (time % resolution)])];
  describe(`ReplicaClient conformance: ${name}`, () => {
    let harness: ReplicaClientHarness;
    let client: ReplicaClient;
    beforeEach(async () => {
      harness = await create();
      client = harness.client;
    });
    afterEach(async () => {
      await harness.cleanup();
    });

    it("lists nothing in an empty replica, at every level", async () => {
      for (let level = 0; level <= SNAPSHOT_LEVEL; level++) expect(await collect(client.ltxFiles(level))).toEqual([]);
    });

    it("lists a level in MinTXID order whatever the write order, with sizes", async () => {
      const written = new Map<number, number>();
      for (const txid of [5, 1, 3, 2, 4, 16, 17, 256]) {
        const bytes = ltxFile(txid, txid);
        written.set(txid, bytes.length);
        await client.writeLtxFile(ref(0, txid, txid), bytes);
      }
      const listed = await collect(client.ltxFiles(0));
      expect(listed.map((f) => f.minTXID)).toEqual([1, 2, 3, 4, 5, 16, 17, 256]);
      for (const f of listed) {
        expect(f.level).toBe(0);
        expect(f.maxTXID).toBe(f.minTXID);
        expect(f.size).toBe(written.get(f.minTXID));
      }
    });

    it("seeks by MinTXID", async () => {
      for (const [min, max] of [
        [1, 1],
        [2, 5],
        [6, 6],
        [7, 20],
        [21, 21],
      ] as const) {
        await client.writeLtxFile(ref(1, min, max), ltxFile(min, max));
      }
      expect((await collect(client.ltxFiles(1, { seek: 6 }))).map((f) => [f.minTXID, f.maxTXID])).toEqual([
        [6, 6],
        [7, 20],
        [21, 21],
      ]);
      expect((await collect(client.ltxFiles(1, { seek: 3 }))).map((f) => f.minTXID)).toEqual([6, 7, 21]);
      expect(await collect(client.ltxFiles(1, { seek: 22 }))).toEqual([]);
    });

    it("keeps levels apart", async () => {
      await client.writeLtxFile(ref(0, 1, 1), ltxFile(1, 1));
      await client.writeLtxFile(ref(1, 1, 1), ltxFile(1, 1));
      await client.writeLtxFile(ref(SNAPSHOT_LEVEL, 1, 1), ltxFile(1, 1));
      for (const level of [0, 1, SNAPSHOT_LEVEL]) expect(await collect(client.ltxFiles(level))).toHaveLength(1);
      expect(await collect(client.ltxFiles(2))).toEqual([]);
    });

    it("reads a file whole and by byte range", async () => {
      const bytes = ltxFile(1, 1, 40);
      await client.writeLtxFile(ref(0, 1, 1), bytes);
      expect(await readAll(await client.openLtxFile(ref(0, 1, 1)))).toEqual(bytes);
      expect(await client.readLtxRange(ref(0, 1, 1), 0, 100)).toEqual(bytes.subarray(0, 100));
      expect(await client.readLtxRange(ref(0, 1, 1), 1000, 333)).toEqual(bytes.subarray(1000, 1333));
      expect(await readAll(await client.openLtxFile(ref(0, 1, 1), { offset: bytes.length - 16 }))).toEqual(bytes.subarray(bytes.length - 16));
    });

    it("keeps the LTX timestamp with the file (given, or read from the header)", async () => {
      const given = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678));
      await client.writeLtxFile(ref(0, 1, 1), ltxFile(1, 1), { timestamp: given });
      const fromHeader = new Date(Date.UTC(2023, 5, 6, 7, 8, 9, 123));
      await client.writeLtxFile(ref(0, 2, 2), ltxFile(2, 2, 1, fromHeader.getTime()));
      const [a, b] = await collect(client.ltxFiles(0, { useMetadata: true }));
      expect(kept(given.getTime())).toContain(a!.createdAt.getTime());
      expect(kept(fromHeader.getTime())).toContain(b!.createdAt.getTime());
      expect(kept(fromHeader.getTime())).toContain((await client.statLtxFile(ref(0, 2, 2))).createdAt.getTime());
    });

    it("writes a streamed body of several MiB", async () => {
      const bytes = ltxFile(1, 1, 2500); // ~2.5k pages of 1 KiB with random content
      async function* chunks(): AsyncIterable<Uint8Array> {
        for (let at = 0; at < bytes.length; at += 65_537) yield bytes.subarray(at, at + 65_537);
      }
      const info = await client.writeLtxFile(ref(0, 1, 1), chunks());
      expect(info.size).toBe(bytes.length);
      expectSameBytes(await readAll(await client.openLtxFile(ref(0, 1, 1))), bytes);
    });

    it("replaces a file atomically when written again", async () => {
      await client.writeLtxFile(ref(0, 1, 1), ltxFile(1, 1, 1));
      const second = ltxFile(1, 1, 3);
      await client.writeLtxFile(ref(0, 1, 1), second);
      expect(await readAll(await client.openLtxFile(ref(0, 1, 1)))).toEqual(second);
      expect(await collect(client.ltxFiles(0))).toHaveLength(1);
    });

    it("reports a missing file as not-found", async () => {
      const error = await client.openLtxFile(ref(0, 9, 9)).then(
        async (body) => readAll(body),
        (err: unknown) => err,
      );
      expect(isReplicaError(error, "not-found")).toBe(true);
      await expect(client.statLtxFile(ref(0, 9, 9))).rejects.toSatisfy((err: unknown) => isReplicaError(err, "not-found"));
    });

    it("refuses a body that is not an LTX file when no timestamp is given", async () => {
      await expect(client.writeLtxFile(ref(0, 1, 1), new Uint8Array(10))).rejects.toSatisfy((err: unknown) => isReplicaError(err, "corrupt"));
    });

    it("deletes files (missing ones are ignored) and everything", async () => {
      for (const txid of [1, 2, 3]) await client.writeLtxFile(ref(0, txid, txid), ltxFile(txid, txid));
      await client.writeLtxFile(ref(SNAPSHOT_LEVEL, 1, 3), ltxFile(1, 3));
      await client.deleteLtxFiles([ref(0, 2, 2), ref(0, 77, 77)]);
      expect((await collect(client.ltxFiles(0))).map((f) => f.minTXID)).toEqual([1, 3]);
      await client.deleteAll();
      for (const level of [0, SNAPSHOT_LEVEL]) expect(await collect(client.ltxFiles(level))).toEqual([]);
    });

    it("skips objects in a level folder that are not LTX files", async () => {
      await client.writeLtxFile(ref(0, 1, 1), ltxFile(1, 1));
      const prefix = client.layout.levelPrefix(0);
      await client.store.write(`${prefix}notes.txt`, new TextEncoder().encode("hello"));
      await client.store.write(`${prefix}0000000000000001-0000000000000002.LTX`, new Uint8Array(1));
      expect((await collect(client.ltxFiles(0))).map((f) => f.minTXID)).toEqual([1]);
      expect(ltxKey(client.layout, ref(0, 1, 1)).startsWith(prefix)).toBe(true);
    });
  });
}

function ref(level: number, minTXID: number, maxTXID: number): LtxFileRef {
  return { level, minTXID, maxTXID };
}

/** A valid LTX file (v3, no database checksums) with `pages` pages of seeded random bytes. */
export function ltxFile(minTXID: number, maxTXID: number, pages = 1, timestamp = 1_700_000_000_000 + minTXID): Uint8Array {
  const pageSize = 1024;
  let seed = (minTXID * 7919 + maxTXID) >>> 0;
  const list: LtxPage[] = [];
  for (let pgno = 1; pgno <= pages; pgno++) {
    const data = new Uint8Array(pageSize);
    for (let i = 0; i < pageSize; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      data[i] = seed >>> 24;
    }
    list.push({ pgno, data });
  }
  return encodeLtx({ pageSize, commit: pages, minTXID, maxTXID, timestamp }, list, { checksums: false });
}

/** Byte equality without vitest's element-by-element diff (slow on MiB-sized arrays). */
function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  expect(Buffer.compare(actual, expected), "bytes differ").toBe(0);
}

async function collect(files: AsyncIterable<LtxFileInfo>): Promise<LtxFileInfo[]> {
  const out: LtxFileInfo[] = [];
  for await (const f of files) out.push(f);
  return out;
}

async function readAll(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of body) chunks.push(c);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
