/** mergeLtx: the pages of several LTX files in TXID order as one stream, newest version of each page winning, after checking the inputs chain. */
import { DatabaseChecksum, pageChecksum } from "./checksum.js";
import { LtxReader, type LtxSource } from "./decoder.js";
import { LtxError } from "./errors.js";
import { formatTxid } from "./filename.js";
import { HEADER_FLAG_NO_CHECKSUM, type LtxFormat } from "./format.js";
import { isSnapshot, tracksChecksums, type LtxHeader } from "./header.js";
import type { LtxPage } from "./parse-context.js";

/** An input of a merge: a reader (with its own name and options) or just its bytes. */
export type MergeInput = LtxReader | LtxSource;

/** Options of `mergeLtx`. */
export interface MergeOptions {
  /**
   * Accept inputs whose TXIDs do not follow each other. By default each input must
   * start at most one past the previous one's MaxTXID and end after it (spec §8).
   */
  allowNonContiguous?: boolean | undefined;
  /**
   * Track database checksums in the output. Default: when every input does. An
   * incremental output needs them in its first and last inputs.
   */
  checksums?: boolean | undefined;
  /** Decoder strictness for inputs given as bytes (default true). */
  strict?: boolean | undefined;
  /** Layout of inputs given as bytes (detected when absent). */
  format?: LtxFormat | undefined;
  /** Names of inputs given as bytes, for errors (default `input <i>`). */
  names?: readonly string[] | undefined;
  signal?: AbortSignal | undefined;
}

/** An input being merged: its reader and the page it offers next. */
interface Cursor {
  index: number;
  reader: LtxReader;
  page: LtxPage | undefined;
}

/**
 * A k-way merge of LTX files as a stream of pages: the merged header, then pages in
 * ascending order where the newest input's copy of a page wins and pages beyond the
 * final commit are dropped. Memory: one page per input (plus a chunk each).
 * Iterate it once; afterwards every input has been fully verified and
 * `postApplyChecksum` is known. `compactLtx` feeds it to an encoder; a restore can
 * write its pages straight into a database.
 */
export class LtxMerge implements AsyncIterable<LtxPage> {
  /** The output header (flags: NoChecksum when the output does not track checksums). */
  readonly header: LtxHeader;
  /** The inputs' headers, in input order. */
  readonly inputHeaders: readonly LtxHeader[];
  /** Whether the output tracks database checksums. */
  readonly checksums: boolean;
  private readonly readers: LtxReader[];
  private post: bigint | undefined;
  private started = false;

  private constructor(readers: LtxReader[], headers: LtxHeader[], checksums: boolean) {
    this.readers = readers;
    this.inputHeaders = headers;
    this.checksums = checksums;
    const first = headers[0]!;
    const last = headers[headers.length - 1]!;
    this.header = {
      flags: checksums ? 0 : HEADER_FLAG_NO_CHECKSUM,
      pageSize: first.pageSize,
      commit: last.commit,
      minTXID: first.minTXID,
      maxTXID: last.maxTXID,
      timestamp: last.timestamp,
      preApplyChecksum: checksums && !isSnapshot(first) ? first.preApplyChecksum : 0n,
      walOffset: 0,
      walSize: 0,
      walSalt1: 0,
      walSalt2: 0,
      nodeID: 0n,
    };
  }

  /** Opens every input and reads its header; checks page sizes, contiguity and checksum needs. */
  static async open(inputs: readonly MergeInput[], options: MergeOptions = {}): Promise<LtxMerge> {
    if (inputs.length === 0) throw new LtxError("invalid-argument", "at least one input required");
    const readers = inputs.map((input, i) =>
      input instanceof LtxReader
        ? input
        : new LtxReader(input, { file: options.names?.[i] ?? `input ${i}`, strict: options.strict, format: options.format, signal: options.signal }),
    );
    try {
      const headers: LtxHeader[] = [];
      for (const reader of readers) headers.push(await reader.header());
      checkMergeInputs(
        headers,
        readers.map((r) => r.file),
        options,
      );
      const checksums = options.checksums ?? headers.every(tracksChecksums);
      if (checksums && !isSnapshot(headers[0]!)) {
        const missing = [headers[0]!, headers[headers.length - 1]!].findIndex((h) => !tracksChecksums(h));
        if (missing !== -1) {
          throw new LtxError("invalid-argument", `cannot track checksums in an incremental output: the ${missing === 0 ? "first" : "last"} input has none`);
        }
      }
      return new LtxMerge(readers, headers, checksums);
    } catch (err) {
      await Promise.all(readers.map((r) => r.cancel()));
      throw err;
    }
  }

