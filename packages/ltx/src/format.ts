/**
 * The on-disk layouts of LTX (spec §1, §3) and how to tell them apart. The file
 * never says which layout it uses, so a reader either knows (LiteFS writes v1,
 * Litestream v0.5 writes v3) or guesses from the first page frame (§3.8).
 */

/** Size of the fixed header at the start of every file. */
export const HEADER_SIZE = 100;
/** Size of the trailer (post-apply checksum, file checksum) at the end of every file. */
export const TRAILER_SIZE = 16;
/** `LTX1`, the magic of every released layout. */
export const MAGIC = new Uint8Array([0x4c, 0x54, 0x58, 0x31]);

/** v1 only: everything between header and trailer is one LZ4 frame. */
export const HEADER_FLAG_COMPRESS_LZ4 = 0x1;
/** Database checksums are not tracked: pre- and post-apply checksums are 0. */
export const HEADER_FLAG_NO_CHECKSUM = 0x2;
/** v3 page frame flag: a u32 size and a raw LZ4 block follow (else an LZ4 frame). */
export const PAGE_FLAG_SIZE = 0x1;

/**
 * A layout: `v1` (LiteFS, raw pages), `v1-lz4` (v1 with the body in one LZ4 frame),
 * `v2` (ltx v0.4.0, a frame per page), `v3-frame` (Litestream v0.5.0–v0.5.15),
 * `v3-block` (Litestream v0.5.16+, what the encoder writes by default).
 */
export type LtxFormat = "v1" | "v1-lz4" | "v2" | "v3-frame" | "v3-block";

/** Every layout, oldest first. */
export const LTX_FORMATS: readonly LtxFormat[] = ["v1", "v1-lz4", "v2", "v3-frame", "v3-block"];

/** Header flags a layout allows (v1 also accepts NoChecksum, as ltx v0.3.15+ does). */
export function allowedHeaderFlags(format: LtxFormat): number {
  return format === "v1" || format === "v1-lz4" ? HEADER_FLAG_COMPRESS_LZ4 | HEADER_FLAG_NO_CHECKSUM : HEADER_FLAG_NO_CHECKSUM;
}

/** Whether a layout has a page index after the pages (v2, v3). */
export function hasPageIndex(format: LtxFormat): boolean {
  return format === "v2" || format === "v3-frame" || format === "v3-block";
}

/** Size of a page frame's header: pgno (4) and, from v3 on, page flags (2). */
export function pageHeaderSize(format: LtxFormat): 4 | 6 {
  return format === "v3-frame" || format === "v3-block" ? 6 : 4;
}

/** Bytes `detectFormat` needs to decide, unless the file is shorter. */
export const DETECT_SIZE = HEADER_SIZE + 32;

const EMPTY_SIZES: Record<number, LtxFormat> = { 120: "v1", 129: "v2", 131: "v3-block" };

/**
 * Guesses the layout from the first bytes of a file (at least `DETECT_SIZE` of them,
 * or the whole file) and, when known, its size (spec §3.8).
 *
 * A v1 raw file whose first page happens to start like a v3 frame header is
 * misread; callers that know the layout should pass it to the decoder instead.
 */
export function detectFormat(head: Uint8Array, fileSize?: number): LtxFormat {
  if (head.length < 8) return "v1";
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (view.getUint32(4) & HEADER_FLAG_COMPRESS_LZ4) return "v1-lz4";
  if (head.length < HEADER_SIZE + 6) {
    // Too short for any page frame: only an empty file of a known size can be told.
    return (fileSize !== undefined && EMPTY_SIZES[fileSize]) || "v1";
  }
  const at = (i: number): number => head[HEADER_SIZE + i] ?? -1;
  const isFrameMagic = (i: number): boolean => at(i) === 0x04 && at(i + 1) === 0x22 && at(i + 2) === 0x4d && at(i + 3) === 0x18;
  if (view.getUint32(HEADER_SIZE) === 0) {
    const size = fileSize ?? head.length;
    return EMPTY_SIZES[size] ?? "v1";
  }
  if (isFrameMagic(4)) return "v2";
  if (at(4) === 0 && at(5) === 0 && isFrameMagic(6)) return "v3-frame";
  if (at(4) === 0 && at(5) === PAGE_FLAG_SIZE && head.length >= HEADER_SIZE + 10) {
    // A v3-block size field is small (at most the LZ4 bound of a page); raw v1 page
    // bytes rarely are, which keeps most v1 pages starting `00 01` out of this branch.
    const size = view.getUint32(HEADER_SIZE + 6);
    const pageSize = view.getUint32(8);
    if (size > 0 && size <= pageSize + Math.floor(pageSize / 255) + 16) return "v3-block";
  }
  return "v1";
}
