/** The LTX decoders over the parser: decodeLtx for a file in memory, LtxReader for a stream of chunks; both verify every checksum. */
import { ByteQueue } from "./byte-queue.js";
import { LtxError } from "./errors.js";
import type { LtxFormat } from "./format.js";
import type { LtxHeader } from "./header.js";
import type { PageIndexEntry } from "./page-index.js";
import { wholeBuffer, type DecodeOptions, type LtxDecodeSummary, type LtxPage, type NEED, type ParseEvent } from "./parse-context.js";
import { parseLtx } from "./parser.js";

/** A whole LTX file, decoded and verified. */
export interface DecodedLtx extends LtxDecodeSummary {
  /** Pages in file order. Raw v1 pages are views into the input buffer. */
  pages: LtxPage[];
  /** The page index as stored (v2/v3); undefined for v1. */
  pageIndex: PageIndexEntry[] | undefined;
}

/**
 * Decodes and verifies a whole LTX file held in memory: every checksum it carries
 * and, unless `strict: false`, its structure. Throws `LtxError`.
 */
export function decodeLtx(bytes: Uint8Array, options: DecodeOptions = {}): DecodedLtx {
  const parser = parseLtx(wholeBuffer(bytes), { ...options, copyPages: false, emitIndex: true });
  const pages: LtxPage[] = [];
  const index: PageIndexEntry[] = [];
  for (;;) {
    const step = parser.next();
    if (step.done) {
      const summary = step.value;
      return { ...summary, pages, pageIndex: summary.pageIndexSize === undefined ? undefined : index };
    }
    const event = step.value;
    if (event.kind === "page") pages.push(event.page);
    else if (event.kind === "index-entry") index.push(event.entry);
  }
}

/** Bytes of an LTX file: one buffer, or chunks (a Node stream, a web ReadableStream, a generator). */
export type LtxSource = Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** Options of `LtxReader`. */
export interface LtxReaderOptions extends DecodeOptions {
  signal?: AbortSignal | undefined;
}

/** A page frame as the streaming reader saw it. */
export interface LtxFramedPage extends LtxPage {
  /** Absolute offset of the frame (v1-lz4: its offset in the uncompressed v1 layout). */
  offset: number;
  /** Bytes of the frame (v1-lz4: uncompressed). */
  size: number;
}

/**
 * Runs a parse generator over a source of chunks: pulls a chunk whenever the parser asks
 * for one, stops at each event it yields, and remembers the first failure (every later
 * call rethrows it; the source is released). Shared by `LtxReader` and `LtxRunReader`.
 */
export class ParserDriver<S> {
  readonly queue = new ByteQueue();
  private readonly chunks: AsyncIterator<Uint8Array> | Iterator<Uint8Array>;
  private readonly parser: Generator<ParseEvent, S, void>;
  private failed: unknown;

  constructor(
    source: LtxSource,
    parse: (queue: ByteQueue) => Generator<ParseEvent, S, void>,
    private readonly signal: AbortSignal | undefined,
    private readonly file: string | undefined,
  ) {
    this.chunks = iterate(source);
    this.parser = parse(this.queue);
  }

  /** The next event other than NEED, or the summary once the parser is done. */
  async next(): Promise<IteratorResult<Exclude<ParseEvent, typeof NEED>, S>> {
    if (this.failed !== undefined) throw this.failed;
    try {
      for (;;) {
        const next = this.parser.next();
        if (next.done) return next;
        if (next.value.kind !== "need") return { done: false, value: next.value };
        await this.pull();
      }
    } catch (err) {
      this.failed = err;
      await this.chunks.return?.();
      throw err;
    }
  }

  /** Stops reading and releases the source (its `return()` is called). */
  async cancel(): Promise<void> {
    this.failed ??= new LtxError("aborted", "reader cancelled", { file: this.file });
    await this.chunks.return?.();
  }

