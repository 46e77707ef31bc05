/** Tests of compactLevel on a real directory replica checked against the seeded history model: merges, gaps, snapshots, corrupt inputs, checksums. */
import { readFileSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeLtx, HEADER_FLAG_NO_CHECKSUM } from "@sqlrep/ltx";
import { tempDir, type TempDir } from "@sqlrep/testkit";
import { compactLevel, DEFAULT_LEVELS } from "./compaction.js";
import { isReplicaError } from "./errors.js";
import { FileObjectStore } from "./file-store.js";
import { directoryLayout } from "./layout.js";
import { createFileReplicaClient } from "./file-replica.js";
import { ltxKey, type LtxFileRef, type ReplicaClient } from "./replica-client.js";
import { History, listAll, Rng } from "./testing/history.js";

let dir: TempDir;
let client: ReplicaClient;

beforeEach(() => {
  dir = tempDir("sqlrep-compact-");
  client = createFileReplicaClient(dir.join("replica"));
});
afterEach(() => dir.remove());

async function readFile(ref: LtxFileRef): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of await client.openLtxFile(ref)) chunks.push(c);
  return Buffer.concat(chunks);
}

function history(n: number, seed = 3): History {
  const h = new History(new Rng(seed));
  for (let t = 1; t <= n; t++) h.commitRandom();
  return h;
}

const names = (files: LtxFileRef[]) => files.map((f) => `${f.level}:${f.minTXID}-${f.maxTXID}`);

describe("compactLevel", () => {
  it("merges level 0 into level 1 as the model says, keeping checksums and the last timestamp", async () => {
    const h = history(12);
    for (let t = 1; t <= 12; t++) await h.write(client, 0, t, t);
    const first = await compactLevel(client, 1);
    expect(first).toMatchObject({ level: 1, minTXID: 1, maxTXID: 12 });
    expect(first!.createdAt.getTime()).toBe(h.timestamp(12));
    const decoded = decodeLtx(await readFile(first!));
    expect(decoded.header).toMatchObject({ minTXID: 1, maxTXID: 12, commit: h.db(12).length / 512, timestamp: h.timestamp(12) });
    expect(decoded.header.flags & HEADER_FLAG_NO_CHECKSUM).toBe(0);
    expect(decoded.trailer.postApplyChecksum).toBe(h.checksum(12));
    // A snapshot-shaped output: every page of the database at TXID 12.
    expect(Buffer.compare(Buffer.concat(decoded.pages.map((p) => p.data)), h.db(12))).toBe(0);

    // The next compaction takes only what came after; its pages are those written in 13…20.
    for (let t = 13; t <= 20; t++) h.commitRandom();
    for (let t = 13; t <= 20; t++) await h.write(client, 0, t, t);
    const second = await compactLevel(client, 1);
    expect(second).toMatchObject({ level: 1, minTXID: 13, maxTXID: 20 });
    const incremental = decodeLtx(await readFile(second!));
    expect(incremental.header.preApplyChecksum).toBe(h.checksum(12));
    expect(Buffer.compare(await readFile(second!), h.ltx(13, 20))).toBe(0); // byte for byte what an encoder of the model writes
    expect(await compactLevel(client, 1)).toBeUndefined();

    // Level 2 from level 1.
    const l2 = await compactLevel(client, 2);
    expect(l2).toMatchObject({ level: 2, minTXID: 1, maxTXID: 20 });
    expect(Buffer.compare(Buffer.concat(decodeLtx(await readFile(l2!)).pages.map((p) => p.data)), h.db(20))).toBe(0);
  });

  it("drops database checksums when an input has none (Litestream's files)", async () => {
    const h = history(6);
    for (let t = 1; t <= 6; t++) await h.write(client, 0, t, t, { checksums: t !== 4 });
    const out = await compactLevel(client, 1);
    const decoded = decodeLtx(await readFile(out!));
    expect(decoded.header.flags & HEADER_FLAG_NO_CHECKSUM).toBe(HEADER_FLAG_NO_CHECKSUM);
  });

  it("stops at a gap and starts after one only where a snapshot covers it", async () => {
    const h = history(20);
    for (const t of [1, 2, 3, 4, 5, 7, 8]) await h.write(client, 0, t, t);
    expect(await compactLevel(client, 1)).toMatchObject({ minTXID: 1, maxTXID: 5 });
    // TXID 6 is missing from level 0 and no snapshot covers it.
    const err = await compactLevel(client, 1).catch((e: unknown) => e);
    expect(isReplicaError(err, "non-contiguous")).toBe(true);
    expect((err as Error).message).toContain("TXIDs 0000000000000006…0000000000000006 are missing");
    // The engine took snapshot 1-6 after losing track of the WAL: compaction resumes after it.
    await h.write(client, 9, 1, 6);
    expect(await compactLevel(client, 1)).toMatchObject({ minTXID: 7, maxTXID: 8 });
    expect(names(await listAll(client)).filter((n) => n.startsWith("1:"))).toEqual(["1:1-5", "1:7-8"]);
  });

  it("writes nothing when an input is corrupt, and names it", async () => {
    const h = history(5);
    for (let t = 1; t <= 5; t++) await h.write(client, 0, t, t);
    const bad = { level: 0, minTXID: 3, maxTXID: 3 };
    const path = new FileObjectStore(dir.join("replica")).pathOf(ltxKey(directoryLayout(), bad));
    const bytes = readFileSync(path);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1; // the file checksum
    writeFileSync(path, bytes);
    const err = await compactLevel(client, 1).catch((e: unknown) => e);
    expect(isReplicaError(err, "corrupt")).toBe(true);
    expect((err as Error).message).toContain("level 0 file 0000000000000003-0000000000000003.ltx");
    expect(names(await listAll(client)).filter((n) => n.startsWith("1:"))).toEqual([]);
  });

  it("refuses a pre-apply checksum that does not follow the previous file", async () => {
    const h = history(5);
    for (let t = 1; t <= 2; t++) await h.write(client, 0, t, t);
    await compactLevel(client, 1);
    for (let t = 3; t <= 5; t++) await h.write(client, 0, t, t);
    // TXID 3 rewritten as if from another database: valid on its own, but TXID 4 does not follow it.
    await client.writeLtxFile({ level: 0, minTXID: 3, maxTXID: 3 }, history(5, 99).ltx(3, 3));
    const err = await compactLevel(client, 1).catch((e: unknown) => e);
    expect(isReplicaError(err, "corrupt")).toBe(true);
    expect((err as Error).message).toMatch(
      /^level 0 file 0000000000000004-0000000000000004\.ltx .* pre-apply checksum [0-9a-f]{16} does not match the post-apply checksum [0-9a-f]{16} of level 0 file 0000000000000003-0000000000000003\.ltx$/,
    );
    expect(names(await listAll(client)).filter((n) => n.startsWith("1:"))).toEqual(["1:1-2"]);
  });

  it("rejects levels outside 1…8 and has Litestream's default schedule", async () => {
    for (const level of [0, 9, 1.5]) {
      expect(isReplicaError(await compactLevel(client, level).catch((e: unknown) => e), "invalid-config")).toBe(true);
    }
    expect(DEFAULT_LEVELS).toEqual([
      { level: 1, interval: 30_000 },
      { level: 2, interval: 300_000 },
      { level: 3, interval: 3_600_000 },
    ]);
    expect(await compactLevel(client, 1)).toBeUndefined();
  });
});
