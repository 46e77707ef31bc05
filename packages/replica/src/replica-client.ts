/** The ReplicaClient contract (list, read, write, delete LTX files per level) and ObjectReplicaClient, which maps it onto any ObjectStore. */
import { LtxError, decodeHeader, formatFilename, HEADER_SIZE, parseFilename } from "@sqlrep/ltx";
import { isReplicaError, ReplicaError, throwIfAborted } from "./errors.js";
import { SNAPSHOT_LEVEL, type ReplicaLayout } from "./layout.js";
import { peekStream } from "./peek-stream.js";
import { isObjectInfo, readObject, type ObjectStore, type SignalOption } from "./object-store.js";

/** Which LTX file: its level and TXID range (the name is derived from these). */
export interface LtxFileRef {
  level: number;
  minTXID: number;
  maxTXID: number;
}

/** An LTX file in a replica. */
export interface LtxFileInfo extends LtxFileRef {
  size: number;
  /**
   * The file's timestamp: the LTX header timestamp where the backend keeps it
   * (file mtime, S3 metadata when listed with `useMetadata`), else when it was written.
   */
  createdAt: Date;
}

export interface LtxFilesOptions extends SignalOption {
  /** Only files whose MinTXID is at least this. */
  seek?: number | undefined;
  /**
   * Read each file's stored timestamp (an extra request per file on S3). Needed for
   * exact point-in-time restores; listings alone carry the upload time.
   */
  useMetadata?: boolean | undefined;
}

export interface WriteLtxOptions extends SignalOption {
  /** The LTX header timestamp; read from the body's first 100 bytes when absent. */
  timestamp?: Date | undefined;
  /** Create only: fail with ReplicaError("exists") when the file exists (see `WriteOptions.ifNoneMatch`). */
  ifNotExists?: boolean | undefined;
}

/**
 * What every replica backend offers (Litestream's `ReplicaClient`): list the LTX files
 * of a level, read one (or a byte range of it), write one with its timestamp, delete.
 * `describeReplicaClient` in `@sqlrep/replica/conformance` is the suite each client runs.
 */
export interface ReplicaClient {
  /** "file", "s3", … */
  readonly type: string;
  /** Where the replica lives, for messages. */
  readonly location: string;
  /** The object store underneath (legacy layouts and tools read it directly). */
  readonly store: ObjectStore;
  readonly layout: ReplicaLayout;

  /** The LTX files of a level in ascending MinTXID order. */
  ltxFiles(level: number, options?: LtxFilesOptions): AsyncIterable<LtxFileInfo>;
  /** Streams a file, or `length` bytes of it from `offset`. Throws ReplicaError("not-found"). */
  openLtxFile(file: LtxFileRef, options?: { offset?: number; length?: number; signal?: AbortSignal }): Promise<AsyncIterable<Uint8Array>>;
  /** Reads a byte range of a file into memory (page index tails, single pages). */
  readLtxRange(file: LtxFileRef, offset: number, length: number, options?: SignalOption): Promise<Uint8Array>;
  /** Size and timestamp of one file. */
  statLtxFile(file: LtxFileRef, options?: SignalOption): Promise<LtxFileInfo>;
  /** Writes a file atomically; its timestamp is kept with it. */
  writeLtxFile(file: LtxFileRef, body: Uint8Array | AsyncIterable<Uint8Array>, options?: WriteLtxOptions): Promise<LtxFileInfo>;
  deleteLtxFiles(files: readonly LtxFileRef[], options?: SignalOption): Promise<void>;
  /** Deletes every LTX file of every level. */
  deleteAll(options?: SignalOption): Promise<void>;
}

/** The object key of an LTX file under a layout. */
export function ltxKey(layout: ReplicaLayout, file: LtxFileRef): string {
  return layout.levelPrefix(file.level) + formatFilename(file.minTXID, file.maxTXID);
}

/** HEAD requests in flight while listing with `useMetadata` (Litestream runs 50). */
const HEAD_CONCURRENCY = 32;

/** A `ReplicaClient` for any `ObjectStore` under a Litestream layout. */
export class ObjectReplicaClient implements ReplicaClient {
  readonly type: string;
  readonly location: string;

  constructor(
    readonly store: ObjectStore,
    readonly layout: ReplicaLayout,
  ) {
    this.type = store.kind;
    this.location = store.location;
  }

