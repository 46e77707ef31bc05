/**
 * A replica's silence watchdog against a scripted primary: a snapshot whose bytes take
 * several silence periods to arrive, but keep arriving, is applied; a primary that
 * stops sending in the middle of one still ends the stream; and the replica's own work
 * between reads is never counted as silence.
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { concatBytes, LtxEncoder } from "@sqlrep/ltx";
import { tempDir } from "@sqlrep/testkit";
import { isClusterError } from "../errors.js";
import { HEADER_NODE_ID } from "../http/peer.js";
import { Store } from "../store/store.js";
import { allPages, PageModel } from "../testing/pages.js";
import { runReplicaStream, type ReplicaEvents } from "./client.js";
import { CHUNKS_END, encodeChunks, encodeFrame, encodeLtxFrameHeader } from "./codec.js";
import { WaitClock } from "./silence.js";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const SILENCE_MS = 400;
const PAGES = 256;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A primary that answers `/stream` with `script` (after reading the position map). */
async function fakePrimary(script: (res: ServerResponse) => Promise<void>): Promise<string> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      for await (const _ of req);
      res.writeHead(200, { [HEADER_NODE_ID]: "fake-primary", "Content-Type": "application/octet-stream" });
      res.flushHeaders();
      await script(res).catch(() => res.destroy());
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A snapshot (TXID 1) of `PAGES` pages, and what it adds up to. */
function snapshot(): { bytes: Uint8Array; checksum: bigint } {
  const list = allPages(PAGES, 1);
  const model = new PageModel();
  model.apply(list, PAGES);
  const encoder = new LtxEncoder({ pageSize: 4096, commit: PAGES, minTXID: 1, maxTXID: 1, timestamp: Date.now() });
  const out: Uint8Array[] = [];
  for (const p of list) out.push(...encoder.writePage(p.pgno, p.data));
  out.push(...encoder.finish());
  return { bytes: concatBytes(out), checksum: model.checksum() };
}

async function replicaStream(primaryURL: string, snapshots: number[]) {
  const dir = tempDir("sqlrep-cluster-silence-");
  const store = await Store.open({ dataDir: dir.path, logger: quiet, verifyOnOpen: false });
  cleanups.push(async () => {
    await store.close();
    dir.remove();
  });
  const events: ReplicaEvents = {
    clusterId() {},
    ready() {},
    contact() {},
    hwm() {},
    snapshot: (_name, txid) => void snapshots.push(txid),
    diverged() {},
  };
  const controller = new AbortController();
  cleanups.push(() => controller.abort());
  const run = runReplicaStream({
    store,
    primaryURL,
    identity: { nodeId: "replica", clusterId: undefined, authToken: undefined },
    logger: quiet,
    events,
    primaryHistory: async () => undefined,
    silenceMs: SILENCE_MS,
    signal: controller.signal,
  });
  return { store, run };
}

const write = (res: ServerResponse, bytes: Uint8Array) => new Promise<void>((resolve, reject) => res.write(bytes, (err) => (err ? reject(err) : resolve())));

describe("the replica's silence watchdog", () => {
  it("applies a snapshot whose bytes keep coming for several silence periods", async () => {
    const snap = snapshot();
    let sending = 0;
    const url = await fakePrimary(async (res) => {
      const started = performance.now();
      await write(res, encodeLtxFrameHeader("app.db", 1));
      // 64 pieces, 25 ms apart: the frame takes about 4 silence periods, no wait a tenth of one.
      const piece = Math.ceil(snap.bytes.length / 64);
      for (let at = 0; at < snap.bytes.length; at += piece) {
        await write(res, encodeChunks(snap.bytes.subarray(at, at + piece)));
        await sleep(25);
      }
      await write(res, CHUNKS_END);
      sending = performance.now() - started;
      await write(res, encodeFrame({ type: "end" }));
      res.end();
    });
    const snapshots: number[] = [];
    const { store, run } = await replicaStream(url, snapshots);
    await expect(run).resolves.toEqual({ kind: "end" });
    expect(sending).toBeGreaterThan(2 * SILENCE_MS); // the case the test is about
    expect(snapshots).toEqual([1]);
    expect(store.get("app.db")!.position).toMatchObject({ txid: 1, checksum: snap.checksum });
  }, 20_000);

  it("still ends the stream when the primary stops sending in the middle of a snapshot", async () => {
    const snap = snapshot();
    const url = await fakePrimary(async (res) => {
      await write(res, encodeLtxFrameHeader("app.db", 1));
      await write(res, encodeChunks(snap.bytes.subarray(0, snap.bytes.length >> 1)));
      // …and nothing more: the connection stays open.
    });
    const snapshots: number[] = [];
    const { store, run } = await replicaStream(url, snapshots);
    const err = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isClusterError(err, "unavailable")).toBe(true);
    expect(String((err as Error).message)).toMatch(/ for 400 ms$/);
    expect(snapshots).toEqual([]);
    expect(store.get("app.db")?.position.txid ?? 0).toBe(0);
  }, 20_000);

  it("counts only the time a read waits for bytes, not the reader's own work between reads", async () => {
    let now = 0;
    let release: (() => void) | undefined;
    async function* source() {
      yield new Uint8Array(1);
      await new Promise<void>((resolve) => (release = resolve));
      yield new Uint8Array(1);
    }
    const clock = new WaitClock(source(), () => now);
    const it = clock[Symbol.asyncIterator]();
    await it.next();
    now += 60_000; // busy with the first chunk (writing, fsync, a swap)
    expect(clock.waitingMs()).toBe(0);
    const second = it.next();
    now += 700;
    expect(clock.waitingMs()).toBe(700);
    release!();
    await second;
    expect(clock.waitingMs()).toBe(0);
  });
});
