/**
 * The `/stream` wire format, LiteFS's framing (all integers big-endian): the position
 * map a replica posts, and the frames a primary answers with. One difference: the
 * LTX frame's 8-byte field that LiteFS writes as 0 and ignores ("size") carries the
 * lease epoch of the primary that streams it, so a replica can refuse a deposed one.
 */
import { ClusterError } from "../errors.js";

/** Frame types (LiteFS's numbers). */
export const FrameType = {
  LTX: 1,
  Ready: 2,
  End: 3,
  DropDB: 4,
  Handoff: 5,
  HWM: 6,
  Heartbeat: 7,
} as const;

/** A decoded frame (an LTX frame's body is read separately, see {@link FrameReader.ltxBody}). */
export type Frame =
  | { type: "ltx"; name: string; epoch: number }
  | { type: "ready" }
  | { type: "end" }
  | { type: "drop"; name: string }
  | { type: "handoff"; leaseId: string }
  | { type: "hwm"; name: string; txid: number }
  | { type: "heartbeat"; timestamp: number };

/** A replica's position of one database, as the map carries it. */
export interface MapPosition {
  readonly txid: number;
  readonly checksum: bigint;
}

/** The largest piece of an LTX body in one chunk (u16 length). */
const MAX_CHUNK = 65535;
const MAX_NAME = 4096;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Encodes a position map: u32 count, then per database (sorted by name) u32 name length, name, u64 TXID, u64 checksum. */
export function encodePositionMap(map: ReadonlyMap<string, MapPosition>): Uint8Array {
  const names = [...map.keys()].sort();
  const encoded = names.map((n) => utf8.encode(n));
  const out = new Uint8Array(4 + encoded.reduce((s, e) => s + 4 + e.length + 16, 0));
  const view = new DataView(out.buffer);
  view.setUint32(0, names.length);
  let at = 4;
  names.forEach((name, i) => {
    const bytes = encoded[i]!;
    view.setUint32(at, bytes.length);
    out.set(bytes, at + 4);
    at += 4 + bytes.length;
    const pos = map.get(name)!;
    view.setBigUint64(at, BigInt(pos.txid));
    view.setBigUint64(at + 8, pos.checksum);
    at += 16;
  });
  return out;
}

/** Decodes a position map; `ClusterError("protocol")` on anything malformed. */
export function decodePositionMap(bytes: Uint8Array): Map<string, MapPosition> {
  const bad = (why: string, offset: number) => new ClusterError("protocol", `position map: ${why} at offset ${offset}`, { offset });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4) throw bad("too short", 0);
  const count = view.getUint32(0);
  const map = new Map<string, MapPosition>();
  let at = 4;
  for (let i = 0; i < count; i++) {
    if (at + 4 > bytes.length) throw bad("truncated entry", at);
    const len = view.getUint32(at);
    if (len > MAX_NAME || at + 4 + len + 16 > bytes.length) throw bad(`name length ${len}`, at);
    const name = decodeName(bytes.subarray(at + 4, at + 4 + len), at);
    at += 4 + len;
    const txid = toSafe(view.getBigUint64(at), at);
    const checksum = view.getBigUint64(at + 8);
    at += 16;
    map.set(name, { txid, checksum });
  }
  if (at !== bytes.length) throw bad(`${bytes.length - at} bytes after the last entry`, at);
  return map;
}

/** The header of an LTX frame (type, epoch, name); the body follows as chunks ({@link encodeChunks}) and a 0 end marker ({@link CHUNKS_END}). */
export function encodeLtxFrameHeader(name: string, epoch: number): Uint8Array {
  const n = utf8.encode(name);
  const out = new Uint8Array(4 + 8 + 4 + n.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, FrameType.LTX);
  view.setBigUint64(4, BigInt(epoch));
  view.setUint32(12, n.length);
  out.set(n, 16);
  return out;
}

/** The end marker of an LTX body (a chunk of length 0). */
export const CHUNKS_END = new Uint8Array(2);

/** Bytes of an LTX body as chunks: u16 length (1…65535), bytes. */
export function encodeChunks(bytes: Uint8Array): Uint8Array {
  const pieces = Math.ceil(bytes.length / MAX_CHUNK);
  const out = new Uint8Array(bytes.length + pieces * 2);
  const view = new DataView(out.buffer);
  let at = 0;
  for (let i = 0; i < bytes.length; i += MAX_CHUNK) {
    const piece = bytes.subarray(i, Math.min(bytes.length, i + MAX_CHUNK));
    view.setUint16(at, piece.length);
    out.set(piece, at + 2);
    at += 2 + piece.length;
  }
  return out;
}

/** A frame without a body. */
export function encodeFrame(frame: Exclude<Frame, { type: "ltx" }>): Uint8Array {
  switch (frame.type) {
    case "ready":
      return u32(FrameType.Ready);
    case "end":
      return u32(FrameType.End);
    case "drop":
      return withName(FrameType.DropDB, new Uint8Array(0), frame.name);
    case "handoff":
      return withName(FrameType.Handoff, new Uint8Array(0), frame.leaseId);
    case "hwm": {
      const txid = new Uint8Array(8);
      new DataView(txid.buffer).setBigUint64(0, BigInt(frame.txid));
      return withName(FrameType.HWM, txid, frame.name);
    }
    case "heartbeat": {
      const out = new Uint8Array(12);
      const view = new DataView(out.buffer);
      view.setUint32(0, FrameType.Heartbeat);
      view.setBigInt64(4, BigInt(Math.round(frame.timestamp)));
      return out;
    }
  }
}

