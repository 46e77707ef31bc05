// Write mode against a directory replica: local commits are durable before COMMIT returns,
// uploaded as one level-0 file with database checksums, recovered after a crash, and set
// aside (never written over the replica) when the replica moved under them.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { restore } from "@sqlrep/replica";
import { tempDir } from "@sqlrep/testkit";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { decodeLtx } from "@sqlrep/ltx";
import { Engine } from "./engine.js";
import { isVfsError } from "./errors.js";
import { LOCK, type Session } from "./session.js";
import { ModelReplica } from "./testing/model.js";
import { WriteBuffer } from "./write-buffer.js";

const tmp = tempDir("sqlrep-vfs-write-");
afterAll(() => tmp.remove());
const models: ModelReplica[] = [];
const engines: Engine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
  for (const m of models.splice(0)) m.remove();
});

let n = 0;
async function open(m: ModelReplica, bufferPath = tmp.join(`buffer-${++n}`)): Promise<Engine> {
  const engine = await Engine.open({ client: m.client, pollIntervalMs: 3_600_000, write: { enabled: true, bufferPath, syncIntervalMs: 3_600_000 } });
  engines.push(engine);
  return engine;
}

function page(pageSize: number, seed: number): Uint8Array {
  const p = new Uint8Array(pageSize);
  for (let i = 0; i < pageSize; i++) p[i] = (seed * 131 + i * 7) & 0xff;
  return p;
}

/** One write transaction as SQLite runs it: RESERVED, page writes, sync, unlock. */
async function transaction(s: Session, writes: [number, Uint8Array][], truncate?: number): Promise<void> {
  const { counter } = s.state;
  await s.reserve(counter);
  for (const [pgno, data] of writes) s.write((pgno - 1) * data.length, data);
  if (truncate !== undefined) s.truncate(truncate);
  await s.commit();
  await s.unlock(LOCK.NONE);
}

async function restored(m: ModelReplica, name: string) {
  const output = join(m.dir, `${name}.db`);
  const result = await restore(m.client, { output });
  return { result, bytes: new Uint8Array(await import("node:fs").then((fs) => fs.readFileSync(output))) };
}

