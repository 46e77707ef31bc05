/** RecentFilesClient: a ReplicaClient wrapper that keeps the small LTX files it just wrote, so compaction reads them from memory instead of the replica. */
import { closeSync, mkdirSync, openSync, renameSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { concatBytes } from "@sqlrep/ltx";
import { ltxKey, type LtxFileInfo, type LtxFileRef, type LtxFilesOptions, type ReplicaClient, type WriteLtxOptions } from "./replica-client.js";
import type { ObjectStore, SignalOption } from "./object-store.js";
import { SNAPSHOT_LEVEL, type ReplicaLayout } from "./layout.js";

/** Where copies are kept, and how many. */
export interface RecentFilesOptions {
  /**
   * A directory of this client's own for the copies (emptied at construction): they cost
   * no memory there. Without one they are kept in memory.
   */
  directory?: string | undefined;
  /** Bytes of copies kept at most, the oldest written dropped first (default 4 MiB in memory, 64 MiB in a directory). */
  maxBytes?: number | undefined;
  /** Files larger than this are not kept (default 1 MiB in memory, 16 MiB in a directory). */
  maxFileBytes?: number | undefined;
}

interface Kept {
  info: LtxFileInfo;
  /** The contents (in memory), or undefined when they are in `path`. */
  bytes: Uint8Array | undefined;
  path: string | undefined;
  size: number;
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
  private readonly directory: string | undefined;
  private readonly maxBytes: number;
  private readonly maxFileBytes: number;
  private nextCopy = 0;
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
    this.directory = options.directory;
    const onDisk = this.directory !== undefined;
    this.maxBytes = options.maxBytes ?? (onDisk ? 64 : 4) * 1024 * 1024;
    this.maxFileBytes = Math.min(options.maxFileBytes ?? (onDisk ? 16 : 1) * 1024 * 1024, this.maxBytes);
    // Copies left by an earlier process describe what the replica held then, not now.
    if (this.directory !== undefined) {
      rmSync(this.directory, { recursive: true, force: true });
      mkdirSync(this.directory, { recursive: true });
    }
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
    const bytes = await this.read(file, options.offset ?? 0, options.length);
    if (bytes === undefined) return this.inner.openLtxFile(file, options);
    return (async function* () {
      if (bytes.length > 0) yield bytes;
    })();
  }

  async readLtxRange(file: LtxFileRef, offset: number, length: number, options?: SignalOption): Promise<Uint8Array> {
    return (await this.read(file, offset, length)) ?? this.inner.readLtxRange(file, offset, length, options);
  }

  statLtxFile(file: LtxFileRef, options?: SignalOption): Promise<LtxFileInfo> {
    return this.inner.statLtxFile(file, options);
  }

  async writeLtxFile(file: LtxFileRef, body: Uint8Array | AsyncIterable<Uint8Array>, options?: WriteLtxOptions): Promise<LtxFileInfo> {
    const key = ltxKey(this.layout, file);
    // Whatever was kept under this key is stale from now on, whether the write succeeds or not.
    this.drop(key);
    // Compaction never reads snapshots, and a large one would only be copied up to the limit and thrown away.
    if (file.level === SNAPSHOT_LEVEL) return this.inner.writeLtxFile(file, body, options);
    const copy = this.directory === undefined ? new MemoryCopy(this.maxFileBytes) : new FileCopy(join(this.directory, `${++this.nextCopy}.ltx.tmp`), this.maxFileBytes);
    try {
      const info = await this.inner.writeLtxFile(file, body instanceof Uint8Array ? copy.whole(body) : copy.through(body), options);
      const kept = copy.finish(info.size);
      if (kept !== undefined) this.keep(key, { ...kept, info });
      return info;
    } finally {
      copy.discard();
    }
  }

  async deleteLtxFiles(files: readonly LtxFileRef[], options?: SignalOption): Promise<void> {
    for (const file of files) this.drop(ltxKey(this.layout, file));
    await this.inner.deleteLtxFiles(files, options);
  }

  async deleteAll(options?: SignalOption): Promise<void> {
    for (const key of [...this.kept.keys()]) this.drop(key);
    await this.inner.deleteAll(options);
  }

  /** The kept bytes `[offset, offset + length)` of `file`, or undefined when not kept or out of its range (the replica answers that). */
  private async read(file: LtxFileRef, offset: number, length: number | undefined): Promise<Uint8Array | undefined> {
    const copy = this.kept.get(ltxKey(this.layout, file));
    if (copy === undefined) return undefined;
    const end = length === undefined ? copy.size : offset + length;
    if (offset < 0 || end > copy.size || end < offset) return undefined;
    if (copy.bytes !== undefined) {
      this.hits++;
      return copy.bytes.slice(offset, end);
    }
    try {
      const handle = await open(copy.path!, "r");
      try {
        const out = new Uint8Array(end - offset);
        const { bytesRead } = await handle.read(out, 0, out.length, offset);
        if (bytesRead !== out.length) return undefined;
        this.hits++;
        return out;
      } finally {
        await handle.close();
      }
    } catch {
      // A copy that cannot be read (removed, disk trouble): the replica has the file.
      return undefined;
    }
  }

  private keep(key: string, copy: Kept): void {
    this.kept.set(key, copy);
    this.keptBytes += copy.size;
    for (const [oldest] of this.kept) {
      if (this.keptBytes <= this.maxBytes) break;
      this.drop(oldest);
    }
  }

  private drop(key: string): void {
    const copy = this.kept.get(key);
    if (copy === undefined) return;
    this.kept.delete(key);
    this.keptBytes -= copy.size;
    if (copy.path !== undefined) removeQuietly(copy.path);
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}

/** Where the bytes of one write are copied while the writer reads them. */
interface CopySink {
  /** The body unchanged, copied if it fits. */
  whole(body: Uint8Array): Uint8Array;
  /** The body passed through while copied; each reading starts the copy over (a writer that retries). */
  through(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array>;
  /** The copy, if complete and `size` bytes long. */
  finish(size: number): Omit<Kept, "info"> | undefined;
  /** Removes what `finish` did not keep. */
  discard(): void;
}

/** Copies in memory. Chunks are copied: a writer may hand its buffers back to be reused. */
class MemoryCopy implements CopySink {
  private chunks: Uint8Array[] | undefined = [];
  private size = 0;

  constructor(private readonly limit: number) {}

  whole(body: Uint8Array): Uint8Array {
    this.chunks = body.length <= this.limit ? [body.slice()] : undefined;
    this.size = body.length;
    return body;
  }

  through(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
    return passThrough(
      body,
      () => {
        this.chunks = [];
        this.size = 0;
      },
      (chunk) => {
        if (this.chunks === undefined) return;
        this.size += chunk.length;
        if (this.size <= this.limit) this.chunks.push(chunk.slice());
        else this.chunks = undefined;
      },
    );
  }

  finish(size: number): Omit<Kept, "info"> | undefined {
    if (this.chunks === undefined || this.size !== size) return undefined;
    const bytes = this.chunks.length === 1 ? this.chunks[0]! : concatBytes(this.chunks);
    return { bytes, path: undefined, size };
  }

  discard(): void {
    this.chunks = undefined;
  }
}

/** Copies into a file (written synchronously, chunk by chunk: local writes of what is being uploaded). */
class FileCopy implements CopySink {
  private fd: number | undefined;
  private size = 0;
  private over = false;
  private kept = false;

  constructor(
    private readonly path: string,
    private readonly limit: number,
  ) {}

  whole(body: Uint8Array): Uint8Array {
    this.restart();
    this.add(body);
    return body;
  }

  through(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
    return passThrough(
      body,
      () => this.restart(),
      (chunk) => this.add(chunk),
    );
  }

  finish(size: number): Omit<Kept, "info"> | undefined {
    this.close();
    if (this.over || this.size !== size) return undefined;
    const path = this.path.replace(/\.tmp$/, "");
    try {
      renameSync(this.path, path);
    } catch {
      return undefined;
    }
    this.kept = true;
    return { bytes: undefined, path, size };
  }

  discard(): void {
    this.close();
    if (!this.kept) removeQuietly(this.path);
  }

  private restart(): void {
    this.close();
    this.size = 0;
    this.over = false;
    try {
      this.fd = openSync(this.path, "w");
    } catch {
      this.over = true; // no copy this time; the write itself goes on
    }
  }

  private add(chunk: Uint8Array): void {
    if (this.over || this.fd === undefined) return;
    this.size += chunk.length;
    if (this.size > this.limit) {
      this.over = true;
      return this.close();
    }
    try {
      for (let at = 0; at < chunk.length; ) at += writeSync(this.fd, chunk, at, chunk.length - at);
    } catch {
      this.over = true;
      this.close();
    }
  }

  private close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}

/** `body` as an iterable that calls `start` at each reading and `see` with each chunk. */
function passThrough(body: AsyncIterable<Uint8Array>, start: () => void, see: (chunk: Uint8Array) => void): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      start();
      for await (const chunk of body) {
        see(chunk);
        yield chunk;
      }
    },
  };
}