function u32(type: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, type);
  return out;
}

function withName(type: number, before: Uint8Array, name: string): Uint8Array {
  const n = utf8.encode(name);
  const out = new Uint8Array(4 + before.length + 4 + n.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, type);
  out.set(before, 4);
  view.setUint32(4 + before.length, n.length);
  out.set(n, 8 + before.length);
  return out;
}

/**
 * Reads frames from a byte stream (an HTTP response body): `next()` gives the next
 * frame, or undefined at a clean end; after an LTX frame, `ltxBody()` must be drained
 * before the next `next()`.
 */
export class FrameReader {
  private readonly source: AsyncIterator<Uint8Array>;
  private buf = new Uint8Array(0);
  private at = 0;
  private offset = 0;
  private inBody = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.source = source[Symbol.asyncIterator]();
  }

  /** Bytes consumed so far (for errors). */
  get position(): number {
    return this.offset;
  }

  /** The next frame; undefined when the stream ended between frames. */
  async next(): Promise<Frame | undefined> {
    if (this.inBody) throw new ClusterError("protocol", "stream: next frame asked before the LTX body was read");
    if (!(await this.fill(4, true))) return undefined;
    const type = this.u32();
    switch (type) {
      case FrameType.LTX: {
        const epoch = toSafe(await this.u64(), this.offset - 8);
        const name = await this.name();
        this.inBody = true;
        return { type: "ltx", name, epoch };
      }
      case FrameType.Ready:
        return { type: "ready" };
      case FrameType.End:
        return { type: "end" };
      case FrameType.DropDB:
        return { type: "drop", name: await this.name() };
      case FrameType.Handoff:
        return { type: "handoff", leaseId: await this.name() };
      case FrameType.HWM: {
        const txid = toSafe(await this.u64(), this.offset - 8);
        return { type: "hwm", txid, name: await this.name() };
      }
      case FrameType.Heartbeat: {
        await this.fill(8);
        const value = new DataView(this.buf.buffer, this.buf.byteOffset + this.at, 8).getBigInt64(0);
        this.consume(8);
        return { type: "heartbeat", timestamp: Number(value) };
      }
      default:
        throw new ClusterError("protocol", `stream: unknown frame type ${type} at offset ${this.offset - 4}`, { offset: this.offset - 4 });
    }
  }

  /** The body of the LTX frame just read, chunk by chunk, up to its end marker. */
  async *ltxBody(): AsyncGenerator<Uint8Array> {
    if (!this.inBody) throw new ClusterError("protocol", "stream: no LTX frame to read a body of");
    for (;;) {
      await this.fill(2);
      const len = new DataView(this.buf.buffer, this.buf.byteOffset + this.at, 2).getUint16(0);
      this.consume(2);
      if (len === 0) break;
      await this.fill(len);
      yield this.buf.slice(this.at, this.at + len);
      this.consume(len);
    }
    this.inBody = false;
  }

  /** Stops reading (the source's `return()` is called). */
  async cancel(): Promise<void> {
    await this.source.return?.();
  }

  private async name(): Promise<string> {
    await this.fill(4);
    const len = this.u32();
    if (len > MAX_NAME) throw new ClusterError("protocol", `stream: name length ${len} at offset ${this.offset - 4}`, { offset: this.offset - 4 });
    await this.fill(len);
    const name = decodeName(this.buf.subarray(this.at, this.at + len), this.offset);
    this.consume(len);
    return name;
  }

  private async u64(): Promise<bigint> {
    await this.fill(8);
    const value = new DataView(this.buf.buffer, this.buf.byteOffset + this.at, 8).getBigUint64(0);
    this.consume(8);
    return value;
  }

  private u32(): number {
    const value = new DataView(this.buf.buffer, this.buf.byteOffset + this.at, 4).getUint32(0);
    this.consume(4);
    return value;
  }

  private consume(n: number): void {
    this.at += n;
    this.offset += n;
  }

  /** Ensures `n` bytes are buffered; false only when `cleanEnd` and the stream ended with nothing buffered. */
  private async fill(n: number, cleanEnd = false): Promise<boolean> {
    while (this.buf.length - this.at < n) {
      const next = await this.source.next();
      if (next.done) {
        if (cleanEnd && this.buf.length === this.at) return false;
        throw new ClusterError("protocol", `stream ended inside a frame at offset ${this.offset}`, { offset: this.offset, retryable: true });
      }
      const rest = this.buf.subarray(this.at);
      const chunk = next.value;
      const merged = new Uint8Array(rest.length + chunk.length);
      merged.set(rest, 0);
      merged.set(chunk, rest.length);
      this.buf = merged;
      this.at = 0;
    }
    return true;
  }
}

function decodeName(bytes: Uint8Array, offset: number): string {
  try {
    return fromUtf8.decode(bytes);
  } catch (err) {
    throw new ClusterError("protocol", `stream: a name that is not UTF-8 at offset ${offset}`, { cause: err, offset });
  }
}

function toSafe(value: bigint, offset: number): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ClusterError("protocol", `stream: integer ${value} past 2^53 at offset ${offset}`, { offset });
  return Number(value);
}
