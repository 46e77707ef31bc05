/** Reading the local log's files: the header and trailer of one (what `LtxLog.open` needs), and its bytes. */
import { closeSync, createReadStream, openSync, readSync, statSync } from "node:fs";
import { decodeHeader, decodeTrailer, HEADER_SIZE, TRAILER_SIZE, type LtxHeader } from "@sqlrep/ltx";
import { ReplicaError } from "@sqlrep/replica";

/** The header, post-apply checksum and size of a file; undefined when they cannot be read (a file cut short). */
export function readEnds(path: string): { header: LtxHeader; postApply: bigint; size: number } | undefined {
  try {
    const size = statSync(path).size;
    if (size < HEADER_SIZE + TRAILER_SIZE) return undefined;
    const fd = openSync(path, "r");
    const head = new Uint8Array(HEADER_SIZE);
    const tail = new Uint8Array(TRAILER_SIZE);
    try {
      if (readSync(fd, head, 0, HEADER_SIZE, 0) !== HEADER_SIZE || readSync(fd, tail, 0, TRAILER_SIZE, size - TRAILER_SIZE) !== TRAILER_SIZE) return undefined;
    } finally {
      closeSync(fd);
    }
    return { header: decodeHeader(head, { file: path }), postApply: decodeTrailer(tail).postApplyChecksum, size };
  } catch {
    return undefined;
  }
}

/** One local file's bytes; a missing file is ReplicaError("not-found"). */
export async function* readLocalFile(path: string): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 })) yield chunk as Uint8Array;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new ReplicaError("not-found", `local LTX file ${path} is gone`, { key: path, cause: err });
    throw new ReplicaError("io", `cannot read local LTX file ${path}: ${(err as Error).message}`, { key: path, cause: err });
  }
}