describe("write mode", () => {
  it("creates a database in an empty replica: its first upload is a snapshot a restore verifies", async () => {
    const m = new ModelReplica(4096);
    models.push(m);
    const engine = await open(m);
    const s = engine.session();
    expect(s.state.commit).toBe(0);
    await transaction(
      s,
      [1, 2, 3].map((p) => [p, page(4096, p)]),
    );
    expect(s.state.commit).toBe(3);
    await engine.syncNow();
    const { result, bytes } = await restored(m, "new");
    expect(result.txid).toBe(1);
    expect(result.checksumVerified).toBe(true);
    expect(Buffer.from(bytes.subarray(4096)).equals(Buffer.concat([page(4096, 2), page(4096, 3)]))).toBe(true);
  });

  it("uploads a sync interval's commits as one level-0 file with pre/post-apply checksums", async () => {
    const m = new ModelReplica(512);
    models.push(m);
    await m.create(20);
    await m.commit();
    const engine = await open(m);
    const s = engine.session();
    await transaction(s, [
      [3, page(512, 3)],
      [25, page(512, 25)],
    ]);
    await transaction(s, [
      [3, page(512, 33)],
      [4, page(512, 4)],
    ]);
    await transaction(s, [], 22 * 512); // a shrink: pages 23…25 leave the database
    expect(engine.status().pendingCommits).toBe(3);
    await engine.syncNow();
    expect(engine.status().pendingCommits).toBe(0);
    const level0 = readdirSync(join(m.dir, "replica", "ltx", "0")).sort();
    expect(level0[level0.length - 1]).toBe("0000000000000003-0000000000000003.ltx");
    const file = decodeLtx(await m.client.readLtxRange(m.ref(3), 0, (await m.client.statLtxFile(m.ref(3))).size));
    expect(file.header.commit).toBe(22);
    expect(file.header.preApplyChecksum).not.toBe(0n);
    const { result, bytes } = await restored(m, "after");
    expect(result.txid).toBe(3);
    expect(result.checksumVerified).toBe(true);
    const expected = new Uint8Array(22 * 512); // pages 21–22 were never written: zeros
    expected.set(m.image());
    expected.set(page(512, 33), 2 * 512);
    expected.set(page(512, 4), 3 * 512);
    expect(Buffer.from(bytes).equals(Buffer.from(expected))).toBe(true);
    // What the connection reads is what was uploaded.
    const read = await s.read(s.state.counter, 0, 22 * 512);
    expect(Buffer.from(read.bytes.subarray(100)).equals(Buffer.from(expected.subarray(100)))).toBe(true);
  });

  it("keeps commits across a crash (the engine dropped without closing) and uploads them on the next open", async () => {
    const m = new ModelReplica(512);
    models.push(m);
    await m.create(10);
    const bufferPath = tmp.join("crash-buffer");
    const first = await Engine.open({ client: m.client, pollIntervalMs: 3_600_000, write: { enabled: true, bufferPath, syncIntervalMs: 3_600_000 } });
    await transaction(first.session(), [[2, page(512, 2)]]);
    await transaction(first.session(), [[11, page(512, 11)]]);
    // No close(): what a kill -9 leaves is the buffer file.
    const second = await open(m, bufferPath);
    expect(second.status().pendingCommits).toBe(2);
    const s = second.session();
    expect(Buffer.from((await s.read(s.state.counter, 512, 512)).bytes).equals(Buffer.from(page(512, 2)))).toBe(true);
    await second.syncNow();
    const { result, bytes } = await restored(m, "recovered");
    expect(result.txid).toBe(2);
    expect(result.checksumVerified).toBe(true);
    expect(Buffer.from(bytes.subarray(10 * 512)).equals(Buffer.from(page(512, 11)))).toBe(true);
  });

  it("recognises its own finished upload after a crash between the upload and the buffer rewrite", async () => {
    const m = new ModelReplica(512);
    models.push(m);
    await m.create(10);
    const engine = await open(m);
    await transaction(engine.session(), [[2, page(512, 2)]]);
    await engine.syncNow();
    const uploaded = decodeLtx(await m.client.readLtxRange(m.ref(2), 0, (await m.client.statLtxFile(m.ref(2))).size));
    // The buffer as it was just before its rewrite: base 1, the commit, the intent.
    const path = tmp.join("intent-buffer");
    const { buffer } = WriteBuffer.open(path);
    buffer.append({ pages: new Map([[2, page(512, 2)]]), commit: 10, pageSize: 512, time: uploaded.header.timestamp });
    buffer.setIntent(1, 0n, { txid: 2, checksum: uploaded.trailer.postApplyChecksum, timestamp: uploaded.header.timestamp, commits: 1 });
    buffer.close();
    const again = await open(m, path);
    expect(again.status().pendingCommits).toBe(0);
    expect(readdirSync(tmp.path).filter((f) => f.startsWith("intent-buffer.conflict"))).toEqual([]);
  });

  it("a replica that moved under local commits is a conflict: commits set aside, writes refused, never an overwrite", async () => {
    const m = new ModelReplica(512);
    models.push(m);
    await m.create(10);
    const bufferPath = tmp.join("conflict-buffer");
    const engine = await open(m, bufferPath);
    const s = engine.session();
    await transaction(s, [[2, page(512, 2)]]);
    await m.commit({ pgnos: [5] }); // another writer's TXID 2
    const err = await engine.syncNow().then(() => engine.writer!.conflict);
    expect(isVfsError(err, "conflict")).toBe(true);
    expect(err!.message).toContain("another writer");
    const aside = readdirSync(tmp.path).filter((f) => f.startsWith("conflict-buffer.conflict-"));
    expect(aside.length).toBe(1);
    expect(existsSync(join(tmp.path, aside[0]!))).toBe(true);
    // The other writer's file is untouched and the connection now sees it.
    const { bytes } = await restored(m, "theirs");
    expect(Buffer.from(bytes).equals(Buffer.from(m.image()))).toBe(true);
    const fresh = engine.session();
    expect(fresh.state.txid).toBe(2);
    await expect(fresh.reserve(fresh.state.counter)).rejects.toSatisfy((e: unknown) => isVfsError(e, "conflict"));
  });

  it("one writer at a time; a transaction that started reading an older version cannot write", async () => {
    const m = new ModelReplica(512);
    models.push(m);
    await m.create(10);
    const engine = await open(m);
    const a = engine.session();
    const b = engine.session();
    const stale = b.state.counter;
    await a.reserve(a.state.counter);
    await expect(b.reserve(b.state.counter)).rejects.toSatisfy((e: unknown) => isVfsError(e, "busy"));
    a.write(0, page(512, 1));
    await a.unlock(LOCK.NONE);
    await expect(b.reserve(stale)).rejects.toSatisfy((e: unknown) => isVfsError(e, "stale-snapshot"));
    await b.reserve(b.state.counter);
    await b.unlock(LOCK.NONE);
    const ro = engine.session({ writeEnabled: false });
    await expect(ro.reserve(ro.state.counter)).rejects.toSatisfy((e: unknown) => isVfsError(e, "read-only"));
    await ro.pragma("litestream_write_enabled", "on");
    await ro.reserve(ro.state.counter);
    await ro.unlock(LOCK.NONE);
  });
});
