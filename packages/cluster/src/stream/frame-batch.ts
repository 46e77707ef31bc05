/**
 * Frames gathered into one write of the stream: a replica that is behind gets its LTX
 * frames in writes of up to `maxBytes`, not one chunked write (and one read on its side)
 * per transaction.
 */
import { concatBytes } from "@sqlrep/ltx";

/** Bytes a session gathers before it writes them (frames are never split). */
export const FRAME_BATCH_BYTES = 256 * 1024;

/** Gathers frames and writes them through `write` once `maxBytes` is reached, or on {@link flush}. */
export class FrameBatch {
  private pending: Uint8Array[] = [];
  private bytes = 0;
  private frames = 0;

  constructor(
    private readonly write: (bytes: Uint8Array) => Promise<void>,
    private readonly maxBytes = FRAME_BATCH_BYTES,
  ) {}

  /** Frames gathered and not yet written. */
  get size(): number {
    return this.frames;
  }

  /** Adds a whole frame (its parts in order); writes the batch when it reaches `maxBytes`. */
  async add(...parts: Uint8Array[]): Promise<void> {
    for (const part of parts) {
      this.pending.push(part);
      this.bytes += part.length;
    }
    this.frames++;
    if (this.bytes >= this.maxBytes) await this.flush();
  }

  /** Writes what is gathered (one write), if anything. */
  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const bytes = this.pending.length === 1 ? this.pending[0]! : concatBytes(this.pending);
    this.pending = [];
    this.bytes = 0;
    this.frames = 0;
    await this.write(bytes);
  }
}
