/** The v1 body of an LTX file: `pgno | page` frames, raw or inside one LZ4 frame decompressed on the fly, then a zero pgno. */
import { viewOf } from "./binary.js";
import { ByteQueue } from "./byte-queue.js";
import { HEADER_SIZE } from "./format.js";
import type { LtxHeader } from "./header.js";
import { Lz4FrameDecoder } from "./lz4/frame.js";
import type { PageChecks } from "./page-checks.js";
import { NEED, placeOrRethrow, type Ctx, type Parse } from "./parse-context.js";

/** How much compressed input is handed to an LZ4 frame decoder at a time (bounds its output burst). */
const LZ4_FEED = 16 * 1024;

/** v1: `pgno | page` frames, raw or inside one LZ4 frame, then a zero pgno. */
export function* parseV1Body(ctx: Ctx, header: LtxHeader, format: "v1" | "v1-lz4", pages: PageChecks): Parse<void> {
  const { pageSize } = header;
  const body = format === "v1" ? new RawBody(ctx) : new Lz4Body(ctx);
  for (;;) {
    const at = body.q.position;
    if (body.q.available < 4) yield* body.fill(4, "page number");
    const head = body.q.take(4);
    ctx.crc.update(head);
    const pgno = viewOf(head).getUint32(0);
    if (pgno === 0) break;
    pages.pgno(pgno, body.offset(at), body.context(at));
    if (body.q.available < pageSize) yield* body.fill(pageSize, `page ${pgno}`);
    let data = body.q.take(pageSize);
    // Copies so a page the caller keeps pins neither a whole LZ4 block nor a source chunk.
    if (format === "v1-lz4" || ctx.options.copyPages) data = data.slice();
    ctx.crc.update(data);
    pages.page(pgno, data);
    // In v1-lz4 a frame has no file offset: report where it sits in the uncompressed layout.
    yield { kind: "page", page: { pgno, data }, offset: format === "v1" ? at : HEADER_SIZE + at, size: 4 + pageSize };
  }
  yield* body.end();
}

/** The logical byte stream of a v1 body, positions included. */
interface Body {
  readonly q: ByteQueue;
  fill(n: number, what: string): Parse<void>;
  /** The absolute file offset to report for a body position. */
  offset(bodyPosition: number): number;
  /** Appended to messages about the body (where in it, when that is not a file offset). */
  context(bodyPosition: number): string;
  /** After the end-of-pages marker. */
  end(): Parse<void>;
}

class RawBody implements Body {
  constructor(private readonly ctx: Ctx) {}
  get q(): ByteQueue {
    return this.ctx.q;
  }
  fill(n: number, what: string): Parse<void> {
    return this.ctx.fill(n, what);
  }
  offset(bodyPosition: number): number {
    return bodyPosition;
  }
  context(): string {
    return "";
  }
  *end(): Parse<void> {}
}

/**
 * A v1-lz4 body: decompressed on the fly from the raw input, one bounded slice at
 * a time. Errors inside it name the compressed offset reached and the position in
 * the decompressed body.
 */
class Lz4Body implements Body {
  readonly q = new ByteQueue(0);
  private readonly decoder: Lz4FrameDecoder;

  constructor(private readonly ctx: Ctx) {
    // No content limit: memory is bounded per block, and the page checks say more than "too big".
    this.decoder = new Lz4FrameDecoder({ baseOffset: ctx.q.position, file: ctx.file });
  }

  *fill(n: number, what: string): Parse<void> {
    while (this.q.available < n) {
      if (this.decoder.done) {
        throw this.ctx.error("truncated", `LZ4 body ends before ${what} (decompressed offset ${this.q.position + this.q.available})`, this.ctx.q.position);
      }
      yield* this.feed();
    }
  }

  offset(): number {
    return this.ctx.q.position;
  }

  context(bodyPosition: number): string {
    return ` (LZ4 body, decompressed offset ${bodyPosition})`;
  }

  *end(): Parse<void> {
    while (!this.decoder.done) {
      if (this.q.available > 0) break;
      yield* this.feed();
    }
    if (this.q.available > 0) {
      throw this.ctx.error("trailing-data", "expected lz4 end frame: data follows the end-of-pages marker in the LZ4 body", this.ctx.q.position);
    }
  }

  /** Hands the frame decoder one slice of raw input and queues what it produces. */
  private *feed(): Parse<void> {
    const raw = this.ctx.q;
    if (raw.available === 0) {
      if (raw.ended) {
        try {
          this.decoder.finish();
        } catch (err) {
          placeOrRethrow(err, this.ctx);
        }
        throw this.ctx.error("truncated", "unexpected end of file inside the LZ4 body", raw.position);
      }
      yield NEED;
      return;
    }
    let out: Uint8Array[];
    try {
      out = this.decoder.push(raw.takeSome(LZ4_FEED));
    } catch (err) {
      placeOrRethrow(err, this.ctx);
    }
    for (const chunk of out) this.q.push(chunk);
    if (this.decoder.done) raw.unshift(this.decoder.takeRemainder());
  }
}
