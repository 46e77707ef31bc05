/**
 * Reading a run of LTX files from a replica for a merge (a restore or a compaction):
 * one streaming reader per file over ranged reads, faults placed in the file they
 * concern, and the checks the merge cannot make on its own (names against headers,
 * each file's pre-apply checksum against the previous file's post-apply checksum).
 */
import { formatChecksum, formatTxid, isLtxError, LtxReader, tracksChecksums, type LtxDecodeSummary, type LtxHeader } from "@sqlrep/ltx";
import { isReplicaError, ReplicaError, type ReplicaErrorCode } from "./errors.js";
import { fileLabel } from "./listing.js";
import type { RangeScheduler } from "./ranged-source.js";
import { ltxKey, type LtxFileInfo, type ReplicaClient } from "./replica-client.js";

/** Offset of the pre-apply checksum in an LTX header. */
const PRE_APPLY_OFFSET = 40;

/**
 * The files of a merge, each with a streaming reader fed by the scheduler's ranged reads
 * — but the first `skip`, which the caller reads another way (a restore's base) and
 * whose summaries it hands to `checkChecksumChain`.
 */
export class MergeInputs {
  /** Readers of `files.slice(skip)`. */
  readonly readers: LtxReader[];

  constructor(
    private readonly client: ReplicaClient,
    readonly files: readonly LtxFileInfo[],
    scheduler: RangeScheduler,
    signal: AbortSignal | undefined,
    skip = 0,
  ) {
    this.readers = files.slice(skip).map((file) => new LtxReader(scheduler.open(file), { file: fileLabel(file), signal }));
  }

  /** Every header says what the file's name says (a misnamed file would corrupt a chain silently). */
  checkNames(headers: readonly LtxHeader[]): void {
    headers.forEach((header, i) => {
      const file = this.files[i]!;
      if (header.minTXID !== file.minTXID || header.maxTXID !== file.maxTXID) {
        throw this.fault("corrupt", i, `its header holds TXIDs ${formatTxid(header.minTXID)}…${formatTxid(header.maxTXID)}, not what its name says`, 16);
      }
    });
  }

  /**
   * Where a file follows the previous one exactly (MinTXID = previous MaxTXID + 1) and both
   * track checksums, its pre-apply checksum must be the previous file's post-apply checksum.
   * Call once every reader has finished (the merge has been iterated); `skipped`: the
   * summaries of the files read by the caller.
   */
  async checkChecksumChain(skipped: readonly LtxDecodeSummary[] = []): Promise<LtxDecodeSummary[]> {
    const summaries: LtxDecodeSummary[] = [...skipped];
    for (const reader of this.readers) summaries.push(await reader.finish());
    for (let i = 1; i < summaries.length; i++) {
      const prev = summaries[i - 1]!;
      const cur = summaries[i]!;
      if (cur.header.minTXID !== prev.header.maxTXID + 1 || !tracksChecksums(prev.header) || !tracksChecksums(cur.header)) continue;
      if (cur.header.preApplyChecksum !== prev.trailer.postApplyChecksum) {
        throw this.fault(
          "corrupt",
          i,
          `pre-apply checksum ${formatChecksum(cur.header.preApplyChecksum)} does not match the post-apply checksum ${formatChecksum(prev.trailer.postApplyChecksum)} of ${fileLabel(this.files[i - 1]!)}`,
          PRE_APPLY_OFFSET,
        );
      }
    }
    return summaries;
  }

  /**
   * A fault met while reading or merging, as a ReplicaError that names the file (level,
   * name, key) and the offset: decoder faults are "corrupt", a TXID gap "non-contiguous".
   */
  error(err: unknown): unknown {
    if (isReplicaError(err)) return err;
    if (!isLtxError(err)) return err;
    const code: ReplicaErrorCode = err.code === "aborted" ? "aborted" : err.code === "non-contiguous" ? "non-contiguous" : "corrupt";
    const index = this.files.findIndex((f) => fileLabel(f) === err.file);
    const file = this.files[index];
    if (file === undefined) return new ReplicaError(code, `${err.message} (files in ${this.client.location})`, { cause: err });
    const key = ltxKey(this.client.layout, file);
    return new ReplicaError(code, `${err.message}; key ${key} in ${this.client.location}`, { cause: err, key, offset: err.offset });
  }

  private fault(code: ReplicaErrorCode, index: number, reason: string, offset: number): ReplicaError {
    const file = this.files[index]!;
    const key = ltxKey(this.client.layout, file);
    return new ReplicaError(code, `${fileLabel(file)} (${key} in ${this.client.location}) at offset ${offset}: ${reason}`, { key, offset });
  }
}
