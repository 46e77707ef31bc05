import { concatBytes, LtxEncoder, type LtxHeaderInit, type LtxTrailer } from "@sqlrep/ltx";
import { throwIfAborted } from "./errors.js";

/** One page to encode. */
export interface BodyPage {
  readonly pgno: number;
  readonly data: Uint8Array;
}

/** What an LTX file is made of, read lazily while it is uploaded. */
export interface BodyPlan {
  readonly header: LtxHeaderInit;
  /** Pages in ascending order, read one at a time. */
  pages(): Iterable<BodyPage>;
  /** The post-apply checksum, asked once every page was read (undefined: computed by the encoder, snapshots). */
  postApply(): bigint | undefined;
  /** Throws when what was read can no longer be trusted (the WAL changed underneath); runs before the trailer. */
  verify?(): void;
}

/** Chunks are gathered up to this size before being handed to the replica client. */
const CHUNK_BYTES = 256 * 1024;

/**
 * An LTX file encoded while it is uploaded: `body` yields the bytes as the client
 * pulls them, so memory stays at one page plus one chunk whatever the file's size.
 * A failure while reading (or `verify`) throws inside the client's write, which then
 * leaves no object behind.
 */
export class LtxUpload {
  private trailerValue: LtxTrailer | undefined;
  private bytes = 0;
  private pageCount = 0;

  constructor(
    private readonly plan: BodyPlan,
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
    for (const chunk of encoder.finish(this.plan.postApply())) {
      pending.push(chunk);
      pendingBytes += chunk.length;
    }
    this.trailerValue = encoder.trailer;
    yield take();
  }
}
