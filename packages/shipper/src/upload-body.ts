/**
 * The bytes of an upload: a local file as it is, several merged into one (newest page
 * wins), or a snapshot encoded while it is read. Bodies are produced while the client
 * uploads them; a fault thrown before the last chunk leaves no object behind.
 */
import { compactLtx, concatBytes, LtxEncoder, type LtxHeaderInit, type LtxTrailer } from "@sqlrep/ltx";
import { throwIfAborted } from "@sqlrep/replica";
import type { LogEntry, LogPage, LtxLog } from "./ltx-log.js";

/** Chunks are gathered up to this size before being handed to the replica client. */
const CHUNK_BYTES = 256 * 1024;

/**
 * The body of one level-0 upload covering `entries` (contiguous, no break): the entry as
 * the log reads it for one, else a merge whose last chunk is held back until every input
 * was verified (checksums, chain), so a damaged local file is never uploaded. Small
 * chunks are gathered into chunks of up to 256 KiB for the client.
 */
export async function* entriesBody(log: LtxLog, entries: readonly LogEntry[], signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const source =
    entries.length === 1
      ? log.read(entries[0]!)
      : compactLtx(
          entries.map((e) => log.read(e)),
          { names: entries.map((e) => e.file), signal, file: `${entries[0]!.minTXID}-${entries[entries.length - 1]!.maxTXID}`, inputFormat: "v3-block" },
        );
  let pending: Uint8Array[] = [];
  let bytes = 0;
  for await (const chunk of source) {
    throwIfAborted(signal);
    pending.push(chunk);
    bytes += chunk.length;
    if (bytes >= CHUNK_BYTES) {
      yield pending.length === 1 ? pending[0]! : concatBytes(pending);
      pending = [];
      bytes = 0;
    }
  }
  if (pending.length > 0) yield pending.length === 1 ? pending[0]! : concatBytes(pending);
}

/** A snapshot's pages, read lazily while it is uploaded. */
export interface PagePlan {
  readonly header: LtxHeaderInit;
  /** Pages in ascending order, read one at a time. */
  pages(): Iterable<LogPage>;
  /** Throws when what was read can no longer be trusted; runs before the trailer. */
  verify?(): void;
  /**
   * What the pages must add up to (a snapshot): the encoder throws LtxError
   * "post-apply-checksum-mismatch" before the trailer otherwise, so nothing is written.
   */
  expected?: bigint | undefined;
}

/**
 * An LTX file encoded while it is uploaded: `body` yields the bytes as the client pulls
 * them, so memory stays at one page plus one chunk whatever the file's size.
 */
export class EncodedUpload {
  private trailerValue: LtxTrailer | undefined;
  private bytes = 0;
  private pageCount = 0;

  constructor(
    private readonly plan: PagePlan,
    private readonly signal?: AbortSignal,
  ) {}

  /** The trailer, once the body was read to the end. */
  get trailer(): LtxTrailer {
    if (this.trailerValue === undefined) throw new Error("the LTX body was not read to the end");
    return this.trailerValue;
  }

  /** Bytes produced. */
  get size(): number {
    return this.bytes;
  }

  /** Pages encoded. */
  get pages(): number {
    return this.pageCount;
  }

  async *body(): AsyncGenerator<Uint8Array> {
    const encoder = new LtxEncoder(this.plan.header);
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const take = (): Uint8Array => {
      const out = pending.length === 1 ? pending[0]! : concatBytes(pending);
      pending = [];
      pendingBytes = 0;
      this.bytes += out.length;
      return out;
    };
    for (const page of this.plan.pages()) {
      for (const chunk of encoder.writePage(page.pgno, page.data)) {
        pending.push(chunk);
        pendingBytes += chunk.length;
      }
      this.pageCount++;
      if (pendingBytes >= CHUNK_BYTES) {
        throwIfAborted(this.signal);
        yield take();
      }
    }
    this.plan.verify?.();
    for (const chunk of encoder.finish(this.plan.expected)) {
      pending.push(chunk);
      pendingBytes += chunk.length;
    }
    this.trailerValue = encoder.trailer;
    yield take();
  }
}
