/**
 * What every part of the LTX decoder shares: the types it returns, the generator
 * protocol (NEED and the events), the parse context, and how LZ4 errors are placed.
 */
import { ByteQueue } from "./byte-queue.js";
import { Crc64 } from "./crc64.js";
import { LtxError, type LtxErrorCode } from "./errors.js";
import type { LtxFormat } from "./format.js";
import type { LtxHeader } from "./header.js";
import { placeLz4Error } from "./page-codec.js";
import type { PageIndexEntry } from "./page-index.js";
import type { LtxTrailer } from "./trailer.js";

/** Options shared by every decoder entry point. */
export interface DecodeOptions {
  /** The layout; detected from the first bytes when absent (spec §3.8). */
  format?: LtxFormat | undefined;
  /**
   * Enforce the structural rules the reference only enforces when writing (spec §6.3):
   * ascending pgnos, pgno ≤ commit, no lock page, complete snapshots, an exact page
   * index, trailer values, zero reserved bytes, nothing after the trailer. Default true.
   * Checksums are verified either way.
   */
  strict?: boolean | undefined;
  /** Named in errors. */
  file?: string | undefined;
}

/** A decoded page: its number and its uncompressed bytes (`pageSize` long). */
export interface LtxPage {
  pgno: number;
  data: Uint8Array;
}

/** What the decoder learnt once it reached the end of the file. */
export interface LtxDecodeSummary {
  format: LtxFormat;
  header: LtxHeader;
  trailer: LtxTrailer;
  pageCount: number;
  /** Bytes read, trailer included. */
  size: number;
  /** IndexSize of a v2/v3 file; undefined for v1. */
  pageIndexSize: number | undefined;
}

/** The queue ran dry: push a chunk (or end the queue) and resume. */
export const NEED = { kind: "need" } as const;

/** What the decoder yields: NEED, the header, each page, each page index entry, each run. */
export type ParseEvent =
  | typeof NEED
  | { kind: "header"; header: LtxHeader; format: LtxFormat }
  | { kind: "page"; page: LtxPage; offset: number; size: number }
  | { kind: "index-entry"; entry: PageIndexEntry }
  | { kind: "run"; run: LtxFrameRun };

/** The decoder's options: the caller's, and what its driver wants yielded. */
export interface ParserOptions extends DecodeOptions {
  /** Copy page bytes out of the input chunks (streaming: chunks may be reused or large). */
  copyPages: boolean;
  /** Yield an `index-entry` event per page index entry. */
  emitIndex: boolean;
}

/** A step of the decoder: it yields events (NEED among them) and returns `T`. */
export type Parse<T> = Generator<ParseEvent, T, void>;

/**
 * A run of whole v3-block page frames, cut from a file for `decodeFrameRun` to decode
 * elsewhere (another thread): its bytes exactly as stored, where they sit, what they hold.
 */
export interface LtxFrameRun {
  /** 0, 1, 2… in file order. */
  index: number;
  /** Absolute offset of the first frame. */
  offset: number;
  /** The frames (an array of its own, so its buffer can be transferred). */
  bytes: Uint8Array;
  firstPgno: number;
  lastPgno: number;
  pages: number;
}

/** Context of one parse: the input, the running checksums, the location for errors. */
export class Ctx {
  /** The file checksum's CRC (in run mode, of the part this thread hashes). */
  crc = new Crc64();
  readonly strict: boolean;
  readonly file: string | undefined;

  constructor(
    readonly q: ByteQueue,
    readonly options: ParserOptions,
  ) {
    this.strict = options.strict ?? true;
    this.file = options.file;
  }

  error(code: LtxErrorCode, message: string, offset: number | undefined): LtxError {
    return new LtxError(code, message, { file: this.file, offset });
  }

  /** Waits until `n` bytes are buffered; the input ending first is `truncated`. */
  *fill(n: number, what: string): Parse<void> {
    while (this.q.available < n) {
      if (this.q.ended) {
        throw this.error("truncated", `unexpected end of file reading ${what}`, this.q.position + this.q.available);
      }
      yield NEED;
    }
  }

  /** Takes `n` bytes, waiting for them, and feeds them to the file checksum. */
  *read(n: number, what: string): Parse<Uint8Array> {
    if (this.q.available < n) yield* this.fill(n, what);
    const b = this.q.take(n);
    this.crc.update(b);
    return b;
  }
}

/** Errors from a frame decoder constructed with `baseOffset` and `file` are already placed. */
export function placeOrRethrow(err: unknown, ctx: Ctx): never {
  if (err instanceof LtxError && err.file === ctx.file) throw err;
  placeLz4Error(err, { file: ctx.file, offset: 0 });
}

/** A queue holding all of `bytes`, ended: what the whole-buffer driver parses. */
export function wholeBuffer(bytes: Uint8Array): ByteQueue {
  const q = new ByteQueue();
  q.push(bytes);
  q.end();
  return q;
}
