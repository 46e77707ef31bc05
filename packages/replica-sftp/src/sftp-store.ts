/**
 * The `ObjectStore` of a directory on an SFTP server: keys are paths under the replica's
 * directory, as in Litestream's SFTP client (`<path>/ltx/<level>/<min>-<max>.ltx`, the
 * LTX timestamp as the file's modification time).
 */
import { randomBytes } from "node:crypto";
import { decodeHeader, HEADER_SIZE } from "@sqlrep/ltx";
import {
  checkReadRange,
  sortedListing,
  ReplicaError,
  throwIfAborted,
  type ListOptions,
  type ObjectEntry,
  type ObjectHead,
  type ObjectInfo,
  type ObjectStore,
  type ReadOptions,
  type SignalOption,
  type WriteOptions,
} from "@sqlrep/replica";
import type { FileEntry, SFTPWrapper } from "ssh2";
import type { SftpConnection, SftpSession } from "./connection.js";
import { hasStatus, isConnectionFault, SFTP_STATUS, toReplicaError } from "./sftp-errors.js";
import { sftpOps as ops, statOf, type RemoteStat } from "./sftp-ops.js";

/** Temp files carry this suffix while being written; listings never show them. */
const TEMP_SUFFIX = ".sqlrep-tmp";
/** Bytes per READ request (OpenSSH serves up to 255 KiB). */
const READ_SIZE = 128 * 1024;
/** Deletes in flight at once. */
const DELETE_WINDOW = 16;

/** Options of {@link SftpObjectStore}. */
export interface SftpObjectStoreOptions {
  connection: SftpConnection;
  /** The replica's directory on the server: absolute, relative to the login directory, or empty (the login directory). */
  root: string;
  /** `sftp://user@host:port/path`, for messages. */
  location: string;
  /** Several WRITE requests of one file in flight (Litestream's `concurrent-writes`, default true); else one at a time. */
  concurrentWrites?: boolean | undefined;
  /** Requests in flight per read, and per write with `concurrentWrites` (default 8). */
  window?: number | undefined;
}

/**
 * An SFTP directory as an object store.
 *
 * Writes go to a temp file next to the target (fsynced when the server offers
 * `fsync@openssh.com`), get the timestamp as their modification time, then take the
 * target's name: with `posix-rename@openssh.com` (OpenSSH) by an atomic rename(2) that
 * replaces; create-only (`ifNoneMatch`) by `hardlink@openssh.com`, link(2), which fails
 * when the name exists, or without it by SFTP's own RENAME, which the protocol defines
 * to fail when the target exists. Without `posix-rename` an overwrite removes the old
 * file first: a reader can then find no file for a moment.
 *
 * SFTP v3 keeps whole seconds of modification time. `head()` of an LTX file therefore
 * reads its 100-byte header: when the header's timestamp falls in the second the file's
 * time says, it is the timestamp (to the millisecond); otherwise the file time is.
 */
export class SftpObjectStore implements ObjectStore {
  readonly kind = "sftp";
  readonly location: string;
  private readonly connection: SftpConnection;
  private readonly root: string;
  private readonly concurrentWrites: boolean;
  private readonly window: number;

