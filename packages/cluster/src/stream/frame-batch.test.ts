/** FrameBatch: frames gathered into writes, never split, nothing lost, and a real stream decodes them. */
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { CHUNKS_END, encodeChunks, encodeFrame, encodeLtxFrameHeader, FrameReader } from "./codec.js";
import { FrameBatch } from "./frame-batch.js";

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

describe("FrameBatch", () => {
  it("writes once the bound is reached, whole frames only, and the rest on flush", async () => {
    const writes: Uint8Array[] = [];
    const batch = new FrameBatch(async (b) => void writes.push(b), 100);
    await batch.add(bytes(30, 1), bytes(10, 2)); // 40
    await batch.add(bytes(50, 3)); // 90
    expect(writes).toHaveLength(0);
    expect(batch.size).toBe(2);
    await batch.add(bytes(20, 4)); // 110: written, the frame not split
    expect(writes.map((w) => w.length)).toEqual([110]);
    expect([...writes[0]!.subarray(28, 42)]).toEqual([1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3]);
    await batch.add(bytes(5, 5));
    await batch.flush();
    await batch.flush(); // nothing left: no empty write
    expect(writes.map((w) => w.length)).toEqual([110, 5]);
    expect(batch.size).toBe(0);
  });

  it("a replica's reader gets every frame of a batched stream, in order", async () => {
    const stream = new PassThrough();
    const batch = new FrameBatch(async (b) => void stream.write(b), 4096);
    const bodies = [bytes(3000, 7), bytes(100, 8), bytes(70000, 9)];
    for (const [i, body] of bodies.entries()) await batch.add(encodeLtxFrameHeader(`db${i}`, 3), encodeChunks(body), CHUNKS_END);
    await batch.add(encodeFrame({ type: "ready" }));
    await batch.flush();
    stream.end();
    const reader = new FrameReader(stream);
    for (const [i, body] of bodies.entries()) {
      expect(await reader.next()).toEqual({ type: "ltx", name: `db${i}`, epoch: 3 });
      const got: Uint8Array[] = [];
      for await (const chunk of reader.ltxBody()) got.push(chunk);
      expect(Buffer.compare(Buffer.concat(got), body)).toBe(0);
    }
    expect(await reader.next()).toEqual({ type: "ready" });
    expect(await reader.next()).toBeUndefined();
  });

  it("a failed write is the caller's error and the batch is empty after it", async () => {
    const batch = new FrameBatch(async () => {
      throw new Error("socket closed");
    }, 10);
    await expect(batch.add(bytes(20, 1))).rejects.toThrow("socket closed");
    expect(batch.size).toBe(0);
  });
});
