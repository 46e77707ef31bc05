/** RecentFilesClient: a ReplicaClient wrapper that keeps the small LTX files it just wrote, so compaction reads them from memory instead of the replica. */
import { ltxKey, type LtxFileInfo, type LtxFileRef, type LtxFilesOptions, type ReplicaClient, type WriteLtxOptions } from "./replica-client.js";
import type { ObjectStore, SignalOption } from "./object-store.js";
import type { ReplicaLayout } from "./layout.js";

/** Bounds of the cache. */
export interface RecentFilesOptions {
  /** Bytes of file contents kept at most, the oldest written dropped first (default 4 MiB). */
  maxBytes?: number | undefined;
  /** Files larger than this are not kept (default 1 MiB). */
  maxFileBytes?: number | undefined;
}

interface Kept {
  bytes: Uint8Array;
  info: LtxFileInfo;
}

/**
 * A `ReplicaClient` that keeps a copy of every file it writes up to `maxFileBytes`
 * (within `maxBytes` in all, oldest first out) and serves reads of those files from the
 * copy. Compaction into level 1 reads the level-0 files the same process uploaded
 * seconds before: with this wrapper a replication that trickles costs PUTs only, as
 * Litestream's does (issue 12: 80 requests a minute against its 20, most of them GETs).
 *
 * What the replica holds is what was written as long as nobody else writes the same
 * keys: a copy is dropped when this client deletes the file, when a listing shows the
 * file with another size, or when a whole listing of its level does not show it. A file
 * replaced behind this process's back by one of the same size is not noticed; the
 * replica's files are this process's own while it replicates (DESIGN.md), and every
 * compaction checks the chain of its inputs' checksums.
 */
export class RecentFilesClient implements ReplicaClient {
  readonly type: string;
  readonly location: string;
  readonly store: ObjectStore;
  readonly layout: ReplicaLayout;
  private readonly maxBytes: number;
  private readonly maxFileBytes: number;
  /** In write order (a Map iterates in insertion order): the first is the oldest. */
  private readonly kept = new Map<string, Kept>();
  private keptBytes = 0;
  /** Reads served from a copy (for tests and metrics). */
  hits = 0;

  constructor(
    private readonly inner: ReplicaClient,
    options: RecentFilesOptions = {},
  ) {
    this.type = inner.type;
    this.location = inner.location;
    this.store = inner.store;
    this.layout = inner.layout;
    this.maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
    this.maxFileBytes = Math.min(options.maxFileBytes ?? 1024 * 1024, this.maxBytes);
  }

  async *ltxFiles(level: number, options?: LtxFilesOptions): AsyncIterable<LtxFileInfo> {
    const seen = new Set<string>();
    for await (const file of this.inner.ltxFiles(level, options)) {
      const key = ltxKey(this.layout, file);
      seen.add(key);
      const copy = this.kept.get(key);
      if (copy !== undefined && copy.info.size !== file.size) this.drop(key);
      yield file;
    }
    // The whole level (from `seek`) was listed: a kept file it did not show is gone.
    const seek = options?.seek ?? 0;
    for (const [key, copy] of this.kept) {
      if (copy.info.level === level && copy.info.minTXID >= seek && !seen.has(key)) this.drop(key);
    }
  }

  async openLtxFile(file: LtxFileRef, options: { offset?: number; length?: number; signal?: AbortSignal } = {}): Promise<AsyncIterable<Uint8Array>> {
    const bytes = this.slice(file, options.offset ?? 0, options.length);
    if (bytes === undefined) return this.inner.openLtxFile(file, options);
    return (async function* () {
      if (bytes.length > 0) yield bytes;
    })();
  }

  async readLtxRange(file: LtxFileRef, offset: number, length: number, options?: SignalOption): Promise<Uint8Array> {
    return this.slice(file, offset, length)?.slice() ?? this.inner.readLtxRange(file, offset, length, options);
  }

  statLtxFile(file: LtxFileRef, options?: SignalOption): Promise<LtxFileInfo> {
    return this.inner.statLtxFile(file, options);
  }

  async writeLtxFile(file: LtxFileRef, body: Uint8Array | AsyncIterable<Uint8Array>, options?: WriteLtxOptions): Promise<LtxFileInfo> {
    const key = ltxKey(this.layout, file);
    // Whatever was kept under this key is stale from now on, whether the write succeeds or not.
    this.drop(key);
    if (body instanceof Uint8Array) {
      const info = await this.inner.writeLtxFile(file, body, options);
      if (body.length === info.size && body.length <= this.maxFileBytes) this.keep(key, body.slice(), info);
      return info;
    }
    const copy = new Copy(body, this.maxFileBytes);
    const info = await this.inner.writeLtxFile(file, copy, options);
    const bytes = copy.bytes();
    if (bytes !== undefined && bytes.length === info.size) this.keep(key, bytes, info);
    return info;
  }

  async deleteLtxFiles(files: readonly LtxFileRef[], options?: SignalOption): Promise<void> {
    for (const file of files) this.drop(ltxKey(this.layout, file));
    await this.inner.deleteLtxFiles(files, options);
  }

  async deleteAll(options?: SignalOption): Promise<void> {
    this.kept.clear();
    this.keptBytes = 0;
    await this.inner.deleteAll(options);
  }

  /** The kept bytes `[offset, offset + length)` of `file`, or undefined when not kept or out of its range (the replica answers that). */
  private slice(file: LtxFileRef, offset: number, length: number | undefined): Uint8Array | undefined {
    const copy = this.kept.get(ltxKey(this.layout, file));
    if (copy === undefined) return undefined;
    const end = length === undefined ? copy.bytes.length : offset + length;
    if (offset < 0 || end > copy.bytes.length || end < offset) return undefined;
    this.hits++;
    return copy.bytes.subarray(offset, end);
  }

  private keep(key: string, bytes: Uint8Array, info: LtxFileInfo): void {
    if (bytes.length > this.maxFileBytes) return;
    this.kept.set(key, { bytes, info });
    this.keptBytes += bytes.length;
    for (const [oldest] of this.kept) {
      if (this.keptBytes <= this.maxBytes) break;
      this.drop(oldest);
    }
  }

  private drop(key: string): void {
    const copy = this.kept.get(key);
    if (copy === undefined) return;
    this.kept.delete(key);
    this.keptBytes -= copy.bytes.length;
  }
}

/**
 * A body passed through to the writer while its bytes are copied, up to `limit`. Each
 * iteration starts the copy over, so a writer that reads the body twice (a retry) leaves
 * the bytes of its last reading.
 */
class Copy implements AsyncIterable<Uint8Array> {
  private chunks: Uint8Array[] | undefined = [];
  private size = 0;

  constructor(
    private readonly body: AsyncIterable<Uint8Array>,
    private readonly limit: number,
  ) {}

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    this.chunks = [];
    this.size = 0;
    for await (const chunk of this.body) {
      if (this.chunks !== undefined) {
        this.size += chunk.length;
        // Copied: a writer may hand its chunk buffers back to be reused.
        if (this.size <= this.limit) this.chunks.push(chunk.slice());
        else this.chunks = undefined;
      }
      yield chunk;
    }
  }

  /** The bytes of the last complete reading, or undefined past the limit. */
  bytes(): Uint8Array | undefined {
    if (this.chunks === undefined) return undefined;
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }
}