  async *ltxFiles(level: number, options: LtxFilesOptions = {}): AsyncIterable<LtxFileInfo> {
    assertLevel(level);
    const prefix = this.layout.levelPrefix(level);
    const seek = options.seek ?? 0;
    const { signal } = options;
    // Keys sort by MinTXID (fixed-width hex), so seeking is a StartAfter just below it.
    const startAfter = seek > 0 ? prefix + formatFilename(seek, seek).slice(0, 16) : undefined;
    // With metadata, up to HEAD_CONCURRENCY HEADs run ahead of what is yielded, in order.
    const pending: Promise<LtxFileInfo | undefined>[] = [];
    for await (const entry of this.store.list(prefix, { startAfter, signal })) {
      if (!isObjectInfo(entry)) continue;
      const name = entry.key.slice(prefix.length);
      if (name.includes("/")) continue;
      let range: { minTXID: number; maxTXID: number };
      try {
        range = parseFilename(name);
      } catch {
        continue; // not an LTX file (temp files, foreign objects): Litestream skips them too
      }
      if (range.minTXID < seek) continue;
      const file: LtxFileInfo = { level, ...range, size: entry.size, createdAt: entry.lastModified };
      if (!options.useMetadata) {
        yield file;
        continue;
      }
      // A listing that carries the stored timestamp (Azure, GCS, WebDAV) needs no HEAD;
      // it still queues behind pending HEADs so the order holds.
      const headed = entry.timestamp !== undefined ? Promise.resolve({ ...file, createdAt: entry.timestamp }) : this.withStoredTimestamp(entry.key, file, signal);
      headed.catch(() => undefined); // awaited below, unless the caller stops early
      pending.push(headed);
      if (pending.length >= HEAD_CONCURRENCY) {
        const next = await pending.shift()!;
        if (next !== undefined) yield next;
      }
    }
    while (pending.length > 0) {
      const next = await pending.shift()!;
      if (next !== undefined) yield next;
    }
  }

  /** The file with the timestamp stored with it; undefined if it was deleted since the listing. */
  private async withStoredTimestamp(key: string, file: LtxFileInfo, signal: AbortSignal | undefined): Promise<LtxFileInfo | undefined> {
    try {
      const head = await this.store.head(key, { signal });
      return { ...file, createdAt: head.timestamp ?? head.lastModified };
    } catch (err) {
      // Deleted between the listing and the HEAD (retention running): it is not there any more.
      if (isReplicaError(err, "not-found")) return undefined;
      throw err;
    }
  }

  openLtxFile(file: LtxFileRef, options: { offset?: number; length?: number; signal?: AbortSignal } = {}): Promise<AsyncIterable<Uint8Array>> {
    return this.store.read(ltxKey(this.layout, file), options);
  }

  readLtxRange(file: LtxFileRef, offset: number, length: number, options: SignalOption = {}): Promise<Uint8Array> {
    return readObject(this.store, ltxKey(this.layout, file), { offset, length, signal: options.signal });
  }

  async statLtxFile(file: LtxFileRef, options: SignalOption = {}): Promise<LtxFileInfo> {
    const head = await this.store.head(ltxKey(this.layout, file), options);
    return { ...file, size: head.size, createdAt: head.timestamp ?? head.lastModified };
  }

  async writeLtxFile(file: LtxFileRef, body: Uint8Array | AsyncIterable<Uint8Array>, options: WriteLtxOptions = {}): Promise<LtxFileInfo> {
    assertLevel(file.level);
    throwIfAborted(options.signal);
    const key = ltxKey(this.layout, file);
    let timestamp = options.timestamp;
    if (timestamp === undefined) {
      const [head, rest] = await peekHeader(body, key);
      timestamp = head;
      body = rest;
    }
    const info = await this.store.write(key, body, { timestamp, signal: options.signal, ifNoneMatch: options.ifNotExists });
    return { ...file, size: info.size, createdAt: timestamp };
  }

  async deleteLtxFiles(files: readonly LtxFileRef[], options: SignalOption = {}): Promise<void> {
    if (files.length === 0) return;
    await this.store.delete(
      files.map((f) => ltxKey(this.layout, f)),
      options,
    );
  }

  async deleteAll(options: SignalOption = {}): Promise<void> {
    for (let level = 0; level <= SNAPSHOT_LEVEL; level++) {
      const keys: string[] = [];
      for await (const entry of this.store.list(this.layout.levelPrefix(level), options)) {
        if (isObjectInfo(entry)) keys.push(entry.key);
      }
      await this.store.delete(keys, options);
    }
  }
}

function assertLevel(level: number): void {
  if (!Number.isInteger(level) || level < 0 || level > SNAPSHOT_LEVEL) {
    throw new ReplicaError("invalid-config", `invalid level ${level}: levels are 0…${SNAPSHOT_LEVEL}`);
  }
}

/**
 * Reads the LTX header timestamp from the start of a body without losing bytes:
 * returns the timestamp and a body that still yields everything.
 */
async function peekHeader(body: Uint8Array | AsyncIterable<Uint8Array>, key: string): Promise<[Date, Uint8Array | AsyncIterable<Uint8Array>]> {
  if (body instanceof Uint8Array) return [headerTimestamp(body, key), body];
  const { head, source } = await peekStream(body[Symbol.asyncIterator](), HEADER_SIZE);
  return [headerTimestamp(head, key), source];
}

function headerTimestamp(bytes: Uint8Array, key: string): Date {
  try {
    return new Date(decodeHeader(bytes.subarray(0, HEADER_SIZE)).timestamp);
  } catch (err) {
    const reason = err instanceof LtxError ? err.message : String(err);
    throw new ReplicaError("corrupt", `cannot write ${key}: body is not an LTX file: ${reason}`, { key, cause: err });
  }
}
