/** FileObjectStore: an object store in a local directory with atomic writes (temp, fsync, rename), the backend of `file://` replicas. */
import { createReadStream, type Dirent } from "node:fs";
import { link, mkdir, open, readdir, rename, stat, unlink, utimes, type FileHandle } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { randomBytes } from "node:crypto";
import { ReplicaError, throwIfAborted } from "./errors.js";
import { syncDirectory } from "./restored-file.js";
import type { ListOptions, ObjectEntry, ObjectHead, ObjectInfo, ObjectStore, ReadOptions, SignalOption, WriteOptions } from "./object-store.js";
import { sortedListing } from "./sorted-listing.js";

/** Temp files carry this suffix while being written; listings never show them. */
const TEMP_SUFFIX = ".sqlrep-tmp";
/** Concurrent stats while listing: enough to overlap syscalls, few enough to bound file handles. */
const STAT_BATCH = 64;
/**
 * Bytes per read of a stream. A 192 MiB restore from a directory peaked at 92–98 MiB
 * of RSS with 1 MiB reads and 81–84 MiB with 256 KiB ones, in the same time (64 KiB:
 * 79–81 MiB, 12 % slower): each read is a new buffer, and the large ones that died
 * between collections piled up (and stayed with the allocator once freed).
 */
const READ_CHUNK = 256 * 1024;

/**
 * An object store in a local directory: keys are relative paths. Writes go to a temp
 * file that is fsynced and renamed into place (then the directory is fsynced), so a
 * crash leaves the old object or the whole new one. The timestamp is kept as the
 * file's modification time, as Litestream does.
 */
