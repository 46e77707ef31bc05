/** Converts a Litestream v0.3 replica's state into a v0.5 level-9 snapshot, so `replicate` can continue its TXID chain from there. */
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeLtxStream, lockPgno, type LtxPage } from "@sqlrep/ltx";
import { ReplicaError, throwIfAborted } from "../errors.js";
import { SNAPSHOT_LEVEL } from "../layout.js";
import { replicaPosition } from "../position.js";
import { ltxKey, type LtxFileInfo, type ReplicaClient } from "../replica-client.js";
import type { LegacyLogger } from "./listing.js";
import type { LegacyRestoreTarget } from "./plan.js";
import { restoreLegacy, type LegacyRestoreProgress, type LegacyRestoreResult } from "./restore.js";

export interface ImportLegacyOptions {
  /** The replica the v0.5 snapshot is written to (default: the v0.3 replica itself, beside `generations/`). */
  target?: ReplicaClient | undefined;
  /** The v0.3 point to import (default: the latest state). */
  point?: LegacyRestoreTarget | undefined;
  /**
   * Import into a replica that already holds LTX files: the snapshot then gets the TXID
   * after the highest there (and the current time), so restores and `replicate` go on
   * from it. Without it such a target is ReplicaError "exists".
   */
  force?: boolean | undefined;
  /** Keep the restored database here (e.g. the path `replicate` will back up) instead of a temp file. */
  database?: string | undefined;
  /** Where the temp database goes (default: the OS temp directory). */
  tempDir?: string | undefined;
  /** Checks the restored database before it is encoded (e.g. PRAGMA integrity_check); throw to fail. */
  verify?: ((path: string) => Promise<void>) | undefined;
  parallelism?: number | undefined;
  memory?: number | undefined;
  onProgress?: ((p: LegacyRestoreProgress) => void) | undefined;
  logger?: LegacyLogger | undefined;
  signal?: AbortSignal | undefined;
}

export interface ImportLegacyResult {
  /** The level-9 snapshot written (`0000000000000001-<txid>.ltx`). */
  file: LtxFileInfo;
  key: string;
  txid: number;
  /** The database checksum of the imported state (the snapshot's post-apply checksum). */
  postApplyChecksum: bigint;
  /** The v0.3 restore the snapshot was made from. */
  restore: LegacyRestoreResult;
}

/** Pages read from the database per read. */
const READ_BYTES = 1024 * 1024;

/**
 * Converts a v0.3 replica's state (latest, or `point`) into a Litestream v0.5 snapshot:
 * restores it into a temporary database, then writes every page as one level-9 LTX
 * file with database checksums, `0000000000000001-<txid>.ltx`, TXID 1 in a replica
 * without LTX files. `litestream replicate` of that database then continues the TXID
 * chain from it.
 */
export async function importLegacy(source: ReplicaClient, options: ImportLegacyOptions = {}): Promise<ImportLegacyResult> {
  const target = options.target ?? source;
  const { signal } = options;
  throwIfAborted(signal);
  const position = await replicaPosition(target, { signal });
  if (position.txid > 0 && !options.force) {
    throw new ReplicaError(
      "exists",
      `${target.location} already holds LTX files up to TXID ${position.txid}: an import would not start its chain (pass force to add the import as TXID ${position.txid + 1})`,
      { key: target.location },
    );
  }
  const txid = position.txid + 1;
  const dir = options.database === undefined ? await mkdtemp(join(options.tempDir ?? tmpdir(), "sqlrep-import-")) : undefined;
  const database = options.database ?? join(dir!, "import.db");
  try {
    const restore = await restoreLegacy(source, {
      output: database,
      target: options.point,
      parallelism: options.parallelism,
      memory: options.memory,
      verify: options.verify,
      onProgress: options.onProgress,
      logger: options.logger,
      signal,
    });
    const { pageSize } = restore;
    if (restore.bytes % pageSize !== 0) {
      throw new ReplicaError("corrupt", `the restored database ${database} has ${restore.bytes} bytes, not a whole number of ${pageSize}-byte pages`, { key: database });
    }
    const commit = restore.bytes / pageSize;
    // Into an empty replica the snapshot is the state at the v0.3 point; after existing files it is "now".
    const timestamp = position.txid > 0 ? new Date() : restore.timestamp;
    const header = { pageSize, commit, minTXID: 1, maxTXID: txid, timestamp: timestamp.getTime() };
    const body = encodeLtxStream(header, readPages(database, pageSize, commit, signal), { checksums: true });
    let postApplyChecksum = 0n;
    const file = await target.writeLtxFile(
      { level: SNAPSHOT_LEVEL, minTXID: 1, maxTXID: txid },
      captureTrailer(body, (c) => (postApplyChecksum = c)),
      { timestamp, signal },
    );
    return { file, key: ltxKey(target.layout, file), txid, postApplyChecksum, restore };
  } finally {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
}

/** The database's pages 1…commit (the lock page left out), read in 1 MiB runs. */
async function* readPages(path: string, pageSize: number, commit: number, signal: AbortSignal | undefined): AsyncIterable<LtxPage> {
  const lock = lockPgno(pageSize);
  const handle = await open(path, "r");
  try {
    const run = Math.max(1, Math.floor(READ_BYTES / pageSize));
    for (let first = 1; first <= commit; first += run) {
      throwIfAborted(signal);
      const n = Math.min(run, commit - first + 1);
      const buf = new Uint8Array(n * pageSize);
      const { bytesRead } = await handle.read(buf, 0, buf.length, (first - 1) * pageSize);
      if (bytesRead !== buf.length) throw new ReplicaError("io", `short read of ${path} at page ${first}`, { key: path });
      for (let i = 0; i < n; i++) {
        if (first + i !== lock) yield { pgno: first + i, data: buf.subarray(i * pageSize, (i + 1) * pageSize) };
      }
    }
  } finally {
    await handle.close();
  }
}

/** Passes the encoder's chunks through and hands its trailer's post-apply checksum over at the end. */
async function* captureTrailer(body: ReturnType<typeof encodeLtxStream>, onChecksum: (c: bigint) => void): AsyncIterable<Uint8Array> {
  for (;;) {
    const step = await body.next();
    if (step.done === true) {
      onChecksum(step.value.postApplyChecksum);
      return;
    }
    yield step.value;
  }
}
