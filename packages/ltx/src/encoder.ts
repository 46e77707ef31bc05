/** LtxEncoder: writes an LTX file in any layout from a header and pages in order, computing its checksums, whole or streamed. */
import { concatBytes, u64be, viewOf } from "./binary.js";
import { CHECKSUM_FLAG, DatabaseChecksum, EMPTY_DATABASE_CHECKSUM, formatChecksum, lockPgno, pageChecksum } from "./checksum.js";
import { Crc64 } from "./crc64.js";
import { LtxError, type LtxErrorCode } from "./errors.js";
import { HEADER_FLAG_COMPRESS_LZ4, HEADER_FLAG_NO_CHECKSUM, hasPageIndex, PAGE_FLAG_SIZE, pageHeaderSize, type LtxFormat } from "./format.js";
import { encodeHeader, isSnapshot, validateHeader, type LtxHeader } from "./header.js";
import { Lz4FrameEncoder, lz4EncodeFrame } from "./lz4/frame.js";
import { useNativeCompressor, type Lz4Codec } from "./lz4/native.js";
import { compressPageBlock } from "./page-codec.js";
import { ByteBuilder } from "./page-index.js";
import type { LtxPage } from "./parse-context.js";
import { encodeTrailer, validatePostApplyChecksum, type LtxTrailer } from "./trailer.js";

/**
 * The header fields a writer chooses. Flags follow from the layout and `checksums`;
 * passing a decoded header (flags included) re-encodes it, provided they agree.
 */
export interface LtxHeaderInit {
  pageSize: number;
  commit: number;
  minTXID: number;
  maxTXID: number;
  /** Milliseconds since the epoch; default now. */
  timestamp?: number | undefined;
  /** Required (flagged) for an incremental file with checksums; 0 otherwise. */
  preApplyChecksum?: bigint | undefined;
  walOffset?: number | undefined;
  walSize?: number | undefined;
  walSalt1?: number | undefined;
  walSalt2?: number | undefined;
  nodeID?: bigint | undefined;
  /** If given, must equal the flags the layout and `checksums` imply. */
  flags?: number | undefined;
}

/** Options of the encoders. */
export interface EncodeOptions {
  /**
   * Layout to write: `v3-block` (default, what Litestream v0.5.16+ reads and writes),
   * `v1` / `v1-lz4` (LiteFS). `v2` and `v3-frame` are written for interoperability tests.
   */
  format?: LtxFormat | undefined;
  /**
   * Track database checksums (pre/post-apply). Default true, or what `flags` says;
   * false sets the NoChecksum flag.
   */
  checksums?: boolean | undefined;
  /** Named in errors. */
  file?: string | undefined;
  /**
   * LZ4 compressor of the LZ4 layouts: `native` (lz4-napi, the default when it loads) or
   * `js`, the port of the Go reference's compressor, for output byte-identical to Go's
   * (the default when lz4-napi cannot load). Any valid LZ4 decodes the same.
   */
  lz4?: Lz4Codec | undefined;
}

/** Frame options of the Go reference's LZ4 writer (spec §4.2). */
const FRAME_OPTIONS = { blockSize: 65536, contentChecksum: true } as const;
const NATIVE_FRAME_OPTIONS = { ...FRAME_OPTIONS, codec: "native" } as const;

/**
 * Streaming encoder: `writePage` for each page in order, then `finish`; each call
 * returns the bytes to append to the file. Holds one page at a time plus the page
 * index (a few bytes per page). With `lz4: "js"` (or without lz4-napi), for the same
 * header and pages the output equals the Go reference's byte for byte in every layout.
 */
export class LtxEncoder {
  readonly header: LtxHeader;
  readonly format: LtxFormat;
  private readonly file: string | undefined;
  private readonly crc = new Crc64();
  private readonly index: ByteBuilder | undefined;
  private readonly lz4: Lz4FrameEncoder | undefined;
  private readonly sum: DatabaseChecksum | undefined;
  private readonly lock: number;
  private readonly snapshot: boolean;
  private readonly checksums: boolean;
  private readonly native: boolean;
  private written = 0;
  private prev = 0;
  private pages = 0;
  private trailerValue: LtxTrailer | undefined;