  private async pull(): Promise<void> {
    if (this.signal?.aborted) {
      throw new LtxError("aborted", "read aborted", { file: this.file, offset: this.queue.position, cause: this.signal.reason });
    }
    const next = await this.chunks.next();
    if (next.done) {
      this.queue.end();
      return;
    }
    const chunk: unknown = next.value;
    if (!(chunk instanceof Uint8Array)) {
      throw new LtxError("invalid-argument", `source yielded ${typeof chunk}, expected Uint8Array chunks`, { file: this.file });
    }
    this.queue.push(chunk);
  }
}

/**
 * Streaming decoder: reads a file chunk by chunk, holding at most a page plus a
 * chunk (plus one LZ4 block for v1-lz4). Read the header, then the pages (by
 * `nextPage` or `for await`), then `finish()` verifies the index and trailer; a
 * fault anywhere is an `LtxError` naming the file and the offset.
 */
export class LtxReader implements AsyncIterable<LtxFramedPage> {
  private readonly driver: ParserDriver<LtxDecodeSummary>;
  /** The file name given in the options (named in errors). */
  readonly file: string | undefined;
  /** Whether the structural rules are enforced (`strict` option, default true). */
  readonly strict: boolean;
  private headerValue: LtxHeader | undefined;
  private formatValue: LtxFormat | undefined;
  private summaryValue: LtxDecodeSummary | undefined;
  private pendingPage: LtxFramedPage | undefined;

  constructor(source: LtxSource, options: LtxReaderOptions = {}) {
    this.file = options.file;
    this.strict = options.strict ?? true;
    this.driver = new ParserDriver(source, (q) => parseLtx(q, { ...options, copyPages: true, emitIndex: false }), options.signal, options.file);
  }

  /** The header (reads it if needed). */
  async header(): Promise<LtxHeader> {
    while (this.headerValue === undefined) await this.step();
    return this.headerValue;
  }

  /** The layout, detected or forced (reads the header if needed). */
  async format(): Promise<LtxFormat> {
    await this.header();
    return this.formatValue!;
  }

  /** The next page, or `undefined` after the last one. */
  async nextPage(): Promise<LtxFramedPage | undefined> {
    while (this.pendingPage === undefined && this.summaryValue === undefined) await this.step();
    const page = this.pendingPage;
    this.pendingPage = undefined;
    return page;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<LtxFramedPage> {
    for (;;) {
      const page = await this.nextPage();
      if (page === undefined) return;
      yield page;
    }
  }

  /**
   * Reads (and checks) whatever is left, pages included, then the index and the
   * trailer; resolves once the whole file is verified.
   */
  async finish(): Promise<LtxDecodeSummary> {
    while (this.summaryValue === undefined) {
      this.pendingPage = undefined;
      await this.step();
    }
    return this.summaryValue;
  }

  /** Stops reading and releases the source (its `return()` is called). */
  cancel(): Promise<void> {
    return this.driver.cancel();
  }

  /** Runs the parser to its next event. */
  private async step(): Promise<void> {
    const next = await this.driver.next();
    if (next.done) {
      this.summaryValue = next.value;
      return;
    }
    const event = next.value;
    if (event.kind === "header") {
      this.headerValue = event.header;
      this.formatValue = event.format;
    } else if (event.kind === "page") {
      this.pendingPage = { pgno: event.page.pgno, data: event.page.data, offset: event.offset, size: event.size };
    }
  }
}

function iterate(source: LtxSource): AsyncIterator<Uint8Array> | Iterator<Uint8Array> {
  if (source instanceof Uint8Array) return [source][Symbol.iterator]();
  if (Symbol.asyncIterator in source) return source[Symbol.asyncIterator]();
  return source[Symbol.iterator]();
}

/** Decodes and verifies a streamed file, handing each page to `onPage`; resolves with the summary. */
export async function decodeLtxStream(
  source: LtxSource,
  onPage: (page: LtxFramedPage, header: LtxHeader) => void | Promise<void>,
  options: LtxReaderOptions = {},
): Promise<LtxDecodeSummary> {
  const reader = new LtxReader(source, options);
  const header = await reader.header();
  for await (const page of reader) await onPage(page, header);
  return reader.finish();
}