export class FileObjectStore implements ObjectStore {
  readonly kind = "file";
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  get location(): string {
    return this.root;
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectEntry> {
    throwIfAborted(options.signal);
    // The directory part of the prefix is where the walk starts; the rest filters names.
    const slash = prefix.lastIndexOf("/");
    const baseKey = slash >= 0 ? prefix.slice(0, slash + 1) : "";
    const keys: ObjectInfo[] = [];
    await this.walk(baseKey, prefix, keys);
    yield* sortedListing(keys, prefix, options);
  }

  async read(key: string, options: ReadOptions = {}): Promise<AsyncIterable<Uint8Array>> {
    throwIfAborted(options.signal);
    const path = this.pathOf(key);
    const handle = await open(path, "r").catch((err: unknown) => {
      throw this.fail(err, "read", key);
    });
    const { size } = await handle.stat();
    const start = options.offset ?? 0;
    if (start > size) {
      await handle.close();
      throw new ReplicaError("io", `cannot read ${path} from offset ${start}: the file has ${size} bytes`, { key });
    }
    const end = options.length === undefined ? size : Math.min(size, start + options.length);
    if (end === start) {
      await handle.close();
      return (async function* () {})();
    }
    // The stream owns (and closes) the handle.
    return asUint8Arrays(createReadStream("", { fd: handle, start, end: end - 1, signal: options.signal, highWaterMark: READ_CHUNK }));
  }

  async head(key: string, options: SignalOption = {}): Promise<ObjectHead> {
    throwIfAborted(options.signal);
    const st = await stat(this.pathOf(key)).catch((err: unknown) => {
      throw this.fail(err, "stat", key);
    });
    return { key, size: st.size, lastModified: st.mtime, timestamp: st.mtime };
  }

  async write(key: string, body: Uint8Array | AsyncIterable<Uint8Array>, options: WriteOptions = {}): Promise<ObjectInfo> {
    throwIfAborted(options.signal);
    const path = this.pathOf(key);
    const temp = `${path}.${randomBytes(4).toString("hex")}${TEMP_SUFFIX}`;
    try {
      const handle = await openCreatingDir(temp);
      let size = 0;
      try {
        if (body instanceof Uint8Array) {
          await handle.write(body);
          size = body.length;
        } else {
          for await (const chunk of body) {
            throwIfAborted(options.signal);
            await handle.write(chunk);
            size += chunk.length;
          }
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (options.timestamp) await utimes(temp, options.timestamp, options.timestamp);
      if (options.ifNoneMatch === true) {
        // link(2) fails when the name exists: an exclusive create that stays atomic.
        await link(temp, path).catch((err: unknown) => {
          if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new ReplicaError("exists", `${path} exists: not overwritten (create-only write)`, { key });
          throw err;
        });
        await removeTemp(temp);
      } else {
        await rename(temp, path);
      }
      await syncDirectory(dirname(path));
      const mtime = options.timestamp ?? (await stat(path)).mtime;
      return { key, size, lastModified: mtime };
    } catch (err) {
      await removeTemp(temp);
      throw this.fail(err, "write", key);
    }
  }

  async delete(keys: readonly string[], options: SignalOption = {}): Promise<void> {
    for (const key of keys) {
      throwIfAborted(options.signal);
      await unlink(this.pathOf(key)).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw this.fail(err, "delete", key);
      });
    }
  }

  /** Absolute path of a key; keys may not climb out of the root. */
  pathOf(key: string): string {
    const path = resolve(this.root, key);
    if (path !== this.root && !path.startsWith(this.root + sep)) {
      throw new ReplicaError("invalid-url", `key ${JSON.stringify(key)} points outside ${this.root}`, { key });
    }
    return path;
  }

  private async walk(dirKey: string, prefix: string, out: ObjectInfo[]): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await readdir(join(this.root, dirKey), { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // A key path through a file holds no keys; the replica's own directory being a file is a mistake to name.
      if (code === "ENOTDIR" && (await stat(this.root).catch(() => undefined))?.isFile()) {
        throw new ReplicaError("io", `replica directory ${this.root} is a file`, { key: this.root, cause: err });
      }
      if (code === "ENOENT" || code === "ENOTDIR") return;
      throw this.fail(err, "list", dirKey);
    }
    // Files of one directory are stat'ed together (a level folder holds thousands).
    const files: string[] = [];
    for (const entry of entries) {
      const key = dirKey + entry.name;
      if (entry.isDirectory()) {
        // Descend only where keys can still match the prefix.
        const dirPrefix = `${key}/`;
        if (dirPrefix.startsWith(prefix) || prefix.startsWith(dirPrefix)) await this.walk(dirPrefix, prefix, out);
      } else if (entry.isFile() && key.startsWith(prefix) && !key.endsWith(TEMP_SUFFIX)) {
        files.push(key);
      }
    }
    for (let i = 0; i < files.length; i += STAT_BATCH) {
      const batch = files.slice(i, i + STAT_BATCH);
      const stats = await Promise.all(batch.map((key) => stat(join(this.root, key)).catch(() => undefined)));
      // A file removed between readdir and stat is simply gone.
      stats.forEach((st, j) => {
        if (st) out.push({ key: batch[j]!, size: st.size, lastModified: st.mtime });
      });
    }
  }

  private fail(err: unknown, op: string, key: string): ReplicaError {
    if (err instanceof ReplicaError) return err;
    const code = (err as NodeJS.ErrnoException).code;
    const path = join(this.root, key);
    if (code === "ENOENT") return new ReplicaError("not-found", `${path} does not exist`, { key, cause: err });
    if ((err as Error).name === "AbortError") return new ReplicaError("aborted", `${op} ${path} aborted`, { key, cause: err });
    return new ReplicaError("io", `cannot ${op} ${path}: ${(err as Error).message}`, { key, cause: err, retryable: code === "EAGAIN" || code === "EBUSY" });
  }
}

/** Opens a new file, creating its directory only when missing (no mkdir per upload). */
async function openCreatingDir(path: string): Promise<FileHandle> {
  try {
    return await open(path, "w", 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    await mkdir(dirname(path), { recursive: true });
    return open(path, "w", 0o644);
  }
}

/** Node streams yield Buffers; the contract promises plain Uint8Array views (no copy). */
async function* asUint8Arrays(chunks: AsyncIterable<Buffer>): AsyncIterable<Uint8Array> {
  for await (const chunk of chunks) yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
}

/**
 * Removes a temp file that may not exist. unlink(2), not `rm({ force })`: Node's `rm`
 * lstats first and goes through its recursive-removal code, several times the CPU of
 * one unlink, on every create-only upload.
 */
async function removeTemp(path: string): Promise<void> {
  await unlink(path).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  });
}
