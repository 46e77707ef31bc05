/**
 * A FIFO of byte chunks with an absolute read position: what the decoder reads
 * from, whether the bytes arrive as one buffer or as a stream of chunks. Reads
 * within one chunk return views; only reads that straddle chunks copy.
 */
export class ByteQueue {
  /** Consumed slots before `first` are cleared so their memory can go. */
  private chunks: (Uint8Array | undefined)[] = [];
  /** Index of the first live chunk in `chunks`. */
  private first = 0;
  /** Bytes of `chunks[first]` already consumed. */
  private head = 0;
  private buffered = 0;
  private consumed: number;
  /** No more chunks will be pushed. */
  ended = false;

  /** `position` starts at `base` (the absolute offset of the first byte pushed). */
  constructor(base = 0) {
    this.consumed = base;
  }

  /** Bytes buffered and not yet taken. */
  get available(): number {
    return this.buffered;
  }

  /** Absolute offset of the next byte `take` returns. */
  get position(): number {
    return this.consumed;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** Puts bytes back in front (they were taken and not used); `position` moves back. */
  unshift(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const current = this.chunks[this.first];
    if (current !== undefined && this.head > 0) {
      this.chunks[this.first] = current.subarray(this.head);
      this.head = 0;
    }
    if (this.first > 0) this.chunks[--this.first] = chunk;
    else this.chunks.unshift(chunk);
    this.buffered += chunk.length;
    this.consumed -= chunk.length;
  }

  end(): void {
    this.ended = true;
  }

  /** Takes exactly `n` bytes (`n <= available`). */
  take(n: number): Uint8Array {
    const out = this.peek(n);
    this.skip(n);
    return out;
  }

  /** Takes up to `n` bytes from the first chunk only (never copies). */
  takeSome(n: number): Uint8Array {
    const chunk = this.chunks[this.first];
    if (chunk === undefined) return new Uint8Array(0);
    const out = chunk.subarray(this.head, Math.min(chunk.length, this.head + n));
    this.skip(out.length);
    return out;
  }

  /** One byte (`available >= 1`). */
  takeByte(): number {
    const chunk = this.chunks[this.first]!;
    const b = chunk[this.head]!;
    this.skip(1);
    return b;
  }

  /** The next `n` bytes without taking them (`n <= available`). */
  peek(n: number): Uint8Array {
    if (n > this.buffered) throw new RangeError(`peek(${n}) with ${this.buffered} bytes buffered`);
    const chunk = this.chunks[this.first];
    if (chunk === undefined) return new Uint8Array(0);
    if (chunk.length - this.head >= n) return chunk.subarray(this.head, this.head + n);
    const out = new Uint8Array(n);
    let filled = 0;
    let i = this.first;
    let from = this.head;
    while (filled < n) {
      const c = this.chunks[i++]!;
      const part = c.subarray(from, from + (n - filled));
      out.set(part, filled);
      filled += part.length;
      from = 0;
    }
    return out;
  }

  /**
   * The byte `i` places past the read position (`i < available`), without taking it.
   * The parsers' per-page reads use this instead of `peek` views: a view per field is
   * an allocation per page, and at 50,000 pages a file those kept the young GC busy.
   */
  byteAt(i: number): number {
    let c = this.first;
    let at = this.head + i;
    for (let chunk = this.chunks[c]!; at >= chunk.length; chunk = this.chunks[++c]!) at -= chunk.length;
    return this.chunks[c]![at]!;
  }

  /** The big-endian 16-bit integer `i` places past the read position (`i + 2 <= available`). */
  uint16At(i: number): number {
    return (this.byteAt(i) << 8) | this.byteAt(i + 1);
  }

  /** The big-endian 32-bit integer `i` places past the read position (`i + 4 <= available`). */
  uint32At(i: number): number {
    const chunk = this.chunks[this.first]!;
    const at = this.head + i;
    if (at + 4 <= chunk.length) return ((chunk[at]! << 24) | (chunk[at + 1]! << 16) | (chunk[at + 2]! << 8) | chunk[at + 3]!) >>> 0;
    return ((this.byteAt(i) << 24) | (this.byteAt(i + 1) << 16) | (this.byteAt(i + 2) << 8) | this.byteAt(i + 3)) >>> 0;
  }

  /** Takes `n` bytes (`n <= available`) by copying them into `target` at `offset`: no view is made. */
  takeInto(target: Uint8Array, offset: number, n: number): void {
    let left = n;
    while (left > 0) {
      const chunk = this.chunks[this.first]!;
      const part = Math.min(left, chunk.length - this.head);
      target.set(part === chunk.length ? chunk : chunk.subarray(this.head, this.head + part), offset);
      offset += part;
      left -= part;
      this.skip(part);
    }
  }

  /** Drops `n` bytes (`n <= available`). */
  skip(n: number): void {
    this.buffered -= n;
    this.consumed += n;
    while (n > 0) {
      const chunk = this.chunks[this.first]!;
      const left = chunk.length - this.head;
      if (n < left) {
        this.head += n;
        return;
      }
      n -= left;
      this.chunks[this.first] = undefined;
      this.first++;
      this.head = 0;
    }
    if (this.first > 32 && this.first * 2 > this.chunks.length) this.compact();
  }

  private compact(): void {
    if (this.first === 0) return;
    this.chunks = this.chunks.slice(this.first);
    this.first = 0;
  }
}
