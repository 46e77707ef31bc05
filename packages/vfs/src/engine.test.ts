// The engine against a directory replica written from a seeded model: every read is
// compared with the model's database at the version the read transaction is on.
import { afterEach, describe, expect, it } from "vitest";
import { compactLevel, restore } from "@sqlrep/replica";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Engine } from "./engine.js";
import { isVfsError } from "./errors.js";
import { LOCK, type Session } from "./session.js";
import { ModelReplica } from "./testing/model.js";

const models: ModelReplica[] = [];
const engines: Engine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
  for (const m of models.splice(0)) m.remove();
});

function model(pageSize = 512, seed = 7): ModelReplica {
  const m = new ModelReplica(pageSize, seed);
  models.push(m);
  return m;
}

async function open(m: ModelReplica, options: Partial<Parameters<typeof Engine.open>[0]> = {}): Promise<Engine> {
  const engine = await Engine.open({ client: m.client, pollIntervalMs: 3_600_000, ...options });
  engines.push(engine);
  return engine;
}

/** The database as a read transaction of `s` sees it (one read per page, as SQLite does). */
async function readDatabase(s: Session): Promise<{ bytes: Uint8Array; counter: number }> {
  const { counter, commit, pageSize } = s.state;
  const out = new Uint8Array(commit * pageSize);
  for (let p = 0; p < commit; p++) out.set((await s.read(counter, p * pageSize, pageSize)).bytes, p * pageSize);
  return { bytes: out, counter };
}

/** Equal except the header bytes the VFS rewrites (18–19, 24–31, 92–95). */
function expectSameDatabase(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  const mask = (b: Uint8Array) => {
    const c = b.slice();
    for (const i of [18, 19, 24, 25, 26, 27, 28, 29, 30, 31, 92, 93, 94, 95]) c[i] = 0;
    return c;
  };
  expect(Buffer.from(mask(actual)).equals(Buffer.from(mask(expected)))).toBe(true);
}

