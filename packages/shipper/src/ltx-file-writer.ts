/** Writing one file of the local log: encoded in large writes under a temp name, fsynced when durable, then renamed. */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { LtxEncoder, type LtxHeaderInit } from "@sqlrep/ltx";
import type { AppendInit } from "./log-entry.js";
import type { LogPage } from "./log-types.js";

/** Bytes gathered before one write(2) while encoding a file. */
const WRITE_CHUNK = 1 << 20;

/** The header of a file the log writes: `init`'s fields at the TXIDs and checksum the log decided. */
export function ltxHeader(init: AppendInit, minTXID: number, maxTXID: number, preApply: bigint): LtxHeaderInit {
  return {
    pageSize: init.pageSize,
    commit: init.commit,
    minTXID,
    maxTXID,
    timestamp: init.timestamp,
    preApplyChecksum: preApply,
    walOffset: init.wal?.offset ?? 0,
    walSize: init.wal?.size ?? 0,
    walSalt1: init.wal?.salt1 ?? 0,
    walSalt2: init.wal?.salt2 ?? 0,
  };
}

/** Encodes and writes one file (temp name, then rename); returns its size. */
export function writeLtxFile(durable: boolean, path: string, header: LtxHeaderInit, pages: Iterable<LogPage>, postApply: () => bigint): number {
  const temp = `${path}.tmp`;
  const fd = openSync(temp, "w");
  let size = 0;
  try {
    const encoder = new LtxEncoder(header, { file: path });
    const pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = () => {
      for (const chunk of pending) {
        let done = 0;
        while (done < chunk.length) done += writeSync(fd, chunk, done, chunk.length - done);
        size += chunk.length;
      }
      pending.length = 0;
      pendingBytes = 0;
    };
    for (const page of pages) {
      for (const chunk of encoder.writePage(page.pgno, page.data)) {
        pending.push(chunk);
        pendingBytes += chunk.length;
      }
      if (pendingBytes >= WRITE_CHUNK) flush();
    }
    pending.push(...encoder.finish(postApply()));
    flush();
    if (durable) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(temp, path);
  if (durable) syncDir(dirname(path));
  return size;
}

/** fsync of a directory, so a rename in it is durable. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