  constructor(init: LtxHeaderInit, options: EncodeOptions = {}) {
    this.format = options.format ?? "v3-block";
    this.file = options.file;
    this.checksums = options.checksums ?? (init.flags === undefined || (init.flags & HEADER_FLAG_NO_CHECKSUM) === 0);
    const flags = (this.format === "v1-lz4" ? HEADER_FLAG_COMPRESS_LZ4 : 0) | (this.checksums ? 0 : HEADER_FLAG_NO_CHECKSUM);
    if (init.flags !== undefined && init.flags !== flags) {
      throw this.error(
        "invalid-argument",
        `header flags 0x${init.flags.toString(16)} disagree with ${this.format}${this.checksums ? "" : " without checksums"} (0x${flags.toString(16)})`,
      );
    }
    this.header = {
      flags,
      pageSize: init.pageSize,
      commit: init.commit,
      minTXID: init.minTXID,
      maxTXID: init.maxTXID,
      timestamp: init.timestamp ?? Date.now(),
      preApplyChecksum: init.preApplyChecksum ?? 0n,
      walOffset: init.walOffset ?? 0,
      walSize: init.walSize ?? 0,
      walSalt1: init.walSalt1 ?? 0,
      walSalt2: init.walSalt2 ?? 0,
      nodeID: init.nodeID ?? 0n,
    };
    validateHeader(this.header, { format: this.format, file: this.file });
    this.snapshot = isSnapshot(this.header);
    this.lock = lockPgno(this.header.pageSize);
    this.sum = this.snapshot && this.checksums ? new DatabaseChecksum() : undefined;
    this.index = hasPageIndex(this.format) ? new ByteBuilder() : undefined;
    this.native = useNativeCompressor(options.lz4);
    this.lz4 = this.format === "v1-lz4" ? new Lz4FrameEncoder(this.frameOptions()) : undefined;
  }

  /** Bytes returned so far. */
  get size(): number {
    return this.written;
  }

  /** The trailer, once `finish` has run. */
  get trailer(): LtxTrailer | undefined {
    return this.trailerValue;
  }

  /** Encodes one page (pages in ascending order; a snapshot's are 1…commit without the lock page). */
  writePage(pgno: number, data: Uint8Array): Uint8Array[] {
    this.checkPage(pgno, data);
    const out = this.start();
    const headSize = pageHeaderSize(this.format);
    let frame: Uint8Array;
    switch (this.format) {
      case "v1":
      case "v1-lz4":
        frame = new Uint8Array(4 + data.length);
        viewOf(frame).setUint32(0, pgno);
        frame.set(data, 4);
        this.crc.update(frame);
        if (this.lz4 === undefined) this.emit(out, frame);
        else for (const chunk of this.lz4.push(frame)) this.emit(out, chunk);
        break;
      case "v3-block": {
        const block = compressPageBlock(data, this.native);
        frame = new Uint8Array(10 + block.length);
        const view = viewOf(frame);
        view.setUint32(0, pgno);
        view.setUint16(4, PAGE_FLAG_SIZE);
        view.setUint32(6, block.length);
        frame.set(block, 10);
        this.crc.update(frame.subarray(0, 10)).update(data);
        this.indexFrame(out, pgno, frame);
        break;
      }
      case "v2":
      case "v3-frame": {
        const lz4 = lz4EncodeFrame(data, this.frameOptions());
        frame = new Uint8Array(headSize + lz4.length);
        viewOf(frame).setUint32(0, pgno);
        frame.set(lz4, headSize);
        this.crc.update(frame.subarray(0, headSize)).update(data);
        this.indexFrame(out, pgno, frame);
        break;
      }
    }
    this.sum?.add(pageChecksum(pgno, data));
    this.prev = pgno;
    this.pages++;
    return out;
  }

  /**
   * Writes the end-of-pages marker, the page index and the trailer. A snapshot's
   * post-apply checksum is computed from its pages (a given one must match); an
   * incremental file with checksums needs it.
   */
  finish(postApplyChecksum?: bigint): Uint8Array[] {
    if (this.trailerValue !== undefined) throw this.error("invalid-argument", "encoder already finished");
    if (this.snapshot && this.nextSnapshotPage() <= this.header.commit) {
      throw this.error("incomplete-snapshot", `snapshot ends before page ${this.nextSnapshotPage()} of ${this.header.commit}`);
    }
    const post = this.resolvePostApply(postApplyChecksum);
    const out = this.start();
    const marker = new Uint8Array(pageHeaderSize(this.format));
    this.crc.update(marker);
    if (this.lz4 === undefined) this.emit(out, marker);
    else for (const chunk of [...this.lz4.push(marker), ...this.lz4.finish()]) this.emit(out, chunk);
    if (this.index !== undefined) {
      this.index.push(0);
      const entries = this.index.bytes();
      const index = concatBytes([entries, u64be(BigInt(entries.length))]);
      this.crc.update(index);
      this.emit(out, index);
    }
    this.crc.update(u64be(post));
    this.trailerValue = { postApplyChecksum: post, fileChecksum: CHECKSUM_FLAG | this.crc.digest() };
    this.emit(out, encodeTrailer(this.trailerValue));
    return out;
  }

