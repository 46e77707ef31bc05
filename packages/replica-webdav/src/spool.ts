/**
 * A streamed body made replayable with a known length before it is PUT: WebDAV servers
 * behind common front ends mishandle chunked uploads (Litestream stages to a temp file for
 * the same reason), and a retry needs the bytes again. Small bodies stay in memory; past
 * `memoryLimit` they go to a temp file that `dispose()` removes.
 */
import { createReadStream } from "node:fs";
import { mkdtemp, open, rm, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { throwIfAborted } from "@sqlrep/replica";

/** A body that can be sent more than once. */
export interface SpooledBody extends AsyncDisposable {
  readonly size: number;
  /** A fresh copy of the body for one request. */
  open(): Uint8Array | ReadableStream<Uint8Array>;
}

/** Bodies up to this stay in memory (default of {@link spool}). */
export const DEFAULT_MEMORY_LIMIT = 8 * 1024 * 1024;

/** Reads `body` to its end into memory, or a temp file once it outgrows `memoryLimit`. */
export async function spool(body: Uint8Array | AsyncIterable<Uint8Array>, options: { memoryLimit?: number; signal?: AbortSignal | undefined } = {}): Promise<SpooledBody> {
  if (body instanceof Uint8Array) return inMemory(body);
  const limit = options.memoryLimit ?? DEFAULT_MEMORY_LIMIT;
  const chunks: Uint8Array[] = [];
  let size = 0;
  let file: { dir: string; path: string; handle: FileHandle } | undefined;
  try {
    for await (const chunk of body) {
      throwIfAborted(options.signal);
      size += chunk.length;
      if (file === undefined && size <= limit) {
        chunks.push(chunk.slice()); // the producer may reuse its buffer
        continue;
      }
      if (file === undefined) {
        const dir = await mkdtemp(join(tmpdir(), "sqlrep-webdav-"));
        const path = join(dir, "body");
        file = { dir, path, handle: await open(path, "w") };
        for (const c of chunks.splice(0)) await file.handle.write(c);
      }
      await file.handle.write(chunk);
    }
  } catch (err) {
    if (file !== undefined) {
      await file.handle.close();
      await rm(file.dir, { recursive: true, force: true });
    }
    throw err;
  }
  if (file === undefined) return inMemory(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
  await file.handle.close();
  const { dir, path } = file;
  return {
    size,
    open: () => Readable.toWeb(createReadStream(path, { highWaterMark: 1 << 20 })) as ReadableStream<Uint8Array>,
    [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }),
  };
}

function inMemory(bytes: Uint8Array): SpooledBody {
  return { size: bytes.length, open: () => bytes, [Symbol.asyncDispose]: async () => undefined };
}
