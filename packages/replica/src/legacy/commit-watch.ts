/** Spots, as a v0.3 WAL segment streams in, when a commit frame has fully arrived, so a restore replays each transaction as soon as it can. */
import { WAL_HEADER_SIZE } from "@sqlrep/wal";

/**
 * Tells, as decompressed WAL bytes arrive block by block, when a frame with a commit
 * size (a transaction's last frame) has arrived whole, so committed transactions are
 * replayed as soon as they can be and only the unapplied tail is held. Each frame's
 * commit field is looked at once, as its bytes arrive; a false alarm (a frame that will
 * not verify) only costs a replay that applies nothing.
 */
export class CommitWatch {
  /** Bytes seen so far. */
  private end = 0;
  /** The frame at this offset is the next whose commit field is looked at. */
  private next = WAL_HEADER_SIZE;
  /** The end of the newest commit frame seen, until all its bytes have arrived. */
  private commitEnd: number | undefined;
  /** The last bytes before the current block (a commit field may straddle two blocks). */
  private tail: Uint8Array = new Uint8Array(0);

  /**
   * Takes the next block; `frameSize` once the WAL header is known (frames are not
   * looked at before). True when a commit frame has now arrived whole.
   */
  push(block: Uint8Array, frameSize: number | undefined): boolean {
    const start = this.end;
    this.end += block.length;
    const before = this.tail;
    this.tail = lastBytes(before, block, 8);
    if (frameSize === undefined) return false;
    for (let f = this.next; f + 8 <= this.end; f += frameSize) {
      let commit = 0;
      for (let i = f + 4; i < f + 8; i++) commit |= i >= start ? block[i - start]! : before[before.length - (start - i)]!;
      if (commit !== 0) this.commitEnd = f + frameSize;
      this.next = f + frameSize;
    }
    if (this.commitEnd === undefined || this.commitEnd > this.end) return false;
    this.commitEnd = undefined;
    return true;
  }
}

/** The last `n` bytes of `a` followed by `b`. */
function lastBytes(a: Uint8Array, b: Uint8Array, n: number): Uint8Array {
  if (b.length >= n) return b.slice(b.length - n);
  const out = new Uint8Array(Math.min(n, a.length + b.length));
  out.set(a.subarray(a.length - (out.length - b.length)));
  out.set(b, out.length - b.length);
  return out;
}
