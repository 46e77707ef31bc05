// Reading a log entry's LTX file for the stream; a file pruned meanwhile is `not-found`.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { ClusterError } from "../errors.js";

/** Files up to this size (the log entry says) are read synchronously. */
const SYNC_READ_MAX = 256 * 1024;

/** The bytes of an LTX file; `ClusterError("not-found")` once retention removed it. */
export async function readLtxFile(path: string, size = Number.POSITIVE_INFINITY): Promise<Uint8Array> {
  try {
    // A small file is read at once from the page cache: on the thread pool each frame's
    // four calls (open, stat, read, close) waited behind the pool's other work.
    const buf = size <= SYNC_READ_MAX ? readFileSync(path) : await readFile(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new ClusterError("not-found", `LTX file ${path} is gone (retention)`, { cause: err, file: path });
    throw new ClusterError("io", `cannot read ${path}: ${(err as Error).message}`, { cause: err, file: path });
  }
}