  private frameOptions(): typeof FRAME_OPTIONS | typeof NATIVE_FRAME_OPTIONS {
    return this.native ? NATIVE_FRAME_OPTIONS : FRAME_OPTIONS;
  }

  private resolvePostApply(given: bigint | undefined): bigint {
    let post: bigint;
    if (!this.checksums) {
      if (given !== undefined && given !== 0n) throw this.error("invalid-argument", "post-apply checksum not allowed without checksums");
      post = 0n;
    } else if (this.sum !== undefined) {
      post = this.sum.value;
      if (given !== undefined && given !== post) {
        throw this.error("post-apply-checksum-mismatch", `post-apply checksum ${formatChecksum(given)} does not match the snapshot's pages (${formatChecksum(post)})`);
      }
    } else if (given !== undefined) {
      post = given;
    } else if (this.header.commit === 0) {
      post = EMPTY_DATABASE_CHECKSUM;
    } else {
      throw this.error("invalid-argument", "post-apply checksum required for an incremental file with checksums");
    }
    validatePostApplyChecksum(this.header, post, { file: this.file });
    return post;
  }

  private checkPage(pgno: number, data: Uint8Array): void {
    if (this.trailerValue !== undefined) throw this.error("invalid-argument", "encoder already finished");
    const { pageSize, commit } = this.header;
    if (data.length !== pageSize) throw this.error("invalid-argument", `invalid page buffer size: ${data.length}, expecting ${pageSize}`);
    if (!Number.isInteger(pgno) || pgno < 1) throw this.error("invalid-page", `invalid page number ${pgno}`);
    if (pgno > commit) throw this.error("invalid-page", `page number ${pgno} out-of-bounds for commit size ${commit}`);
    if (pgno === this.lock) throw this.error("invalid-page", `cannot encode lock page: pgno=${pgno}`);
    if (this.snapshot) {
      if (pgno !== this.nextSnapshotPage()) {
        throw this.error(
          pgno > this.nextSnapshotPage() ? "incomplete-snapshot" : "invalid-page",
          this.pages === 0 ? `snapshot transaction file must start with page number 1, got ${pgno}` : `nonsequential page numbers in snapshot transaction: ${this.prev},${pgno}`,
        );
      }
    } else if (pgno <= this.prev) {
      throw this.error("invalid-page", `out-of-order page numbers: ${this.prev},${pgno}`);
    }
  }

  private nextSnapshotPage(): number {
    const next = this.prev + 1;
    return next === this.lock ? next + 1 : next;
  }

  /** Emits the header with the first output. */
  private start(): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (this.written === 0) {
      const header = encodeHeader(this.header);
      this.crc.update(header);
      this.emit(out, header);
    }
    return out;
  }

  private emit(out: Uint8Array[], chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    out.push(chunk);
    this.written += chunk.length;
  }

  private indexFrame(out: Uint8Array[], pgno: number, frame: Uint8Array): void {
    this.index!.uvarint(pgno);
    this.index!.uvarint(this.written);
    this.index!.uvarint(frame.length);
    this.emit(out, frame);
  }

  private error(code: LtxErrorCode, message: string): LtxError {
    return new LtxError(code, message, { file: this.file });
  }
}

/** Options of `encodeLtx` and `encodeLtxStream`. */
export interface EncodeLtxOptions extends EncodeOptions {
  /** See `LtxEncoder.finish`. */
  postApplyChecksum?: bigint | undefined;
}

/** Encodes a whole file in memory. */
export function encodeLtx(header: LtxHeaderInit, pages: Iterable<LtxPage>, options: EncodeLtxOptions = {}): Uint8Array {
  const encoder = new LtxEncoder(header, options);
  const chunks: Uint8Array[] = [];
  for (const page of pages) chunks.push(...encoder.writePage(page.pgno, page.data));
  chunks.push(...encoder.finish(options.postApplyChecksum));
  return concatBytes(chunks);
}

/** Encodes pages as they arrive, yielding the file's bytes chunk by chunk. */
export async function* encodeLtxStream(
  header: LtxHeaderInit,
  pages: AsyncIterable<LtxPage> | Iterable<LtxPage>,
  options: EncodeLtxOptions = {},
): AsyncGenerator<Uint8Array, LtxTrailer> {
  const encoder = new LtxEncoder(header, options);
  for await (const page of pages) yield* encoder.writePage(page.pgno, page.data);
  yield* encoder.finish(options.postApplyChecksum);
  return encoder.trailer!;
}
