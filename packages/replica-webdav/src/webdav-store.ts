/**
 * The `ObjectStore` of a WebDAV server, over Node's fetch: keys are paths under the base
 * URL, listings are PROPFIND walks, reads are ranged GETs, writes go to a temp name and
 * are MOVEd into place, the LTX timestamp is a dead property set with PROPPATCH.
 */
import { randomBytes } from "node:crypto";
import {
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
import { isTransientError, isTransientStatus, statusError, toReplicaError } from "./dav-errors.js";
import { parseMultistatus, PROPFIND_BODY, proppatchBody, proppatchSucceeded, type DavResource } from "./multistatus.js";
import { spool } from "./spool.js";

/** Temp uploads are named `.<name>.<random>.sqlrep-tmp` beside their target (never an LTX name). */
const TEMP_SUFFIX = ".sqlrep-tmp";
/** Deletes in flight. */
const DELETE_CONCURRENCY = 8;

/** Options of {@link WebdavObjectStore}. */
export interface WebdavObjectStoreOptions {
  /** The server's base URL (`http://host:port/dav`); keys are paths under it. */
  baseUrl: string;
  username?: string | undefined;
  password?: string | undefined;
  /** For messages (default: the base URL). */
  location?: string | undefined;
  /** Attempts of one idempotent request on a transient fault (default 3). */
  attempts?: number | undefined;
  /** First backoff between attempts, doubled each time (default 100 ms). */
  backoffMs?: number | undefined;
  /** Streamed bodies up to this size are held in memory before the PUT, larger ones in a temp file (default 8 MiB). */
  memoryLimit?: number | undefined;
}

type Method = "GET" | "PUT" | "DELETE" | "MKCOL" | "MOVE" | "PROPFIND" | "PROPPATCH";

/**
 * A WebDAV collection as an `ObjectStore`. What the protocol guarantees and what it does
 * not: a write is a PUT to a temp name, then `MOVE` with `Overwrite: T`, so readers never
 * see a partial file (RFC 4918 lets a server replace the target by delete-then-rename:
 * for a moment there may be nothing). A create-only write (`ifNoneMatch`) MOVEs with
 * `Overwrite: F` and fails with ReplicaError("exists") on `412`; the server's check and
 * rename need not be one atomic step (webdav-server checks, then renames). `If-None-Match`
 * on PUT is not used: webdav-server ignores it. The timestamp is a dead property set
 * after the MOVE (webdav-server drops properties on MOVE); servers without dead
 * properties (nginx's dav module) keep none, and listings then report the server's
 * modification time, as Litestream's WebDAV client always does.
 */
export class WebdavObjectStore implements ObjectStore {
  readonly kind = "webdav";
  readonly location: string;
  private readonly base: URL;
  private readonly basePath: string;
  private readonly authorization: string | undefined;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly memoryLimit: number | undefined;
  /** Collections known to exist (no MKCOL before every upload). */
  private readonly collections = new Set<string>([""]);
  /** False once the server refused a dead property: no more PROPPATCHes. */
  private deadProperties = true;

  constructor(options: WebdavObjectStoreOptions) {
    this.base = new URL(options.baseUrl.replace(/\/*$/, "/"));
    this.basePath = decodeURIComponent(this.base.pathname).replace(/\/+$/, "");
    this.location = options.location ?? options.baseUrl;
    this.authorization = options.username ? `Basic ${Buffer.from(`${options.username}:${options.password ?? ""}`).toString("base64")}` : undefined;
    this.attempts = options.attempts ?? 3;
    this.backoffMs = options.backoffMs ?? 100;
    this.memoryLimit = options.memoryLimit;
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectEntry> {
    const { signal } = options;
    throwIfAborted(signal);
    const slash = prefix.lastIndexOf("/");
    const objects: ObjectInfo[] = [];
    await this.walk(slash >= 0 ? prefix.slice(0, slash + 1) : "", prefix, objects, signal);
    yield* sortedListing(objects, prefix, options);
  }

  async read(key: string, options: ReadOptions = {}): Promise<AsyncIterable<Uint8Array>> {
    const { signal } = options;
    const offset = options.offset ?? 0;
    const length = options.length;
    if (length === 0) {
      await this.head(key, { signal }); // still reports a missing file
      return empty();
    }
    const ranged = offset > 0 || length !== undefined;
    const headers: Record<string, string> = ranged ? { range: `bytes=${offset}-${length === undefined ? "" : offset + length - 1}` } : {};
    const res = await this.request("GET", key, { headers, signal, op: "read" });
    if (res.status === 416) {
      await res.body?.cancel();
      const size = (await this.head(key, { signal })).size;
      if (offset === size) return empty();
      throw new ReplicaError("io", `cannot read ${this.target(key)} from offset ${offset}: it has ${size} bytes`, { key, offset });
    }
    if (res.status !== 200 && res.status !== 206) throw await this.unexpected(res, "read", key);
    // A server that ignores Range answers 200 with the whole file: cut the range out here.
    const skip = res.status === 200 ? offset : 0;
    return this.stream(res, key, skip, length, signal);
  }

  async head(key: string, options: SignalOption = {}): Promise<ObjectHead> {
    const res = await this.request("PROPFIND", key, {
      headers: { depth: "0", "content-type": "application/xml; charset=utf-8" },
      body: PROPFIND_BODY,
      signal: options.signal,
      op: "head",
    });
    if (res.status !== 207) throw await this.unexpected(res, "head", key);
    const resource = parseMultistatus(await res.text())[0];
    if (resource === undefined || resource.collection) throw new ReplicaError("not-found", `cannot head: ${this.target(key)} is not a file`, { key });
    return { key, size: resource.size, lastModified: resource.lastModified, timestamp: resource.timestamp };
  }

  async write(key: string, body: Uint8Array | AsyncIterable<Uint8Array>, options: WriteOptions = {}): Promise<ObjectInfo> {
    const { signal } = options;
    throwIfAborted(signal);
    const slash = key.lastIndexOf("/");
    const dir = slash >= 0 ? key.slice(0, slash + 1) : "";
    const temp = `${dir}.${key.slice(slash + 1)}.${randomBytes(6).toString("hex")}${TEMP_SUFFIX}`;
    await using spooled = await spool(body, { memoryLimit: this.memoryLimit, signal }).catch((err: unknown) => {
      throw toReplicaError(err, "write", this.target(key), key, signal);
    });
    try {
      await this.put(temp, dir, spooled, signal, key);
      const moved = await this.request("MOVE", temp, {
        headers: { destination: this.url(key).href, overwrite: options.ifNoneMatch ? "F" : "T" },
        signal,
        op: "write",
        errorKey: key,
        attempts: 1, // a lost answer to a MOVE that happened cannot be told from a failure
      });
      await moved.body?.cancel();
      if (moved.status === 412) throw new ReplicaError("exists", `cannot write: ${this.target(key)} exists (create-only write)`, { key });
      if (moved.status !== 201 && moved.status !== 204) throw statusError(moved.status, moved.statusText, "write", this.target(key), key);
    } catch (err) {
      await this.delete([temp]).catch(() => undefined);
      throw err;
    }
    if (options.timestamp !== undefined) await this.setTimestamp(key, options.timestamp, signal);
    return { key, size: spooled.size, lastModified: new Date() };
  }

  async delete(keys: readonly string[], options: SignalOption = {}): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < keys.length) {
        const key = keys[next++]!;
        const res = await this.request("DELETE", key, { signal: options.signal, op: "delete" });
        await res.body?.cancel();
        if (res.status !== 200 && res.status !== 204 && res.status !== 404) throw statusError(res.status, res.statusText, "delete", this.target(key), key);
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, keys.length) }, worker));
  }

  /** `webdav://host/base/key`, for messages (no credentials). */
  target(key: string): string {
    return `${this.base.protocol === "https:" ? "webdavs" : "webdav"}://${this.base.host}${this.basePath}/${key}`;
  }

  /** PUTs a spooled body, creating the missing collections above it once on 409/404. */
  private async put(
    temp: string,
    dir: string,
    body: { size: number; open(): Uint8Array | ReadableStream<Uint8Array> },
    signal: AbortSignal | undefined,
    key: string,
  ): Promise<void> {
    for (let round = 0; ; round++) {
      if (!this.collections.has(dir)) await this.mkcols(dir, signal, key);
      const res = await this.request("PUT", temp, {
        headers: { "content-type": "application/octet-stream", "content-length": String(body.size) },
        body,
        signal,
        op: "write",
        errorKey: key,
      });
      await res.body?.cancel();
      if (res.status === 201 || res.status === 204 || res.status === 200) return;
      if ((res.status === 409 || res.status === 404) && round === 0) {
        this.collections.clear(); // our notion of what exists is stale
        this.collections.add("");
        continue;
      }
      throw statusError(res.status, res.statusText, "write", this.target(key), key);
    }
  }

  /** MKCOL for each collection of `dir` (`a/b/`) that is not known to exist, top down. */
  private async mkcols(dir: string, signal: AbortSignal | undefined, key: string): Promise<void> {
    const parts = dir.split("/").filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const collection = `${parts.slice(0, i).join("/")}/`;
      if (this.collections.has(collection)) continue;
      const res = await this.request("MKCOL", collection, { signal, op: "write", errorKey: key });
      await res.body?.cancel();
      // 405: it exists already. 201: made.
      if (res.status !== 201 && res.status !== 405 && res.status !== 200)
        throw statusError(res.status, res.statusText, `create collection ${collection} for`, this.target(key), key);
      this.collections.add(collection);
    }
  }

  private async setTimestamp(key: string, timestamp: Date, signal: AbortSignal | undefined): Promise<void> {
    if (!this.deadProperties) return;
    const res = await this.request("PROPPATCH", key, { headers: { "content-type": "application/xml; charset=utf-8" }, body: proppatchBody(timestamp), signal, op: "write" });
    const text = await res.text();
    if (res.status === 207 && proppatchSucceeded(text)) return;
    if (isTransientStatus(res.status)) throw statusError(res.status, res.statusText, "set the timestamp of", this.target(key), key);
    // 403/405/501 or a 207 refusing the property: this server keeps no dead properties.
    this.deadProperties = false;
  }

  /** PROPFIND Depth 1 of `dirKey`, descending into collections that can hold keys under `prefix`. */
  private async walk(dirKey: string, prefix: string, out: ObjectInfo[], signal: AbortSignal | undefined): Promise<void> {
    const res = await this.request("PROPFIND", dirKey, { headers: { depth: "1", "content-type": "application/xml; charset=utf-8" }, body: PROPFIND_BODY, signal, op: "list" });
    if (res.status === 404) {
      await res.body?.cancel();
      return;
    }
    if (res.status !== 207) throw await this.unexpected(res, "list", dirKey);
    const self = this.keyOf(`${this.basePath}/${dirKey}`);
    for (const resource of parseMultistatus(await res.text())) {
      const key = this.keyOf(resource.path);
      if (key === undefined || key === self || (self !== undefined && !key.startsWith(self))) continue;
      if (resource.collection) {
        const sub = `${key}/`;
        this.collections.add(sub);
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) await this.walk(sub, prefix, out, signal);
      } else if (key.startsWith(prefix) && !key.endsWith(TEMP_SUFFIX)) {
        out.push(toInfo(key, resource));
      }
    }
  }

  /** The key of a decoded URL path, or undefined when it is not under the base. */
  private keyOf(path: string): string | undefined {
    const clean = path.replace(/\/+$/, "");
    if (clean === this.basePath) return "";
    return clean.startsWith(`${this.basePath}/`) ? clean.slice(this.basePath.length + 1) : undefined;
  }

  private url(key: string): URL {
    return new URL(key.split("/").map(encodeURIComponent).join("/"), this.base);
  }

  /**
   * One request, retried on transient faults (network errors, 5xx, 429) up to `attempts`
   * times with doubling backoff. Network errors become ReplicaError("io") naming the key.
   */
  private async request(
    method: Method,
    key: string,
    init: {
      headers?: Record<string, string>;
      body?: string | { open(): Uint8Array | ReadableStream<Uint8Array> };
      signal: AbortSignal | undefined;
      op: string;
      errorKey?: string;
      attempts?: number;
    },
  ): Promise<Response> {
    const attempts = init.attempts ?? this.attempts;
    const errorKey = init.errorKey ?? key;
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(init.signal);
      const body = typeof init.body === "object" ? init.body.open() : init.body;
      try {
        const res = await fetch(this.url(key), {
          method,
          headers: { ...(this.authorization ? { authorization: this.authorization } : {}), ...init.headers },
          body,
          signal: init.signal,
          redirect: "follow",
          ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
        } as RequestInit);
        if (attempt < attempts && isTransientStatus(res.status)) {
          await res.body?.cancel();
          await sleep(this.backoffMs * 2 ** (attempt - 1), init.signal);
          continue;
        }
        return res;
      } catch (err) {
        if (attempt < attempts && isTransientError(err) && !init.signal?.aborted) {
          await sleep(this.backoffMs * 2 ** (attempt - 1), init.signal);
          continue;
        }
        throw toReplicaError(err, init.op, this.target(errorKey), errorKey, init.signal);
      }
    }
  }

  private async unexpected(res: Response, op: string, key: string): Promise<ReplicaError> {
    await res.body?.cancel();
    return statusError(res.status, res.statusText, op, this.target(key), key);
  }

  private async *stream(res: Response, key: string, skip: number, length: number | undefined, signal: AbortSignal | undefined): AsyncIterable<Uint8Array> {
    if (res.body === null) return;
    let toSkip = skip;
    let left = length ?? Number.POSITIVE_INFINITY;
    try {
      for await (const raw of res.body as unknown as AsyncIterable<Uint8Array>) {
        let chunk = raw;
        if (toSkip > 0) {
          const cut = Math.min(toSkip, chunk.length);
          chunk = chunk.subarray(cut);
          toSkip -= cut;
        }
        if (chunk.length > left) chunk = chunk.subarray(0, left);
        if (chunk.length > 0) {
          left -= chunk.length;
          yield chunk;
        }
        if (left === 0) break;
      }
    } catch (err) {
      throw toReplicaError(err, "read", this.target(key), key, signal);
    } finally {
      if (left === 0) await res.body.cancel().catch(() => undefined);
    }
  }
}

function toInfo(key: string, resource: DavResource): ObjectInfo {
  return { key, size: resource.size, lastModified: resource.lastModified, timestamp: resource.timestamp };
}

async function* empty(): AsyncIterable<Uint8Array> {}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
