// The wire format's framing and the state file's layout, as the C shim reads them.
import { readFileSync } from "node:fs";
import { tempDir } from "@sqlrep/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { errorReply, FrameReader, OP, PayloadReader, reply, STATE_SIZE, stateBytes, STATUS, str } from "./protocol.js";
import { STATE_FILE_SIZE, StateFile } from "./state-file.js";

const tmp = tempDir("sqlrep-vfs-protocol-");
afterAll(() => tmp.remove());

function frame(op: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length + 1);
  head[4] = op;
  return Buffer.concat([head, payload]);
}

describe("FrameReader", () => {
  it("splits frames however the bytes arrive", () => {
    const read = Buffer.alloc(16);
    read.writeUInt32BE(7, 0);
    read.writeBigUInt64BE(4096n, 4);
    read.writeUInt32BE(4096, 12);
    const stream = Buffer.concat([
      frame(OP.READ, read),
      frame(OP.PRAGMA, Buffer.concat([str("litestream_time"), Buffer.from([1]), str("latest")])),
      frame(OP.PING, Buffer.alloc(0)),
    ]);
    for (const cut of [1, 3, 5, 17, 30]) {
      const reader = new FrameReader();
      const frames = [];
      for (let at = 0; at < stream.length; at += cut) frames.push(...reader.push(stream.subarray(at, at + cut)));
      expect(frames.map((f) => f.op)).toEqual([OP.READ, OP.PRAGMA, OP.PING]);
      const r = new PayloadReader(frames[0]!.payload);
      expect([r.u32(), r.u64(), r.u32()]).toEqual([7, 4096, 4096]);
      const p = new PayloadReader(frames[1]!.payload);
      expect([p.str(), p.u8(), p.str()]).toEqual(["litestream_time", 1, "latest"]);
    }
  });

  it("a payload shorter than its fields is an error, not a guess", () => {
    expect(() => new PayloadReader(Buffer.from([0, 0])).u32()).toThrow(RangeError);
  });
});

describe("replies", () => {
  it("carry the status, then the payload; errors the SQLite code and the message", () => {
    const ok = reply(STATUS.OK, Buffer.from([1, 2, 3]));
    expect([...ok]).toEqual([0, 0, 0, 4, 0, 1, 2, 3]);
    const err = errorReply(266, "cannot read s3://b/x.ltx");
    expect(err.readUInt32BE(0)).toBe(err.length - 4);
    expect(err[4]).toBe(STATUS.ERROR);
    expect(err.readUInt32BE(5)).toBe(266);
    expect(err.subarray(13).toString()).toBe("cannot read s3://b/x.ltx");
  });
});

describe("StateFile", () => {
  it("publishes the state behind an even sequence number, with the server's pid and a heartbeat", () => {
    const path = tmp.join("x.state");
    const file = new StateFile(path);
    const header = new Uint8Array(100).fill(9);
    file.publish({ counter: 77, commit: 12, pageSize: 4096, flags: 0, txid: 5, header });
    const bytes = readFileSync(path);
    expect(bytes.length).toBe(STATE_FILE_SIZE);
    expect(bytes.readBigUInt64BE(0)).toBe(2n);
    expect(bytes.subarray(8, 8 + STATE_SIZE).equals(stateBytes({ counter: 77, commit: 12, pageSize: 4096, flags: 0, txid: 5, header }))).toBe(true);
    expect(Number(bytes.readBigUInt64BE(136))).toBeGreaterThan(Date.now() - 60_000);
    expect(bytes.readUInt32BE(144)).toBe(process.pid);
    file.publish({ counter: 78, commit: 12, pageSize: 4096, flags: 0, txid: 6, header });
    expect(readFileSync(path).readBigUInt64BE(0)).toBe(4n);
    file.close();
    expect(readFileSync(path).readBigUInt64BE(136)).toBe(0n);
  });
});
