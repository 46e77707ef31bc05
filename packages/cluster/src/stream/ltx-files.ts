// Reading a log entry's LTX file for the stream; a file pruned meanwhile is `not-found`.
import { readFile } from "node:fs/promises";
import { ClusterError } from "../errors.js";

/** The bytes of an LTX file; `ClusterError("not-found")` once retention removed it. */
export async function readLtxFile(path: string): Promise<Uint8Array> {
  try {
    const buf = await readFile(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new ClusterError("not-found", `LTX file ${path} is gone (retention)`, { cause: err, file: path });
    throw new ClusterError("io", `cannot read ${path}: ${(err as Error).message}`, { cause: err, file: path });
  }
}
