/** Tests of importLegacy on hand-made v0.3 replicas in a directory: the level-9 snapshot it writes restores, points, force, and layout choice. */
import { existsSync, readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir, type TempDir } from "@sqlrep/testkit";
import type { FileObjectStore } from "../file-store.js";
import { createFileReplicaClient } from "../file-replica.js";
import type { ReplicaClient } from "../replica-client.js";
import { restore } from "../restore.js";
import { LegacyReplicaBuilder } from "../testing/legacy-builder.js";
import { chooseRestoreLayout, detectReplicaLayouts } from "./detect.js";
import { importLegacy } from "./import.js";

let dir: TempDir;
let source: ReplicaClient;
let b: LegacyReplicaBuilder;
let k = 0;

const at = (s: number): Date => new Date(Date.UTC(2025, 0, 1) + s * 1000);

beforeEach(async () => {
  dir = tempDir("sqlrep-legacy-import-");
  source = createFileReplicaClient(dir.join("v3"));
  b = new LegacyReplicaBuilder(source.store as FileObjectStore, { pageSize: 1024 });
  b.startGeneration("aaaaaaaaaaaaaaaa");
  await b.snapshot(at(1));
  b.commit([1, 2, 3]);
  await b.sync(at(2));
  b.checkpoint();
  k = b.commit([2, 5], 6);
  await b.sync(at(3));
});
afterEach(() => dir.remove());

describe("importLegacy", () => {
  it("writes the state as a level-9 snapshot at TXID 1 of an empty replica, with checksums, dated at the v0.3 point", async () => {
    const target = createFileReplicaClient(dir.join("v5"));
    const database = dir.join("app.db");
    const result = await importLegacy(source, { target, database });
    expect(result).toMatchObject({ txid: 1, key: "ltx/9/0000000000000001-0000000000000001.ltx", file: { level: 9, minTXID: 1, maxTXID: 1, createdAt: at(3) } });
    expect(readFileSync(database)).toEqual(Buffer.from(b.state(k))); // kept for `replicate`
    const output = dir.join("restored.db");
    const v5 = await restore(target, { output });
    expect(readFileSync(output)).toEqual(Buffer.from(b.state(k)));
    expect(v5).toMatchObject({ txid: 1, pageCount: 6, checksumVerified: true, databaseChecksum: result.postApplyChecksum });
    // Nothing of the v0.3 replica changed, and no temp files were left.
    expect(existsSync(dir.join("v3", "ltx"))).toBe(false);
    expect(existsSync(`${database}.tmp`)).toBe(false);
  });

  it("imports a chosen point; refuses a replica with LTX files unless forced, then continues its TXIDs", async () => {
    const target = createFileReplicaClient(dir.join("v5"));
    const first = await importLegacy(source, { target, point: { timestamp: at(2.5) } });
    expect(first.restore.plan.index).toBe(0);
    await expect(importLegacy(source, { target })).rejects.toMatchObject({ code: "exists", message: expect.stringMatching(/up to TXID 1.*pass force/) });
    const second = await importLegacy(source, { target, force: true });
    expect(second.txid).toBe(2);
    const output = dir.join("restored.db");
    await restore(target, { output });
    expect(readFileSync(output)).toEqual(Buffer.from(b.state(k)));
  });

  it("lets restore pick the layout written last when both are under one path", async () => {
    let layouts = await detectReplicaLayouts(source);
    expect(layouts.ltx).toBeUndefined();
    expect(chooseRestoreLayout(layouts)).toBe("legacy");
    await importLegacy(source);
    layouts = await detectReplicaLayouts(source);
    expect(layouts.ltx).toMatchObject({ txid: 1, files: 1 });
    expect(chooseRestoreLayout(layouts)).toBe("ltx"); // same time as the v0.3 point: the newer format
    b.commit([4]);
    await b.sync(at(9));
    expect(chooseRestoreLayout(await detectReplicaLayouts(source))).toBe("legacy");
    expect(chooseRestoreLayout({ ltx: undefined, legacy: undefined })).toBeUndefined();
  });
});
