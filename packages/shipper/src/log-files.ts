/** The local log's files: their names, what one is from its name, header and trailer (what `LtxLog.open` needs), and its bytes. */
import { closeSync, createReadStream, openSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { decodeHeader, decodeTrailer, formatTxid, HEADER_SIZE, parseChecksum, TRAILER_SIZE, type LtxHeader } from "@sqlrep/ltx";
import { ReplicaError } from "@sqlrep/replica";
import type { LogEntry } from "./log-entry.js";
import type { WalMark } from "./log-types.js";

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

/** `<min>-<max>.ltx`: a sealed entry of one file. */
export function entryName(minTXID: number, maxTXID: number): string {
  return `${formatTxid(minTXID)}-${formatTxid(maxTXID)}.ltx`;
}

/** A file found when opening a log. */
export interface LoadedFile {
  path: string;
  minTXID: number;
  /** The file as an entry; null when it cannot be read. */
  entry: LogEntry | null;
}

/** Reads what a log file is from its name, header and trailer; undefined for a foreign file. */
export function loadFile(dir: string, name: string): LoadedFile | undefined {
  const path = join(dir, name);
  const m = /^([0-9a-f]{16})-([0-9a-f]{16})\.(ltx|break)$/.exec(name);
  if (m === null) return undefined;
  const minTXID = Number.parseInt(m[1]!, 16);
  const maxTXID = Number.parseInt(m[2]!, 16);
  if (m[3] === "break") {
    try {
      const json = JSON.parse(readFileSync(path, "utf8")) as { reason: string; postApply: string; commit: number; pageSize: number; timestamp: number; wal?: WalMark };
      const postApply = parseChecksum(json.postApply);
      if (postApply === undefined) return { path, minTXID, entry: null };
      return {
        path,
        minTXID,
        entry: {
          minTXID,
          maxTXID,
          preApply: 0n,
          postApply,
          commit: json.commit,
          pageSize: json.pageSize,
          timestamp: json.timestamp,
          size: 0,
          file: path,
          lineage: json.reason,
          wal: json.wal,
        },
      };
    } catch {
      return { path, minTXID, entry: null };
    }
  }
  const ends = readEnds(path);
  if (ends === undefined || ends.header.minTXID !== minTXID || ends.header.maxTXID !== maxTXID) return { path, minTXID, entry: null };
  const h = ends.header;
  const wal = h.walOffset > 0 ? { offset: h.walOffset + h.walSize, salt1: h.walSalt1, salt2: h.walSalt2 } : undefined;
  return {
    path,
    minTXID,
    entry: {
      minTXID,
      maxTXID,
      preApply: h.preApplyChecksum,
      postApply: ends.postApply,
      commit: h.commit,
      pageSize: h.pageSize,
      timestamp: h.timestamp,
      size: ends.size,
      file: path,
      wal,
    },
  };
}
