/** Tests of the ByteQueue's in-place reads (byteAt, uint16At, uint32At, takeInto) against a flat copy, with fields straddling chunk boundaries. */
import { describe, expect, it } from "vitest";
import { ByteQueue } from "./byte-queue.js";
import { crcRegisterJs } from "./crc64.js";
import { Rng } from "./testing/random.js";

/** `bytes` pushed as chunks of 1…`max` bytes. */
function chunked(bytes: Uint8Array, rng: Rng, max: number): ByteQueue {
  const q = new ByteQueue();
  for (let at = 0; at < bytes.length; ) {
    const n = 1 + rng.int(max);
    q.push(bytes.subarray(at, at + n));
    at += n;
  }
  return q;
}

describe("ByteQueue in-place reads", () => {
  it("read the bytes and big-endian integers a flat copy holds, at every offset, across chunk boundaries, and takeInto copies and advances", () => {
    const rng = new Rng(5);
    for (const max of [1, 3, 7, 64]) {
      const bytes = rng.bytes(300);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
      const q = chunked(bytes, rng, max);
      let pos = 0;
      while (q.available >= 8) {
        for (let i = 0; i + 4 <= q.available && i < 12; i++) {
          expect(q.byteAt(i)).toBe(bytes[pos + i]);
          expect(q.uint16At(i)).toBe(view.getUint16(pos + i));
          expect(q.uint32At(i)).toBe(view.getUint32(pos + i));
        }
        const n = 1 + rng.int(Math.min(9, q.available));
        const target = new Uint8Array(n + 2);
        q.takeInto(target, 1, n);
        expect([...target.subarray(1, 1 + n)]).toEqual([...bytes.subarray(pos, pos + n)]);
        expect(target[0]).toBe(0);
        expect(target[n + 1]).toBe(0);
        pos += n;
        expect(q.position).toBe(pos);
        expect(q.available).toBe(bytes.length - pos);
      }
    }
  });
});

describe("crcRegisterJs over part of an array", () => {
  it("equals the register of the same bytes as a view, for every range of a 40-byte array", () => {
    const rng = new Rng(9);
    const data = rng.bytes(40);
    const a = new Int32Array(2);
    const b = new Int32Array(2);
    for (let from = 0; from <= 40; from++) {
      for (let to = from; to <= 40; to++) {
        crcRegisterJs(123, -7, data.subarray(from, to), a);
        crcRegisterJs(123, -7, data, b, from, to);
        if (a[0] !== b[0] || a[1] !== b[1]) expect.fail(`range ${from}…${to}`);
      }
    }
  });
});
