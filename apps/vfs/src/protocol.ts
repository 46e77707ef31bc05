// The wire format between the C shim (native/litestream-vfs.c) and the page server:
// length-prefixed binary frames, big-endian. A request is u32 length, u8 op, payload; a
// reply is u32 length, u8 status, payload. WRITE, TRUNCATE, RELEASE and CLOSE get no
// reply (the shim pipelines them); a failed WRITE is reported by the next SYNC or UNLOCK.

/** Request opcodes. */
export const OP = {
  OPEN: 1,
  READ: 2,
  LOCK: 3,
  UNLOCK: 4,
  WRITE: 5,
  SYNC: 6,
  TRUNCATE: 7,
  FILESIZE: 8,
  PRAGMA: 9,
  RELEASE: 10,
  PING: 11,
  CLOSE: 12,
} as const;

/** Reply status bytes. */
export const STATUS = { OK: 0, ERROR: 1, SHORT: 2 } as const;

export const PROTOCOL_VERSION = 1;
/** Bytes of an encoded view state. */
export const STATE_SIZE = 124;
/** Bit 0 of a state's flags: the connection reads a point in time. */
export const FLAG_TIME_TRAVEL = 1;

/** What the shim needs to show SQLite a version. */
export interface WireState {
  counter: number;
  commit: number;
  pageSize: number;
  flags: number;
  txid: number;
  header: Uint8Array;
}

/** Encodes a state (124 bytes) into `out` at `at`. */
export function encodeState(s: WireState, out: Uint8Array, at = 0): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(at, s.counter >>> 0);
  view.setUint32(at + 4, s.commit >>> 0);
  view.setUint32(at + 8, s.pageSize >>> 0);
  view.setUint32(at + 12, s.flags >>> 0);
  view.setBigUint64(at + 16, BigInt(s.txid));
  out.set(s.header.subarray(0, 100), at + 24);
}

/** Splits a byte stream into request frames (op + payload). */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** Adds bytes; returns every complete frame. */
  push(chunk: Buffer): { op: number; payload: Buffer }[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: { op: number; payload: Buffer }[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const head = this.peek(4);
      const length = head.readUInt32BE(0);
      if (this.buffered < 4 + length) break;
      const frame = this.take(4 + length);
      frames.push({ op: frame[4]!, payload: frame.subarray(5) });
    }
    return frames;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!;
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined;
  }

  private take(n: number): Buffer {
    const first = this.peek(n);
    const frame = first.subarray(0, n);
    const rest = first.subarray(n);
    this.chunks[0] = rest;
    if (rest.length === 0) this.chunks.shift();
    this.buffered -= n;
    return frame;
  }
}

/** Reads fields of a payload in order. */
export class PayloadReader {
  private at = 0;

  constructor(private readonly bytes: Buffer) {}

  u8(): number {
    return this.bytes.readUInt8(this.advance(1));
  }

  u32(): number {
    return this.bytes.readUInt32BE(this.advance(4));
  }

  u64(): number {
    const v = this.bytes.readBigUInt64BE(this.advance(8));
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`value ${v} is beyond Number.MAX_SAFE_INTEGER`);
    return Number(v);
  }

  str(): string {
    const n = this.u32();
    const at = this.advance(n);
    return this.bytes.toString("utf8", at, at + n);
  }

  /** Everything not read yet. */
  rest(): Buffer {
    const out = this.bytes.subarray(this.at);
    this.at = this.bytes.length;
    return out;
  }

  private advance(n: number): number {
    const at = this.at;
    if (at + n > this.bytes.length) throw new RangeError(`frame ends after ${this.bytes.length} bytes, needs ${at + n}`);
    this.at += n;
    return at;
  }
}

/** A reply frame: status and payload parts. */
export function reply(status: number, ...parts: Uint8Array[]): Buffer {
  const length = 1 + parts.reduce((n, p) => n + p.length, 0);
  const out = Buffer.allocUnsafe(4 + length);
  out.writeUInt32BE(length, 0);
  out[4] = status;
  let at = 5;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** An error reply: the SQLite result code and a message. */
export function errorReply(code: number, message: string): Buffer {
  const text = Buffer.from(message, "utf8");
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32BE(code >>> 0, 0);
  head.writeUInt32BE(text.length, 4);
  return reply(STATUS.ERROR, head, text);
}

/** A length-prefixed string. */
export function str(text: string): Buffer {
  const bytes = Buffer.from(text, "utf8");
  const out = Buffer.allocUnsafe(4 + bytes.length);
  out.writeUInt32BE(bytes.length, 0);
  bytes.copy(out, 4);
  return out;
}

/** An encoded state. */
export function stateBytes(s: WireState): Buffer {
  const out = Buffer.alloc(STATE_SIZE);
  encodeState(s, out);
  return out;
}
