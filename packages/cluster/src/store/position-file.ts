/**
 * A database's position on disk: the TXID and checksum its file and checksum table were
 * last made durable at, with the transaction's timestamp, the lease epoch it was
 * written under, and the page size and size in pages. Replaced atomically (temp file,
 * fsync, rename, fsync of the directory).
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { fsyncFd } from "./fsync.js";
import { dirname } from "node:path";
import { formatChecksum, parseChecksum } from "@sqlrep/ltx";
import { ClusterError } from "../errors.js";

/** What the position file holds. */
export interface StoredPosition {
  readonly txid: number;
  /** The database checksum after `txid` (flag set). */
  readonly checksum: bigint;
  /** Milliseconds since the epoch of transaction `txid`. */
  readonly timestamp: number;
  /** The lease epoch of the primary that wrote `txid` (0 when unknown). */
  readonly epoch: number;
  readonly pageSize: number;
  /** Database size in pages. */
  readonly commit: number;
}

/** Reads a position file; undefined when there is none. Throws `ClusterError("corrupt")` for one that cannot be parsed. */
export function readPosition(path: string): StoredPosition | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ClusterError("io", `cannot read ${path}: ${(err as Error).message}`, { cause: err, file: path });
  }
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    const checksum = typeof json.checksum === "string" ? parseChecksum(json.checksum) : undefined;
    const txid = typeof json.txid === "string" ? Number.parseInt(json.txid, 16) : Number.NaN;
    const nums = ["timestamp", "epoch", "pageSize", "commit"].map((k) => json[k]);
    if (checksum === undefined || !Number.isSafeInteger(txid) || !nums.every((n) => typeof n === "number" && Number.isSafeInteger(n)))
      throw new Error("missing or malformed fields");
    return { txid, checksum, timestamp: json.timestamp as number, epoch: json.epoch as number, pageSize: json.pageSize as number, commit: json.commit as number };
  } catch (err) {
    throw new ClusterError("corrupt", `position file ${path} cannot be parsed (${(err as Error).message}): ${JSON.stringify(text.slice(0, 200))}`, { cause: err, file: path });
  }
}

/** Writes a position file atomically and durably. */
export function writePosition(path: string, pos: StoredPosition): void {
  writeFileDurably(path, positionText(pos));
}

/** {@link writePosition} with its two fsyncs on the thread pool (the event loop goes on meanwhile). */
export async function writePositionAsync(path: string, pos: StoredPosition): Promise<void> {
  const temp = `${path}.tmp`;
  try {
    const fd = openSync(temp, "w");
    try {
      const bytes = Buffer.from(positionText(pos));
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
      await fsyncFd(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
    const dir = openSync(dirname(path), "r");
    try {
      await fsyncFd(dir);
    } finally {
      closeSync(dir);
    }
  } catch (err) {
    throw new ClusterError("io", `cannot write ${path}: ${(err as Error).message}`, { cause: err, file: path });
  }
}

function positionText(pos: StoredPosition): string {
  return `${JSON.stringify({
    txid: pos.txid.toString(16).padStart(16, "0"),
    checksum: formatChecksum(pos.checksum),
    timestamp: pos.timestamp,
    epoch: pos.epoch,
    pageSize: pos.pageSize,
    commit: pos.commit,
  })}\n`;
}

/** Writes `text` to `path` through a temp file: fsync, rename, fsync of the directory. */
export function writeFileDurably(path: string, text: string | Uint8Array): void {
  const temp = `${path}.tmp`;
  try {
    const fd = openSync(temp, "w");
    try {
      const bytes = typeof text === "string" ? Buffer.from(text) : text;
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
    syncDirectory(dirname(path));
  } catch (err) {
    throw new ClusterError("io", `cannot write ${path}: ${(err as Error).message}`, { cause: err, file: path });
  }
}

/** fsync of a directory (a rename or a new file in it survives a crash). */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