describe("reads", () => {
  it("serves every page of the latest state, and the header SQLite needs", async () => {
    const m = model();
    await m.create(40);
    for (let i = 0; i < 5; i++) await m.commit({ changes: 4 });
    await m.commit({ commit: 48 });
    const engine = await open(m);
    const s = engine.session();
    const { bytes, counter } = await readDatabase(s);
    expectSameDatabase(bytes, m.image());
    const view = new DataView(bytes.buffer);
    expect([bytes[18], bytes[19]]).toEqual([1, 1]);
    expect(view.getUint32(24)).toBe(counter);
    expect(view.getUint32(92)).toBe(counter);
    expect(view.getUint32(28)).toBe(48);
    expect(s.state.txid).toBe(7);
  });

  it("a read transaction keeps its snapshot while polls publish new versions; the next one sees them", async () => {
    const m = model();
    await m.create(30);
    await m.commit();
    const engine = await open(m);
    const s = engine.session();
    const before = s.state.counter;
    const first = await s.read(before, 512 * 4, 512);
    await m.commit({ pgnos: [5, 6], commit: 35 });
    await engine.pollNow();
    const after = engine.session().state;
    expect(after.counter).not.toBe(before);
    expect(after.txid).toBe(3);
    // Same transaction (same counter): the old page 5, the old size.
    expect(Buffer.from((await s.read(before, 512 * 4, 512)).bytes).equals(Buffer.from(first.bytes))).toBe(true);
    expect(Buffer.from(first.bytes).equals(Buffer.from(m.images.get(2)![4]!))).toBe(true);
    expect(s.fileSize(before)).toBe(30 * 512);
    // A new transaction: the new state.
    await s.unlock(LOCK.NONE);
    expectSameDatabase((await readDatabase(s)).bytes, m.image());
  });

  it("bridges a level-0 gap through level 1, and follows a shrinking database", async () => {
    const m = model();
    await m.create(30);
    const engine = await open(m);
    for (let i = 0; i < 4; i++) await m.commit();
    await compactLevel(m.client, 1);
    // Retention removed the level-0 files level 1 covers.
    await m.client.deleteLtxFiles([m.ref(2), m.ref(3), m.ref(4)]);
    await m.commit({ commit: 20 });
    await engine.pollNow();
    const s = engine.session();
    expect(s.state.txid).toBe(6);
    expectSameDatabase((await readDatabase(s)).bytes, m.image());
    expect((await s.read(s.state.counter, 25 * 512, 512)).short).toBe(true);
  });

  it("re-plans when retention removed a file the index points at", async () => {
    const m = model();
    await m.create(30);
    for (let i = 0; i < 3; i++) await m.commit({ pgnos: [10 + i] });
    const engine = await open(m, { cacheBytes: 0 });
    await compactLevel(m.client, 1);
    await m.client.deleteLtxFiles([m.ref(2), m.ref(3), m.ref(4)]);
    const s = engine.session();
    expectSameDatabase((await readDatabase(s)).bytes, m.image());
  });

  it("a corrupt or missing file is an error naming it, never other bytes", async () => {
    const m = model();
    await m.create(30);
    await m.commit({ pgnos: [3] });
    await m.commit({ pgnos: [4] });
    const path = join(m.dir, "replica", "ltx", "0", "0000000000000002-0000000000000002.ltx");
    const bytes = readFileSync(path);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x40;
    writeFileSync(path, bytes);
    const err = await open(m).catch((e: unknown) => e);
    expect(isVfsError(err, "corrupt")).toBe(true);
    expect((err as Error).message).toContain("0000000000000002-0000000000000002.ltx");
    rmSync(path);
    const gone = await open(m).catch((e: unknown) => e);
    expect(isVfsError(gone, "replica")).toBe(true);
    expect((gone as Error).message).toContain("TXIDs 0000000000000002…0000000000000002 are missing");
  });

  it("an empty replica is an error in read mode", async () => {
    const m = model();
    const err = await open(m).catch((e: unknown) => e);
    expect(isVfsError(err, "empty-replica")).toBe(true);
    expect((err as Error).message).toContain(m.dir);
  });

  it("reads forward in runs: a scan costs a few requests, a point read one", async () => {
    const m = model(4096);
    await m.create(600);
    const engine = await open(m, { cacheBytes: 64 << 20 });
    const s = engine.session();
    const before = engine.timeline.fetcher.requests;
    await s.read(s.state.counter, 300 * 4096, 4096);
    expect(engine.timeline.fetcher.requests - before).toBe(1);
    const scan = engine.timeline.fetcher.requests;
    const { bytes } = await readDatabase(s);
    expectSameDatabase(bytes, m.image());
    const used = engine.timeline.fetcher.requests - scan;
    expect(used).toBeLessThan(30);
  });
});

describe("time travel", () => {
  it("lands exactly where restore -timestamp lands, and refuses times before the first backup", async () => {
    const m = model();
    await m.create(20);
    for (let i = 0; i < 6; i++) await m.commit({ changes: 3, commit: 20 + i });
    const engine = await open(m);
    const s = engine.session();
    for (const txid of [1, 3, 4, 7]) {
      for (const at of [m.times.get(txid)!, m.times.get(txid)! + 999]) {
        const when = new Date(at).toISOString();
        await s.pragma("litestream_time", when);
        const out = join(m.dir, `restored-${at}.db`);
        const restored = await restore(m.client, { output: out, target: { timestamp: new Date(at) } });
        expect(s.state.txid).toBe(restored.txid);
        expect(s.state.txid).toBe(txid);
        expectSameDatabase((await readDatabase(s)).bytes, readFileSync(out));
        expect(await s.pragma("litestream_time", undefined)).toEqual({ kind: "value", value: when.replace(".000Z", "Z") });
        expect(await s.pragma("litestream_txid", undefined)).toEqual({ kind: "value", value: txid.toString(16).padStart(16, "0") });
      }
    }
    const before = await s.pragma("litestream_time", new Date(m.times.get(1)! - 1).toISOString()).catch((e: unknown) => e);
    expect(isVfsError(before, "time")).toBe(true);
    expect((before as Error).message).toContain("earliest restorable time");
    // A write while time travelling is refused.
    await expect(s.reserve(s.state.counter)).rejects.toThrow(/point in time/);
    await s.pragma("litestream_time", "latest");
    expect(s.state.txid).toBe(7);
    expect(await s.pragma("litestream_time", undefined)).toEqual({ kind: "value", value: new Date(m.times.get(7)!).toISOString().replace(".000Z", "Z") });
  });
});
