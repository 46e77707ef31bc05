/**
 * A deliberately unchecking LTX writer for tests: builds any file, valid or not,
 * straight from spec §3 and §5.5 (its own file-checksum computation, independent of
 * the encoder), so the decoder's structural checks can be exercised with every
 * checksum right.
 */
import { concatBytes, u32be, u64be, viewOf } from "../binary.js";
import { CHECKSUM_FLAG } from "../checksum.js";
import { crc64 } from "../crc64.js";
import type { LtxFormat } from "../format.js";
import { encodeHeader, type LtxHeader } from "../header.js";
import { lz4CompressBlock } from "../lz4/block.js";
import { lz4EncodeFrame } from "../lz4/frame.js";
import { ByteBuilder, type PageIndexEntry } from "../page-index.js";

export interface RawPage {
  pgno: number;
  /** The decompressed page (any length). */
  data: Uint8Array;
  /** v3 page flags (default 1 for v3-block, 0 for v3-frame). */
  flags?: number;
  /** Replaces the compressed payload (v2/v3). */
  payload?: Uint8Array;
}

export interface RawLtx {
  format: LtxFormat;
  header: LtxHeader;
  pages: RawPage[];
  postApplyChecksum: bigint;
  /** Replaces the index entries (v2/v3); default: the true entries. */
  index?: PageIndexEntry[];
  /** Replaces the IndexSize field. */
  indexSize?: bigint;
  /** Appended after the trailer. */
  trailing?: Uint8Array;
  /** Replaces the header bytes (after encoding). */
  patchHeader?: (bytes: Uint8Array) => void;
  /** Extra bytes inside the v1-lz4 body after the end marker. */
  bodyTrailing?: Uint8Array;
}

const FRAME = { blockSize: 65536, contentChecksum: true } as const;

/** The file's bytes, with a correct file checksum over whatever was asked for. */
export function writeRawLtx(spec: RawLtx): Uint8Array {
  const header = encodeHeader(spec.header);
  spec.patchHeader?.(header);
  const covered: Uint8Array[] = [header];
  const out: Uint8Array[] = [header];
  const v3 = spec.format === "v3-block" || spec.format === "v3-frame";
  if (spec.format === "v1" || spec.format === "v1-lz4") {
    const body: Uint8Array[] = [];
    for (const p of spec.pages) body.push(u32be(p.pgno), p.data);
    body.push(new Uint8Array(4));
    covered.push(...body);
    if (spec.bodyTrailing) body.push(spec.bodyTrailing);
    out.push(spec.format === "v1" ? concatBytes(body) : lz4EncodeFrame(concatBytes(body), FRAME));
  } else {
    const entries: PageIndexEntry[] = [];
    let offset = header.length;
    for (const p of spec.pages) {
      const flags = p.flags ?? (spec.format === "v3-block" ? 1 : 0);
      const block = flags & 1;
      const payload = p.payload ?? (block ? lz4CompressBlock(p.data) : lz4EncodeFrame(p.data, FRAME));
      const head = new Uint8Array(v3 ? (block ? 10 : 6) : 4);
      const view = viewOf(head);
      view.setUint32(0, p.pgno);
      if (v3) view.setUint16(4, flags);
      if (block) view.setUint32(6, payload.length);
      covered.push(head, p.data);
      out.push(head, payload);
      entries.push({ pgno: p.pgno, offset, size: head.length + payload.length });
      offset += head.length + payload.length;
    }
    const marker = new Uint8Array(v3 ? 6 : 4);
    const b = new ByteBuilder();
    for (const e of spec.index ?? entries) {
      b.uvarint(e.pgno);
      b.uvarint(e.offset);
      b.uvarint(e.size);
    }
    b.push(0);
    const index = concatBytes([b.bytes(), u64be(spec.indexSize ?? BigInt(b.length))]);
    covered.push(marker, index);
    out.push(marker, index);
  }
  const post = u64be(spec.postApplyChecksum);
  covered.push(post);
  out.push(post, u64be(CHECKSUM_FLAG | crc64(concatBytes(covered))));
  if (spec.trailing) out.push(spec.trailing);
  return concatBytes(out);
}

/** A header with every optional field zero. */
export function rawHeader(fields: Partial<LtxHeader> & Pick<LtxHeader, "pageSize" | "commit" | "minTXID" | "maxTXID">): LtxHeader {
  return {
    flags: 0,
    timestamp: 0,
    preApplyChecksum: 0n,
    walOffset: 0,
    walSize: 0,
    walSalt1: 0,
    walSalt2: 0,
    nodeID: 0n,
    ...fields,
  };
}
