/**
 * The storage seam: a flat namespace of immutable objects addressed by `/`-separated
 * keys. Each backend (a directory, S3, …) implements this once; the LTX layout, the
 * legacy v0.3 layout, compaction and restore are written against it.
 */
import { concatBytes } from "@sqlrep/ltx";

export interface ObjectStore {
  /** A short name of the backend, e.g. "file" or "s3" (metric labels, messages). */
  readonly kind: string;
  /** Where the objects live, for messages: a directory path or `s3://bucket/prefix`. */
  readonly location: string;

  /**
   * Objects whose key starts with `prefix`, in ascending key order (UTF-8 byte order,
   * as S3 lists). With `delimiter`, keys that contain it after the prefix are rolled
   * up into one `{ prefix }` entry per distinct common prefix instead.
   */
  list(prefix: string, options?: ListOptions): AsyncIterable<ObjectEntry>;

  /** The whole object or a byte range of it, streamed. Throws ReplicaError("not-found"). */
  read(key: string, options?: ReadOptions): Promise<AsyncIterable<Uint8Array>>;

  /** Size, modification time and the timestamp stored with the object. */
  head(key: string, options?: SignalOption): Promise<ObjectHead>;

  /**
   * Writes an object atomically (readers see the old object, nothing, or the whole new
   * one). `timestamp` is kept with the object: as its modification time on a file
   * system, as `litestream-timestamp` metadata on S3.
   */
  write(key: string, body: Uint8Array | AsyncIterable<Uint8Array>, options?: WriteOptions): Promise<ObjectInfo>;

  /** Deletes the objects; keys that do not exist are ignored. */
  delete(keys: readonly string[], options?: SignalOption): Promise<void>;
}

export interface SignalOption {
  signal?: AbortSignal | undefined;
}

export interface ListOptions extends SignalOption {
  /** Only keys strictly greater than this (a seek position; S3's StartAfter). */
  startAfter?: string | undefined;
  delimiter?: string | undefined;
}

export interface ReadOptions extends SignalOption {
  offset?: number | undefined;
  /** Bytes to read from `offset`; the rest of the object when absent. */
  length?: number | undefined;
}

export interface WriteOptions extends SignalOption {
  timestamp?: Date | undefined;
  /**
   * Create only: when the key exists, nothing is written and the write fails with
   * ReplicaError("exists") (S3's `If-None-Match: *`; an exclusive link on a directory).
   * A backend that cannot enforce it (s3rver ignores the header) writes as usual.
   */
  ifNoneMatch?: boolean | undefined;
}

/** An object found by `list`. */
export interface ObjectInfo {
  key: string;
  size: number;
  /** When the object was last written (S3 LastModified, file mtime). */
  lastModified: Date;
  /**
   * The timestamp stored with the object, when the listing carries it at no extra cost
   * (Azure and GCS list metadata, WebDAV a property): `ltxFiles({ useMetadata })` then
   * needs no HEAD for it. Absent: unknown until `head`.
   */
  timestamp?: Date | undefined;
}

/** A `list` entry: an object, or a common prefix rolled up by a delimiter. */
export type ObjectEntry = ObjectInfo | { prefix: string };

export interface ObjectHead extends ObjectInfo {
  /** The timestamp written with the object, if the backend kept one. */
  timestamp: Date | undefined;
}

/** True for an object entry (not a rolled-up common prefix). */
export function isObjectInfo(entry: ObjectEntry): entry is ObjectInfo {
  return "key" in entry;
}

/** Reads a whole object (or range) into memory. */
export async function readObject(store: ObjectStore, key: string, options?: ReadOptions): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of await store.read(key, options)) chunks.push(chunk);
  return chunks.length === 1 ? chunks[0]! : concatBytes(chunks);
}