  /**
   * The output's post-apply checksum: the last input's (spec §8), or computed from the
   * merged pages for a snapshot whose last input does not track checksums; 0 without
   * checksums. Available once iteration has finished.
   */
  get postApplyChecksum(): bigint {
    if (this.post === undefined) throw new LtxError("invalid-argument", "postApplyChecksum is known only after the merge has been iterated");
    return this.post;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<LtxPage> {
    if (this.started) throw new LtxError("invalid-argument", "a merge can be iterated once");
    this.started = true;
    let completed = false;
    try {
      const last = this.inputHeaders[this.inputHeaders.length - 1]!;
      const sum = this.checksums && isSnapshot(this.header) && !tracksChecksums(last) ? new DatabaseChecksum() : undefined;
      const heap = new CursorHeap();
      for (let index = 0; index < this.readers.length; index++) {
        const cursor: Cursor = { index, reader: this.readers[index]!, page: undefined };
        await advance(cursor, heap);
      }
      for (;;) {
        const top = heap.pop();
        if (top === undefined) break;
        const page = top.page!;
        await advance(top, heap);
        // Older inputs' copies of the same page lose.
        while (heap.peek()?.page?.pgno === page.pgno) await advance(heap.pop()!, heap);
        if (page.pgno > this.header.commit) continue;
        sum?.add(pageChecksum(page.pgno, page.data));
        yield page;
      }
      const summaries = [];
      for (const reader of this.readers) summaries.push(await reader.finish());
      const lastPost = summaries[summaries.length - 1]!.trailer.postApplyChecksum;
      this.post = !this.checksums ? 0n : (sum?.value ?? lastPost);
      completed = true;
    } finally {
      if (!completed) await Promise.all(this.readers.map((r) => r.cancel()));
    }
  }
}

/** Opens a merge of `inputs`, given in TXID order; see `LtxMerge`. */
export function mergeLtx(inputs: readonly MergeInput[], options: MergeOptions = {}): Promise<LtxMerge> {
  return LtxMerge.open(inputs, options);
}

async function advance(cursor: Cursor, heap: CursorHeap): Promise<void> {
  cursor.page = await cursor.reader.nextPage();
  if (cursor.page !== undefined) heap.push(cursor);
}

/**
 * What a merge requires of its inputs' headers, given in TXID order: one page size, and
 * (unless `allowNonContiguous`) each starting at most one past the previous one's MaxTXID
 * and ending after it. Throws `page-size-mismatch` or `non-contiguous` naming the file.
 * For callers that read some inputs another way (a parallel restore's snapshot).
 */
export function checkMergeInputs(headers: readonly LtxHeader[], files: readonly (string | undefined)[], options: Pick<MergeOptions, "allowNonContiguous"> = {}): void {
  const first = headers[0]!;
  for (let i = 1; i < headers.length; i++) {
    const prev = headers[i - 1]!;
    const cur = headers[i]!;
    if (cur.pageSize !== first.pageSize) {
      throw new LtxError("page-size-mismatch", `input files have mismatched page sizes: ${first.pageSize} != ${cur.pageSize}`, { file: files[i] });
    }
    if (!options.allowNonContiguous && !(cur.minTXID <= prev.maxTXID + 1 && cur.maxTXID > prev.maxTXID)) {
      throw new LtxError(
        "non-contiguous",
        `non-contiguous transaction ids in input files: (${formatTxid(prev.minTXID)},${formatTxid(prev.maxTXID)}) -> (${formatTxid(cur.minTXID)},${formatTxid(cur.maxTXID)})`,
        { file: files[i] },
      );
    }
  }
}

/** A binary min-heap of cursors by (pgno ascending, input index descending): the newest copy of the lowest page first. */
class CursorHeap {
  private readonly items: Cursor[] = [];

  push(c: Cursor): void {
    const items = this.items;
    items.push(c);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  peek(): Cursor | undefined {
    return this.items[0];
  }

  pop(): Cursor | undefined {
    const items = this.items;
    const top = items[0];
    const end = items.pop();
    if (items.length > 0 && end !== undefined) {
      items[0] = end;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && before(items[l]!, items[m]!)) m = l;
        if (r < items.length && before(items[r]!, items[m]!)) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m]!, items[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Cursor, b: Cursor): boolean {
  const pa = a.page!.pgno;
  const pb = b.page!.pgno;
  return pa < pb || (pa === pb && a.index > b.index);
}
