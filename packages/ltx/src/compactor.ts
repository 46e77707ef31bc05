/** compactLtx: many LTX files into one (a merge feeding an encoder), streamed, with the output header of spec §8. */
import { concatBytes } from "./binary.js";
import { LtxEncoder, type EncodeOptions } from "./encoder.js";
import { mergeLtx, type MergeInput, type MergeOptions } from "./merge.js";
import type { LtxTrailer } from "./trailer.js";

/** Options of `compactLtx`: the merge's and the output encoder's (`format`, `file`). */
export interface CompactOptions extends MergeOptions {
  /** Layout of the output (default v3-block). Inputs are detected unless `inputFormat` is given. */
  format?: EncodeOptions["format"];
  /** Layout of inputs given as bytes. */
  inputFormat?: MergeOptions["format"];
  /** Name of the output, for errors. */
  file?: string | undefined;
  /** The output's LZ4 compressor (see `EncodeOptions.lz4`). */
  lz4?: EncodeOptions["lz4"];
}

/**
 * Compacts LTX files (given in TXID order) into one: `mergeLtx` feeding an
 * `LtxEncoder`. Yields the output's bytes as they are produced and returns its
 * trailer. Output header per spec §8: MinTXID and pre-apply checksum from the first
 * input; Commit, MaxTXID and Timestamp from the last; WAL fields and NodeID zero.
 */
export async function* compactLtx(inputs: readonly MergeInput[], options: CompactOptions = {}): AsyncGenerator<Uint8Array, LtxTrailer> {
  const merge = await mergeLtx(inputs, { ...options, format: options.inputFormat });
  const { flags: _flags, ...header } = merge.header;
  const encoder = new LtxEncoder(header, { format: options.format, checksums: merge.checksums, file: options.file, lz4: options.lz4 });
  for await (const page of merge) yield* encoder.writePage(page.pgno, page.data);
  yield* encoder.finish(merge.postApplyChecksum);
  return encoder.trailer!;
}

/** `compactLtx` collected into one buffer. */
export async function compactLtxToBuffer(inputs: readonly MergeInput[], options: CompactOptions = {}): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of compactLtx(inputs, options)) chunks.push(chunk);
  return concatBytes(chunks);
}
