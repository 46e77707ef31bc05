/** Unit tests of upload bodies: a log entry as it is, several merged, a snapshot encoded while it is read. */
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { decodeLtx, isLtxError } from "@sqlrep/ltx";
import { tempDir } from "@sqlrep/testkit";
import { ManualClock } from "./clock.js";
import { LtxLog } from "./ltx-log.js";
import { TestFeeder } from "./testing/memory-db.js";
import { EncodedUpload, entriesBody } from "./upload-body.js";

const tmp = tempDir("sqlrep-shipper-body-");
afterAll(() => tmp.remove());

let n = 0;
function setup(entries: number) {
  const log = LtxLog.open(tmp.join(`log-${n++}`));
  const feeder = new TestFeeder(log, new ManualClock());
  feeder.tamper([1, 2, 3]);
  feeder.startLineage();
  for (let i = 0; i < entries; i++) feeder.append([1 + (i % 3), 4]);
  return { log, feeder };
}

/** Reads a body to its end: the chunks, or the error it threw and the chunks before it. */
async function drain(body: AsyncIterable<Uint8Array>): Promise<{ chunks: Uint8Array[]; error?: unknown }> {
  const chunks: Uint8Array[] = [];
  try {
    for await (const c of body) chunks.push(c);
    return { chunks };
  } catch (error) {
    return { chunks, error };
  }
}

describe("entriesBody", () => {
  it("is the entry's file as it is for one entry", async () => {
    const { log } = setup(1);
    const entry = log.last!;
    const { chunks, error } = await drain(entriesBody(log, [entry], new AbortController().signal));
    expect(error).toBeUndefined();
    expect(Buffer.concat(chunks)).toEqual(readFileSync(entry.file));
  });

  it("merges several entries into one file of their TXID range, newest page wins, checksums kept", async () => {
    const { log, feeder } = setup(3);
    const entries = log.after(1);
    const { chunks, error } = await drain(entriesBody(log, entries, new AbortController().signal));
    expect(error).toBeUndefined();
    const merged = decodeLtx(Buffer.concat(chunks));
    expect(merged.header).toMatchObject({ minTXID: 2, maxTXID: 4, preApplyChecksum: entries[0]!.preApply, commit: 4 });
    expect(merged.trailer.postApplyChecksum).toBe(entries[2]!.postApply);
    expect(merged.pages.map((p) => p.pgno)).toEqual([1, 2, 3, 4]);
    expect(merged.pages[3]!.data).toEqual(feeder.db.pages.get(4));
  });

  it("never yields the last chunk of a merge whose input is damaged", async () => {
    const { log } = setup(3);
    const entries = log.after(1);
    const bytes = readFileSync(entries[1]!.file);
    bytes[200] = bytes[200]! ^ 0xff; // inside a page, not the header or trailer
    writeFileSync(entries[1]!.file, bytes);
    const { chunks, error } = await drain(entriesBody(log, entries, new AbortController().signal));
    expect(error).toBeDefined();
    // Whatever came before the fault is not a whole file: the client aborts the upload.
    expect(() => decodeLtx(Buffer.concat(chunks))).toThrow();
  });
});

describe("EncodedUpload", () => {
  it("encodes a snapshot while it is read, and names its size, pages and trailer", async () => {
    const { feeder } = setup(2);
    const state = await feeder.snapshotState();
    const upload = new EncodedUpload({
      header: { pageSize: state.pageSize, commit: state.commit, minTXID: 1, maxTXID: state.txid, timestamp: 5 },
      pages: () => state.pages(),
      expected: state.expected,
    });
    expect(() => upload.trailer).toThrow(/not read to the end/);
    const { chunks, error } = await drain(upload.body());
    expect(error).toBeUndefined();
    const decoded = decodeLtx(Buffer.concat(chunks));
    expect(decoded.trailer.postApplyChecksum).toBe(feeder.db.checksum());
    expect(upload.trailer.postApplyChecksum).toBe(feeder.db.checksum());
    expect(upload.pages).toBe(4);
    expect(upload.size).toBe(decoded.size);
  });

  it("throws before the trailer when the pages do not add up to the expected checksum", async () => {
    const { feeder } = setup(1);
    const state = await feeder.snapshotState();
    feeder.tamper([2]);
    const upload = new EncodedUpload({
      header: { pageSize: state.pageSize, commit: state.commit, minTXID: 1, maxTXID: state.txid },
      pages: () => state.pages(),
      expected: state.expected,
    });
    const { chunks, error } = await drain(upload.body());
    expect(isLtxError(error) && error.code).toBe("post-apply-checksum-mismatch");
    expect(chunks).toEqual([]);
  });

  it("throws before the trailer when what was read can no longer be trusted (verify)", async () => {
    const { feeder } = setup(1);
    const state = await feeder.snapshotState();
    const upload = new EncodedUpload({
      header: { pageSize: state.pageSize, commit: state.commit, minTXID: 1, maxTXID: state.txid },
      pages: () => state.pages(),
      verify: () => {
        throw new Error("the WAL changed while the snapshot was read");
      },
      expected: state.expected,
    });
    const { chunks, error } = await drain(upload.body());
    expect((error as Error).message).toMatch(/WAL changed/);
    expect(chunks).toEqual([]);
  });
});
