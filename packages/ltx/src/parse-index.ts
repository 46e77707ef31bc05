/** The page index of a v2/v3 file as the decoder reads it: entry by entry, proved equal to the frames read without keeping one entry per page. */
import { viewOf } from "./binary.js";
import { Crc64 } from "./crc64.js";
import { ByteBuilder, checkEntry, type PageIndexEntry } from "./page-index.js";
import type { Ctx, Parse } from "./parse-context.js";

/**
 * The page index a file must carry, accumulated from the frames actually read: the
 * CRC and length of its encoding. Comparing those with the stored index proves
 * every entry right without keeping one entry per page in memory.
 */
export class IndexExpectation {
  private readonly crc = new Crc64();
  private readonly scratch = new ByteBuilder();
  length = 0;

  frame(pgno: number, offset: number, size: number): void {
    const b = this.scratch;
    b.length = 0;
    b.uvarint(pgno);
    b.uvarint(offset);
    b.uvarint(size);
    this.crc.update(b.bytes());
    this.length += b.length;
  }

  /** The digest once the terminator is added. */
  digest(): bigint {
    return this.crc.update(new Uint8Array(1)).digest();
  }
}

/** The page index after the end marker: read entry by entry, checked against the frames. */
export function* parseIndex(ctx: Ctx, expected: IndexExpectation): Parse<number> {
  const { q } = ctx;
  const start = q.position;
  const actual = new Crc64();
  const entryBytes = new ByteBuilder();
  let prev: PageIndexEntry | undefined;
  for (;;) {
    const entryAt = q.position;
    entryBytes.length = 0;
    const pgno = yield* readVarint(ctx, entryBytes, "pgno");
    if (pgno !== 0) {
      const entry = { pgno, offset: yield* readVarint(ctx, entryBytes, "offset"), size: yield* readVarint(ctx, entryBytes, "size") };
      if (ctx.strict) {
        checkEntry(entry, prev, start, (message) => {
          throw ctx.error("invalid-page-index", message, entryAt);
        });
      }
      prev = entry;
      if (ctx.options.emitIndex) yield { kind: "index-entry", entry };
    }
    const bytes = entryBytes.bytes();
    ctx.crc.update(bytes);
    actual.update(bytes);
    if (pgno === 0) break;
  }
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

/** One LEB128 varint from the raw input, its bytes appended to `into`. */
function* readVarint(ctx: Ctx, into: ByteBuilder, what: string): Parse<number> {
  const { q } = ctx;
  const at = q.position;
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (q.available < 1) yield* ctx.fill(1, `page index ${what}`);
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
