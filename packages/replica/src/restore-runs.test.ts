/**
 * The run path of a restore (restore-runs.ts): a v3-block base decoded in runs on worker
 * threads or on this thread, then the later files merged over it. Each case is checked
 * against the model's bytes, both with threads and without.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeLtx } from "@sqlrep/ltx";
import { tempDir, type TempDir } from "@sqlrep/testkit";
import { isReplicaError } from "./errors.js";
import { FileObjectStore } from "./file-store.js";
import { directoryLayout } from "./layout.js";
import { createFileReplicaClient } from "./file-replica.js";
import { ltxKey, type ReplicaClient } from "./replica-client.js";
import { restore } from "./restore.js";
import { History, Rng } from "./testing/history.js";

let dir: TempDir;
let client: ReplicaClient;

beforeEach(() => {
  dir = tempDir("sqlrep-restore-runs-");
  client = createFileReplicaClient(dir.join("replica"));
});
afterEach(() => dir.remove());

const SNAPSHOT = { level: 9, minTXID: 1, maxTXID: 20 };

/** A history whose database grows to a few hundred pages and shrinks now and then; a snapshot at 20, level 0 after. */
async function backedUp(seed: number): Promise<History> {
  const h = new History(new Rng(seed));
  for (let t = 1; t <= 40; t++) h.commitRandom({ maxPages: 400 });
  await h.write(client, 9, 1, 20);
  for (let t = 21; t <= 40; t++) await h.write(client, 0, t, t);
  return h;
}

function snapshotPath(): string {
  return new FileObjectStore(dir.join("replica")).pathOf(ltxKey(directoryLayout(), SNAPSHOT));
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (err: unknown) => err,
  );
}

describe.each([
  { name: "on two worker threads", workers: 2 },
  { name: "on the restoring thread", workers: 0 },
])("the run path $name", ({ workers }) => {
  it("restores every TXID from the snapshot on byte for byte, with the database checksum verified (pages past a shrunk database are checked, not written)", async () => {
    const h = await backedUp(5);
    const sizes = Array.from({ length: 21 }, (_, i) => (i === 0 ? 0 : h.db(20 + i).length / 512));
    // The cases below only prove something if the database both shrank under the snapshot's size and grew past it.
    const base = h.db(20).length / 512;
    expect(Math.min(...sizes.slice(1))).toBeLessThan(base);
    expect(Math.max(...sizes)).toBeGreaterThan(base);
    for (let t = 20; t <= 40; t++) {
      const output = dir.join(`db-${t}`);
      const result = await restore(client, { output, target: { txid: t }, workers });
      expect(Buffer.compare(readFileSync(output), h.db(t)), `TXID ${t}`).toBe(0);
      expect(result).toMatchObject({ txid: t, checksumVerified: true, databaseChecksum: h.checksum(t) });
    }
  });

  it("names the snapshot and the offset of a flipped byte in one of its pages, and leaves nothing behind", async () => {
    await backedUp(14);
    const path = snapshotPath();
    const bytes = readFileSync(path);
    const decoded = decodeLtx(bytes);
    expect(decoded.pages.length).toBeGreaterThan(100);
    // A byte in the middle of the file: inside some page's LZ4 block, in a later run.
    const at = Math.floor(bytes.length / 2);
    bytes[at] = bytes[at]! ^ 0x01;
    writeFileSync(path, bytes);
    const err = await caught(restore(client, { output: dir.join("db"), workers }));
    expect(isReplicaError(err, "corrupt"), String(err)).toBe(true);
    expect((err as Error).message).toContain("level 9 file 0000000000000001-0000000000000014.ltx");
    expect((err as Error).message).toMatch(/at offset \d+|checksum/);
    expect(readdirSync(dir.path)).toEqual(["replica"]);
  });
});

describe("the run path falls back to one merge", () => {
  it("when the snapshot holds a page frame it cannot cut: the merge path then reads the file and names its fault", async () => {
    await backedUp(1);
    const path = snapshotPath();
    const bytes = readFileSync(path);
    // The second page frame's flags (after the 100-byte header and the first frame) say
    // "LZ4 frame" instead of "size and block": the run reader cannot cut past it.
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const second = 100 + 10 + view.getUint32(100 + 6);
    expect(view.getUint16(second + 4)).toBe(1);
    view.setUint16(second + 4, 0);
    writeFileSync(path, bytes);
    const err = await caught(restore(client, { output: dir.join("db"), workers: 2 }));
    // Not "unsupported" (the run path's word): the merge path's own reading of the file.
    expect(isReplicaError(err, "corrupt"), String(err)).toBe(true);
    expect((err as Error).message).toContain("level 9 file 0000000000000001-0000000000000014.ltx");
    expect((err as Error).message).not.toMatch(/cannot cut|unsupported/);
    expect(readdirSync(dir.path)).toEqual(["replica"]);
  });
});
