/** Tests of RangeScheduler over a directory replica with an instrumented store: order, parallelism and byte budget, fair sharing, retries, abort. */
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir, type TempDir } from "@sqlrep/testkit";
import { isReplicaError, ReplicaError } from "./errors.js";
import { FileObjectStore } from "./file-store.js";
import { directoryLayout } from "./layout.js";
import { RangeScheduler } from "./ranged-source.js";
import { ltxKey, ObjectReplicaClient, type LtxFileInfo, type ReplicaClient } from "./replica-client.js";
import { InstrumentedStore } from "./testing/instrumented-store.js";

let dir: TempDir;
let store: InstrumentedStore;
let client: ReplicaClient;

beforeEach(() => {
  dir = tempDir("sqlrep-ranged-");
  store = new InstrumentedStore(new FileObjectStore(dir.path), 0);
  client = new ObjectReplicaClient(store, directoryLayout());
});
afterEach(() => dir.remove());

/** Puts raw bytes where an LTX file of TXID `txid` would be (the scheduler never decodes). */
async function put(txid: number, bytes: Uint8Array): Promise<LtxFileInfo> {
  const file = { level: 0, minTXID: txid, maxTXID: txid };
  await client.store.write(ltxKey(client.layout, file), bytes);
  return { ...file, size: bytes.length, createdAt: new Date() };
}

async function drain(source: AsyncIterable<Uint8Array>, each?: () => Promise<void>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of source) {
    chunks.push(c);
    await each?.();
  }
  return Buffer.concat(chunks);
}

describe("RangeScheduler", () => {
  it("yields every byte in order, whatever the range size", async () => {
    const bytes = randomBytes(50_000);
    const file = await put(1, bytes);
    for (const rangeSize of [1000, 4096, 49_999, 50_000, 1 << 20]) {
      const scheduler = new RangeScheduler(client, { rangeSize, parallelism: 3 });
      expect(Buffer.compare(await drain(scheduler.open(file)), bytes), `rangeSize ${rangeSize}`).toBe(0);
      scheduler.close();
    }
  });

  it("reads ranges of one file in parallel, at most `parallelism` at once, within the byte budget", async () => {
    const file = await put(1, randomBytes(64 * 1024));
    const scheduler = new RangeScheduler(client, { rangeSize: 1024, parallelism: 4, maxBufferedBytes: 6 * 1024 });
    let consumed = 0;
    await drain(scheduler.open(file), async () => {
      consumed++;
      // Never more than the budget (6 ranges) fetched ahead of what the reader has taken.
      expect(store.reads - consumed).toBeLessThanOrEqual(6);
      await new Promise((r) => setTimeout(r, 1));
    });
    expect(store.reads).toBe(64);
    expect(scheduler.peakInFlight).toBe(4);
  });

  it("shares the slots between files and feeds the one a reader waits for", async () => {
    const a = await put(1, randomBytes(40 * 1024));
    const b = await put(2, randomBytes(3 * 1024));
    const scheduler = new RangeScheduler(client, { rangeSize: 1024, parallelism: 2, maxBufferedBytes: 4 * 1024 });
    const sa = scheduler.open(a);
    const sb = scheduler.open(b);
    // Read all of b first although a was opened first and the budget is small.
    expect((await drain(sb)).length).toBe(3 * 1024);
    expect((await drain(sa)).length).toBe(40 * 1024);
    expect(scheduler.peakInFlight).toBe(2);
  });

  it("does not retry what is not transient, and stops on abort", async () => {
    const file = await put(1, randomBytes(10_000));
    store.fault = () => ({ error: new ReplicaError("not-found", "gone") });
    const scheduler = new RangeScheduler(client, { rangeSize: 20_000, retries: 5, retryDelay: 1 });
    const err = await drain(scheduler.open(file)).catch((e: unknown) => e);
    expect(isReplicaError(err, "not-found")).toBe(true);
    expect((err as Error).message).toContain("level 0 file 0000000000000001-0000000000000001.ltx");
    expect(store.reads).toBe(1);

    store.fault = undefined;
    const controller = new AbortController();
    const aborting = new RangeScheduler(client, { rangeSize: 1000, signal: controller.signal });
    const source = aborting.open(file);
    await source.next();
    controller.abort();
    const aborted = await drain(source).catch((e: unknown) => e);
    expect(isReplicaError(aborted, "aborted")).toBe(true);
  });

  it("gives a closed file's budget back to the others", async () => {
    const a = await put(1, randomBytes(8 * 1024));
    const b = await put(2, randomBytes(8 * 1024));
    const scheduler = new RangeScheduler(client, { rangeSize: 1024, parallelism: 2, maxBufferedBytes: 2 * 1024 });
    const sa = scheduler.open(a);
    await sa.next();
    await sa.return!();
    expect((await drain(scheduler.open(b))).length).toBe(8 * 1024);
    expect(await sa.next()).toEqual({ done: true, value: undefined });
  });
});