  constructor(options: SftpObjectStoreOptions) {
    this.connection = options.connection;
    this.root = options.root;
    this.location = options.location;
    this.concurrentWrites = options.concurrentWrites ?? true;
    this.window = options.window ?? 8;
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectEntry> {
    const { signal } = options;
    const slash = prefix.lastIndexOf("/");
    const baseKey = slash >= 0 ? prefix.slice(0, slash + 1) : "";
    const found = await this.run("list", `${prefix}*`, signal, async ({ sftp }) => {
      const out: ObjectInfo[] = [];
      await this.walk(sftp, baseKey, prefix, out, signal);
      return out;
    });
    yield* sortedListing(found, prefix, options);
  }

  async read(key: string, options: ReadOptions = {}): Promise<AsyncIterable<Uint8Array>> {
    const { signal } = options;
    const start = options.offset ?? 0;
    checkReadRange(start, options.length, key);
    const { sftp, handle, size } = await this.run("read", key, signal, async ({ sftp }) => {
      const handle = await ops.open(sftp, this.remote(key), "r");
      try {
        return { sftp, handle, size: (await ops.fstat(sftp, handle)).size };
      } catch (err) {
        void ops.close(sftp, handle).catch(() => undefined);
        throw err;
      }
    });
    if (start > size) {
      void ops.close(sftp, handle).catch(() => undefined);
      throw new ReplicaError("io", `cannot read ${this.target(key)} from offset ${start}: the file has ${size} bytes`, { key });
    }
    const end = options.length === undefined ? size : Math.min(size, start + options.length);
    return this.stream(sftp, handle, key, start, end, signal);
  }

  async head(key: string, options: SignalOption = {}): Promise<ObjectHead> {
    return this.run("stat", key, options.signal, async ({ sftp }) => {
      const path = this.remote(key);
      const st = await ops.stat(sftp, path);
      const lastModified = new Date(st.mtimeSeconds * 1000);
      const exact = key.endsWith(".ltx") && st.size >= HEADER_SIZE ? await this.headerTime(sftp, path, st.mtimeSeconds) : undefined;
      return { key, size: st.size, lastModified, timestamp: exact ?? lastModified };
    });
  }

  async write(key: string, body: Uint8Array | AsyncIterable<Uint8Array>, options: WriteOptions = {}): Promise<ObjectInfo> {
    const { signal, timestamp } = options;
    return this.run("write", key, signal, async (session) => {
      const { sftp } = session;
      const path = this.remote(key);
      const temp = `${path}.${randomBytes(6).toString("hex")}${TEMP_SUFFIX}`;
      let size = 0;
      try {
        const handle = await this.openCreatingDirs(sftp, temp);
        try {
          size = await this.upload(sftp, handle, body, signal);
          if (session.fsync) await ops.fsync(sftp, handle);
        } finally {
          await ops.close(sftp, handle).catch(() => undefined);
        }
        if (timestamp !== undefined) await ops.setTimes(sftp, temp, Math.floor(timestamp.getTime() / 1000));
        throwIfAborted(signal);
        if (options.ifNoneMatch === true) await this.createOnly(session, temp, path, key);
        else await this.replace(session, temp, path);
      } catch (err) {
        // Best effort (nothing to do on a dead connection): a temp file left behind is skipped by listings, ours and Litestream's.
        await ops.unlink(sftp, temp).catch(() => undefined);
        throw err;
      }
      return { key, size, lastModified: timestamp ?? new Date() };
    });
  }

  async delete(keys: readonly string[], options: SignalOption = {}): Promise<void> {
    const { signal } = options;
    for (let at = 0; at < keys.length; at += DELETE_WINDOW) {
      const batch = keys.slice(at, at + DELETE_WINDOW);
      await this.run("delete", batch[0]!, signal, ({ sftp }) =>
        Promise.all(
          batch.map((key) =>
            ops.unlink(sftp, this.remote(key)).catch((err: unknown) => {
              if (!hasStatus(err, SFTP_STATUS.NO_SUCH_FILE)) throw Object.assign(asError(err), { sqlrepKey: key });
            }),
          ),
        ),
      );
    }
  }

  /** Closes the SSH connection (a later call opens a new one). */
  destroy(): void {
    this.connection.reset();
  }

  /** The remote path of a key; keys cannot climb out of the replica's directory. */
  remote(key: string): string {
    if (key === "" || key.startsWith("/") || key.split("/").some((p) => p === "." || p === "..")) {
      throw new ReplicaError("invalid-url", `key ${JSON.stringify(key)} is not a path under ${this.location}`, { key });
    }
    if (this.root === "") return key;
    return this.root.endsWith("/") ? this.root + key : `${this.root}/${key}`;
  }

  private target(key: string): string {
    return `${this.location}/${key}`;
  }

  /**
   * Runs one operation on the session: an abort rejects at once (the request finishes
   * unheard), a connection fault drops the session so the next call reconnects, and
   * every failure is a ReplicaError naming the remote file.
   */
  private async run<T>(op: string, key: string, signal: AbortSignal | undefined, work: (session: SftpSession) => Promise<T>): Promise<T> {
    if (signal?.aborted) throw new ReplicaError("aborted", `${op} ${this.target(key)} aborted`, { key, cause: signal.reason });
    let session: SftpSession | undefined;
    try {
      session = await abortable(this.connection.open(), signal);
      return await abortable(work(session), signal);
    } catch (err) {
      const failedKey = typeof (err as { sqlrepKey?: unknown })?.sqlrepKey === "string" ? (err as { sqlrepKey: string }).sqlrepKey : key;
      if (isConnectionFault(err)) this.connection.reset();
      if (err instanceof ReplicaError && err.key === undefined && err.code !== "aborted") {
        // A connection that could not be opened: the message says why, the error names the file.
        throw new ReplicaError(err.code, `cannot ${op} ${this.target(failedKey)}: ${err.message}`, { key: failedKey, cause: err, retryable: err.retryable });
      }
      throw toReplicaError(err, op, this.target(failedKey), failedKey, signal);
    }
  }

  private async walk(sftp: SFTPWrapper, dirKey: string, prefix: string, out: ObjectInfo[], signal: AbortSignal | undefined): Promise<void> {
    throwIfAborted(signal);
    let entries: FileEntry[];
    try {
      entries = await ops.readdir(sftp, dirKey === "" ? (this.root === "" ? "." : this.root) : this.remote(dirKey.slice(0, -1)));
    } catch (err) {
      if (hasStatus(err, SFTP_STATUS.NO_SUCH_FILE)) return;
      throw err;
    }
    const dirs: string[] = [];
    for (const entry of entries) {
      if (entry.filename === "." || entry.filename === "..") continue;
      const key = dirKey + entry.filename;
      const st = statOf(entry.attrs);
      if (st.isDirectory) {
        const dirPrefix = `${key}/`;
        if (dirPrefix.startsWith(prefix) || prefix.startsWith(dirPrefix)) dirs.push(dirPrefix);
      } else if (st.isFile && key.startsWith(prefix) && !key.endsWith(TEMP_SUFFIX)) {
        out.push({ key, size: st.size, lastModified: new Date(st.mtimeSeconds * 1000) });
      }
    }
    await Promise.all(dirs.map((dir) => this.walk(sftp, dir, prefix, out, signal)));
  }

  /** Streams `[start, end)` of an open file with up to `window` READs in flight; closes the handle however it ends. */
  private async *stream(sftp: SFTPWrapper, handle: Buffer, key: string, start: number, end: number, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
    const pending: { position: number; length: number; data: Promise<Uint8Array> }[] = [];
    let next = start;
    const request = (position: number, length: number) => {
      const data = ops.read(sftp, handle, length, position);
      data.catch(() => undefined); // awaited in order below
      return { position, length, data };
    };
    const fill = () => {
      while (pending.length < this.window && next < end) {
        const length = Math.min(READ_SIZE, end - next);
        pending.push(request(next, length));
        next += length;
      }
    };
    try {
      fill();
      while (pending.length > 0) {
        const head = pending.shift()!;
        let data: Uint8Array;
        try {
          data = await abortable(head.data, signal);
        } catch (err) {
          if (isConnectionFault(err)) this.connection.reset();
          throw toReplicaError(err, "read", this.target(key), key, signal);
        }
        if (data.length === 0) {
          throw new ReplicaError("io", `cannot read ${this.target(key)} at offset ${head.position}: the file ended early (it was replaced or truncated while being read)`, {
            key,
            offset: head.position,
          });
        }
        // A short read (allowed by the protocol) is followed by a read of the rest, before anything later.
        if (data.length < head.length) pending.unshift(request(head.position + data.length, head.length - data.length));
        fill();
        yield data;
      }
    } finally {
      void ops.close(sftp, handle).catch(() => undefined);
    }
  }

  /** Writes a body at increasing offsets: up to `window` WRITEs in flight with concurrent writes, else one. */
  private async upload(sftp: SFTPWrapper, handle: Buffer, body: Uint8Array | AsyncIterable<Uint8Array>, signal: AbortSignal | undefined): Promise<number> {
    const window = this.concurrentWrites ? this.window : 1;
    const inFlight = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    let position = 0;
    const send = async (chunk: Uint8Array) => {
      // ssh2 copies the bytes into its packet at once: the chunk may be reused after this call.
      const done = ops.write(sftp, handle, chunk, position).then(
        () => void inFlight.delete(done),
        (error: unknown) => {
          inFlight.delete(done);
          failure ??= { error };
        },
      );
      inFlight.add(done);
      position += chunk.length;
      while (inFlight.size >= window) await Promise.race(inFlight);
    };
    if (body instanceof Uint8Array) {
      for (let at = 0; at < body.length && !failure; at += READ_SIZE) await send(body.subarray(at, at + READ_SIZE));
    } else {
      for await (const chunk of body) {
        throwIfAborted(signal);
        if (failure) break;
        if (chunk.length > 0) await send(chunk);
      }
    }
    await Promise.all(inFlight);
    if (failure) throw failure.error;
    return position;
  }

  /** Opens a new temp file, creating its directories only when missing (no mkdir per upload). */
  private async openCreatingDirs(sftp: SFTPWrapper, path: string): Promise<Buffer> {
    try {
      return await ops.open(sftp, path, "w", 0o644);
    } catch (err) {
      if (!hasStatus(err, SFTP_STATUS.NO_SUCH_FILE)) throw err;
      await this.mkdirs(sftp, path.slice(0, path.lastIndexOf("/")));
      return ops.open(sftp, path, "w", 0o644);
    }
  }

  /** `mkdir -p`: each missing directory from the deepest existing one down. */
  private async mkdirs(sftp: SFTPWrapper, dir: string): Promise<void> {
    if (dir === "" || dir === "/" || dir === ".") return;
    try {
      if ((await ops.stat(sftp, dir)).isDirectory) return;
    } catch (err) {
      if (!hasStatus(err, SFTP_STATUS.NO_SUCH_FILE)) throw err;
    }
    const slash = dir.lastIndexOf("/");
    if (slash > 0) await this.mkdirs(sftp, dir.slice(0, slash));
    await ops.mkdir(sftp, dir).catch(async (err: unknown) => {
      // Made meanwhile by another writer: fine.
      if (!(await this.isDirectory(sftp, dir))) throw err;
    });
  }

  private async isDirectory(sftp: SFTPWrapper, path: string): Promise<boolean> {
    return ops.stat(sftp, path).then(
      (st: RemoteStat) => st.isDirectory,
      () => false,
    );
  }

  /** Gives the temp file the target's name only if the name is free; else ReplicaError("exists"). */
  private async createOnly(session: SftpSession, temp: string, path: string, key: string): Promise<void> {
    const { sftp } = session;
    try {
      if (session.hardlink) await ops.hardlink(sftp, temp, path);
      else await ops.rename(sftp, temp, path);
    } catch (err) {
      // Both answer a bare FAILURE for an existing name: look.
      if (
        !isConnectionFault(err) &&
        (await ops.stat(sftp, path).then(
          () => true,
          () => false,
        ))
      ) {
        throw new ReplicaError("exists", `${this.target(key)} exists: not overwritten (create-only write)`, { key, cause: err });
      }
      throw err;
    }
    if (session.hardlink) await ops.unlink(sftp, temp);
  }

  /** Gives the temp file the target's name, replacing what is there. */
  private async replace(session: SftpSession, temp: string, path: string): Promise<void> {
    const { sftp } = session;
    if (session.posixRename) return ops.posixRename(sftp, temp, path);
    try {
      await ops.rename(sftp, temp, path);
    } catch (err) {
      if (isConnectionFault(err)) throw err;
      await ops.unlink(sftp, path).catch(() => undefined);
      await ops.rename(sftp, temp, path);
    }
  }

  /** The LTX header's timestamp when it agrees with the file's (whole-second) modification time. */
  private async headerTime(sftp: SFTPWrapper, path: string, mtimeSeconds: number): Promise<Date | undefined> {
    const handle = await ops.open(sftp, path, "r");
    try {
      const bytes = await ops.read(sftp, handle, HEADER_SIZE, 0);
      if (bytes.length < HEADER_SIZE) return undefined;
      const { timestamp } = decodeHeader(bytes);
      return Math.floor(timestamp / 1000) === mtimeSeconds ? new Date(timestamp) : undefined;
    } catch (err) {
      if (isConnectionFault(err)) throw err;
      return undefined; // not an LTX header: the file time stands
    } finally {
      void ops.close(sftp, handle).catch(() => undefined);
    }
  }
}

/** Rejects as soon as the signal fires (the work goes on, unheard). */
function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  if (signal.aborted) return Promise.reject(Object.assign(new Error("aborted"), { name: "AbortError" }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(Object.assign(new Error("aborted"), { name: "AbortError" }));
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
