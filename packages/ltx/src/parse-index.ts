/** The page index of a v2/v3 file as the decoder reads it: entry by entry, proved equal to the frames read without keeping one entry per page. */
import { viewOf } from "./binary.js";
import { Crc64 } from "./crc64.js";
import type { ByteQueue } from "./byte-queue.js";
import { ByteBuilder, checkEntry, MAX_VARINT_BYTES, type PageIndexEntry } from "./page-index.js";
import type { Ctx, Parse } from "./parse-context.js";

/**
 * Index bytes gathered before they are hashed. Hashing entry by entry was a CRC call and
 * a view per page (and, reading, a generator per varint): at 50,000 pages a file that
 * was the decoder's largest source of garbage.
 */
const BATCH = 64 * 1024;
/** Longest encoding of one entry (three varints). */
const ENTRY_MAX = 3 * MAX_VARINT_BYTES;

/**
 * The page index a file must carry, accumulated from the frames actually read: the
 * CRC and length of its encoding. Comparing those with the stored index proves
 * every entry right without keeping one entry per page in memory.
 */
export class IndexExpectation {
  private readonly crc = new Crc64();
  private readonly batch = new ByteBuilder(BATCH);
  length = 0;

  frame(pgno: number, offset: number, size: number): void {
    const b = this.batch;
    const before = b.length;
    b.uvarint(pgno);
    b.uvarint(offset);
    b.uvarint(size);
    this.length += b.length - before;
    if (b.length > BATCH - ENTRY_MAX) this.hash();
  }

  /** The digest once the terminator is added. */
  digest(): bigint {
    this.hash();
    return this.crc.update(new Uint8Array(1)).digest();
  }

  private hash(): void {
    this.crc.update(this.batch.bytes());
    this.batch.length = 0;
  }
}

/** The page index after the end marker: read entry by entry, checked against the frames. */
export function* parseIndex(ctx: Ctx, expected: IndexExpectation): Parse<number> {
  const { q } = ctx;
  const start = q.position;
  const actual = new Crc64();
  // The index bytes read and not hashed yet (into the file checksum and `actual`).
  const raw = new ByteBuilder(BATCH);
  const hash = () => {
    const bytes = raw.bytes();
    ctx.crc.update(bytes);
    actual.update(bytes);
    raw.length = 0;
  };
  let entryAt = start;
  const fail = (message: string): never => {
    throw ctx.error("invalid-page-index", message, entryAt);
  };
  // Two entries in turn: the one read and the one before it (no object per page).
  let entry: PageIndexEntry = { pgno: 0, offset: 0, size: 0 };
  let prev: PageIndexEntry = { pgno: 0, offset: 0, size: 0 };
  let first = true;
  for (;;) {
    entryAt = q.position;
    // The synchronous reads are taken whenever the varint is buffered whole: a `yield*` makes a generator.
    const pgno = varintBuffered(q) ? takeVarint(ctx, raw, "pgno") : yield* readVarint(ctx, raw, "pgno");
    if (raw.length > BATCH - ENTRY_MAX) hash();
    if (pgno === 0) break;
    const older = prev;
    prev = entry;
    entry = older;
    entry.pgno = pgno;
    entry.offset = varintBuffered(q) ? takeVarint(ctx, raw, "offset") : yield* readVarint(ctx, raw, "offset");
    entry.size = varintBuffered(q) ? takeVarint(ctx, raw, "size") : yield* readVarint(ctx, raw, "size");
    if (ctx.strict) checkEntry(entry, first ? undefined : prev, start, fail);
    first = false;
    if (ctx.options.emitIndex) yield { kind: "index-entry", entry: { ...entry } };
  }
  hash();
  const length = q.position - start;
  const sizeAt = q.position;
  const sizeField = viewOf(yield* ctx.read(8, "page index size")).getBigUint64(0);
  if (ctx.strict) {
    if (sizeField !== BigInt(length)) {
      throw ctx.error("invalid-page-index", `page index size field says ${sizeField} bytes, the index has ${length}`, sizeAt);
    }
    if (length !== expected.length + 1 || actual.digest() !== expected.digest()) {
      throw ctx.error("invalid-page-index", "page index entries do not match the page frames", start);
    }
  }
  return length;
}

/** The next varint is in the queue whole (or as many bytes as a varint may have). */
function varintBuffered(q: ByteQueue): boolean {
  if (q.available >= MAX_VARINT_BYTES) return true;
  for (let i = 0; i < q.available; i++) if ((q.byteAt(i) & 0x80) === 0) return true;
  return false;
}

/** One varint, waiting for its bytes; the input ending first is `truncated`. */
function* readVarint(ctx: Ctx, into: ByteBuilder, what: string): Parse<number> {
  while (!varintBuffered(ctx.q)) yield* ctx.fill(ctx.q.available + 1, `page index ${what}`);
  return takeVarint(ctx, into, what);
}

/** One LEB128 varint taken from the queue, which holds it whole; its bytes appended to `into`. */
function takeVarint(ctx: Ctx, into: ByteBuilder, what: string): number {
  const { q } = ctx;
  const at = q.position;
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    const b = q.takeByte();
    into.push(b);
    value += (b & 0x7f) * scale;
    if (value > Number.MAX_SAFE_INTEGER) {
      throw ctx.error("unsupported", `page index ${what} is beyond Number.MAX_SAFE_INTEGER`, at);
    }
    if ((b & 0x80) === 0) return value;
    scale *= 0x80;
  }
  throw ctx.error("invalid-page-index", `page index ${what}: varint longer than 10 bytes`, at);
}
