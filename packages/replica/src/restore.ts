/** restore: one streaming k-way merge of a restore plan's files into a new database file, verifying every checksum and the chain on the way. */
import { rm } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { isPageFileError, PageFile } from "@sqlrep/page-file";
import {
  DatabaseChecksum,
  decodeHeader,
  DETECT_SIZE,
  detectFormat,
  formatChecksum,
  HEADER_SIZE,
  isLtxError,
  lockPgno,
  LtxReader,
  mergeLtx,
  pageChecksum,
  tracksChecksums,
} from "@sqlrep/ltx";
import { isReplicaError, ReplicaError, throwIfAborted } from "./errors.js";
import { MergeInputs } from "./inputs.js";
import { peekStream } from "./peek-stream.js";
import { checkOutput, installRestored, verifyRestored } from "./restored-file.js";
import { fileLabel } from "./listing.js";
import { DEFAULT_PARALLELISM, RangeScheduler } from "./ranged-source.js";
import type { LtxFileInfo, ReplicaClient } from "./replica-client.js";
import { planRestore, type RestorePlan, type RestoreTarget } from "./restore-plan.js";
import { writeByRuns, type WrittenDatabase } from "./restore-runs.js";
import { ioError, missingPages, nextPgno } from "./restore-write.js";

/** Where a restore is; `bytesDone`/`bytesTotal` count the plan's bytes downloaded. */
export interface RestoreProgress {
  phase: "plan" | "download" | "verify" | "done";
  bytesDone: number;
  bytesTotal: number;
  /** Files in the plan. */
  files: number;
}

export interface RestoreOptions {
  /** The database path; written as `<output>.tmp`, fsynced, renamed. */
  output: string;
  target?: RestoreTarget | undefined;
  /** Concurrent ranged reads across all files (default 8). */
  parallelism?: number | undefined;
  /** Bytes per ranged read (default 2 MiB; 1 MiB, fetched at most 2 MiB ahead, from a directory). */
  rangeSize?: number | undefined;
  /**
   * Worker threads that decode the base snapshot (a v3-block file) in parallel and write
   * its pages. Default: none for a base under 16 MiB or on fewer than 3 cores, else one
   * per core but one (this thread's), up to 4. 0 decodes on the calling thread.
   */
  workers?: number | undefined;
  /** Retries of a ranged read after a transient failure (default 5), each resumed where it stopped. */
  retries?: number | undefined;
  /** First retry delay in ms, doubled at each retry (default 100). */
  retryDelay?: number | undefined;
  /**
   * Replace an existing output (default false: an existing output, or a `-wal` or
   * `-journal` file beside it, is ReplicaError "exists"). Stale `-wal`, `-shm` and
   * `-journal` files beside it are removed before the rename.
   */
  overwrite?: boolean | undefined;
  /** Called at each phase change and at most every 100 ms while downloading. */
  onProgress?: ((p: RestoreProgress) => void) | undefined;
  /** Checks the finished temp database before the rename (e.g. PRAGMA integrity_check); throw to fail. */
  verify?: ((tempPath: string) => Promise<void>) | undefined;
  signal?: AbortSignal | undefined;
}

export interface RestoreResult {
  txid: number;
  /** When the restored state was committed (the last file's timestamp). */
  timestamp: Date;
  pageSize: number;
  pageCount: number;
  /** Size of the restored database file. */
  bytes: number;
  /** Files applied. */
  files: number;
  /** Bytes downloaded from the replica. */
  bytesDownloaded: number;
  /** The replica's post-apply checksum at the restored TXID; undefined when its last file carries none (Litestream writes NoChecksum). */
  postApplyChecksum: bigint | undefined;
  /** The database checksum of the restored file, computed from the pages written. */
  databaseChecksum: bigint;
  /** `databaseChecksum` was compared with `postApplyChecksum` and matched. */
  checksumVerified: boolean;
  plan: RestorePlan;
}

/** Below this base size, starting worker threads costs more than they save. */
const WORKERS_MIN_BASE = 16 * 1024 * 1024;
const MAX_WORKERS = 4;
const MIN_CORES_FOR_WORKERS = 3;
/** Runs of the base are at most this many bytes (and 2 MiB of pages), at least RUN_MIN: what is in flight is a few runs, their pages and the range being read. */
const RUN_MAX = 1024 * 1024;
const RUN_MIN = 4 * 1024;
const PROGRESS_INTERVAL_MS = 100;
/**
 * Ranges of an object store: 8 GETs of 2 MiB in flight keep ~300 MB/s coming over links
 * that give one stream 60 MB/s 10 ms away (bench: litestream, s3-shaped), more than a
 * restore decodes, with 16 MiB ahead of the readers.
 */
const REMOTE_RANGE = 2 * 1024 * 1024;
/** Ranges of a local (directory) replica, and how far ahead of the readers they are fetched. */
const LOCAL_RANGE = 1024 * 1024;
const LOCAL_AHEAD = 2 * LOCAL_RANGE;
/**
 * Re-plans after a planned file vanished (retention deleted it meanwhile). Each re-plan
 * sees the newer listing; more than one is needed only when retention runs again
 * during the retry.
 */
const MAX_REPLANS = 3;

/**
 * Restores a database from a replica: plans (see `planRestore`), then runs ONE
 * streaming k-way merge of every planned file, snapshot first, writing each merged
 * page once in ascending order into `<output>.tmp`, fed by ranged reads
 * (`parallelism` at a time across all files). Verifies every file checksum, names
 * against headers, TXID contiguity, each pre-apply checksum against the previous
 * post-apply checksum, completeness, and the database checksum of the pages written
 * against the replica's post-apply checksum (when the files carry checksums). Then
 * `verify` while the fsync runs, rename, fsync of the directory. On failure the temp file is
 * removed; a file that vanished since planning (retention) causes a re-plan (up to 3).
 */
export async function restore(client: ReplicaClient, options: RestoreOptions): Promise<RestoreResult> {
  if (!options.output) throw new ReplicaError("invalid-config", "a restore needs an output path");
  const output = resolve(options.output);
  const temp = `${output}.tmp`;
  const { signal } = options;
  throwIfAborted(signal);
  await checkOutput(output, options.overwrite ?? false);
  const progress = new Progress(options.onProgress);
  for (let replans = 0; ; replans++) {
    progress.phase("plan", 0, 0);
    const plan = await planRestore(client, options.target, { signal });
    try {
      const result = await writeDatabase(client, plan, output, options, progress);
      // `attempt` verified the file while its fsync ran.
      await installRestored(temp, output, { ...options, verify: undefined });
      progress.phase("done", result.bytesDownloaded, result.bytesDownloaded);
      return result;
    } catch (err) {
      await rm(temp, { force: true });
      if (replans < MAX_REPLANS && isReplicaError(err, "not-found") && !signal?.aborted) continue;
      throw err;
    }
  }
}

/**
 * Writes the plan into the temp file by the run path when its base is a v3-block file,
 * else (or when the run path meets a page it cannot cut) by one merge; then the checks
 * common to both. Returns the result (the file is fsynced and closed).
 */
async function writeDatabase(client: ReplicaClient, plan: RestorePlan, output: string, options: RestoreOptions, progress: Progress): Promise<RestoreResult> {
  try {
    return await attempt(client, plan, output, options, progress, true);
  } catch (err) {
    if (!(err instanceof CannotCut)) throw err;
    return attempt(client, plan, output, options, progress, false);
  }
}

/** The run path met a file it cannot cut into runs (an LZ4-framed page in a v3-block file): start over by merging. */
class CannotCut extends Error {}

async function attempt(client: ReplicaClient, plan: RestorePlan, output: string, options: RestoreOptions, progress: Progress, runs: boolean): Promise<RestoreResult> {
  const { signal } = options;
  const bytesTotal = plan.files.reduce((n, f) => n + f.size, 0);
  let downloaded = 0;
  progress.phase("download", 0, bytesTotal, plan.files.length);
  // A local disk reads far faster than a restore decodes: ranges fetched ahead there cost
  // memory and buy nothing (object stores are another matter: one GET stream is slow).
  const local = client.store.kind === "file" && options.rangeSize === undefined;
  const scheduler = new RangeScheduler(client, {
    parallelism: options.parallelism ?? DEFAULT_PARALLELISM,
    rangeSize: options.rangeSize ?? (local ? LOCAL_RANGE : REMOTE_RANGE),
    maxBufferedBytes: local ? LOCAL_AHEAD : undefined,
    retries: options.retries,
    retryDelay: options.retryDelay,
    signal,
    onBytes: (n) => progress.download((downloaded += n)),
  });
  const base = plan.files[0]!;
  const baseStream = scheduler.open(base);
  const inputs = new MergeInputs(client, plan.files, scheduler, signal, 1);
  let file: PageFile | undefined;
  let cutting = false;
  try {
    const { head, source } = await peekStream(baseStream, DETECT_SIZE);
    // The page size of the file written: the base's (the merge checks every other file against it).
    let headerPageSize = 4096;
    try {
      headerPageSize = decodeHeader(head.subarray(0, HEADER_SIZE), { strict: false }).pageSize;
    } catch {
      // A short or bad header: the base's reader reports it, placed in its file.
    }
    file = await PageFile.create(output, { pageSize: headerPageSize }).catch((err: unknown) => {
      throw ioError(err, `cannot create ${output}.tmp`);
    });
    const workers = runs ? runWorkers(head, base, options.workers) : undefined;
    let db: WrittenDatabase;
    if (workers !== undefined) {
      cutting = true;
      const runBytes = Math.min(RUN_MAX, Math.max(RUN_MIN, Math.ceil(base.size / 32)));
      db = await writeByRuns({ plan, inputs, base: source, file, workers, runBytes, pageSize: headerPageSize, signal });
    } else {
      db = await writeByMerge(plan, inputs, new LtxReader(source, { file: fileLabel(base), signal }), file, signal);
    }
    const { pageSize, commit, sum, summaries } = db;
    progress.phase("verify", downloaded, bytesTotal);
    await file.truncate(commit);
    const last = summaries[summaries.length - 1]!;
    const tracked = tracksChecksums(last.header);
    const postApplyChecksum = tracked ? last.trailer.postApplyChecksum : undefined;
    if (postApplyChecksum !== undefined && postApplyChecksum !== sum.value) {
      throw new ReplicaError(
        "corrupt",
        `the restored database's checksum ${formatChecksum(sum.value)} does not match the post-apply checksum ${formatChecksum(postApplyChecksum)} of ${fileLabel(plan.files[plan.files.length - 1]!)} at TXID ${plan.txid}`,
      );
    }
    // The fsync runs on libuv's pool while `verify` (SQLite's check, synchronous on this
    // thread) reads the pages back: both must end before the file may be put in place.
    const [synced, verified] = await Promise.allSettled([file.sync(), verifyRestored(`${output}.tmp`, options.verify)]);
    if (synced.status === "rejected") throw synced.reason;
    if (verified.status === "rejected") throw verified.reason;
    return {
      txid: plan.txid,
      timestamp: plan.timestamp,
      pageSize,
      pageCount: commit,
      bytes: commit * pageSize,
      files: plan.files.length,
      bytesDownloaded: downloaded,
      postApplyChecksum,
      databaseChecksum: sum.value,
      checksumVerified: postApplyChecksum !== undefined,
      plan,
    };
  } catch (err) {
    if (cutting && isLtxError(err) && err.code === "unsupported" && err.file === fileLabel(base)) throw new CannotCut(err.message);
    throw isPageFileError(err) ? ioError(err, "") : inputs.error(err);
  } finally {
    scheduler.close();
    await file?.close();
  }
}

/**
 * Worker threads for the run path, or undefined to merge: the run path needs a v3-block
 * base; without `requested`, threads only pay off for a large base on several cores.
 */
function runWorkers(head: Uint8Array, base: LtxFileInfo, requested: number | undefined): number | undefined {
  if (head.length < HEADER_SIZE || detectFormat(head, base.size) !== "v3-block") return undefined;
  if (requested !== undefined) return requested;
  // One core stays with this thread, which reads, cuts runs, writes and checks; the others
  // decode. On two cores a worker and this thread contend with each other (and with the
  // S3 server or the disk): measured on the 2-vCPU VM, 200 MB from a directory, medians of
  // 3 under load 3-5, no worker 1.88 s / 110 MiB, one 2.12 s / 135 MiB, two 2.55 s / 177 MiB.
  const cores = availableParallelism();
  return base.size < WORKERS_MIN_BASE || cores < MIN_CORES_FOR_WORKERS ? 0 : Math.min(cores - 1, MAX_WORKERS);
}

/** The merge path: ONE k-way merge of every planned file, each merged page written once, in order. */
async function writeByMerge(plan: RestorePlan, inputs: MergeInputs, base: LtxReader, file: PageFile, signal: AbortSignal | undefined): Promise<WrittenDatabase> {
  const merge = await mergeLtx([base, ...inputs.readers], { checksums: false, signal });
  inputs.checkNames(merge.inputHeaders);
  const { pageSize, commit } = merge.header;
  const sum = new DatabaseChecksum();
  const lock = lockPgno(pageSize);
  let expected = 1;
  for await (const page of merge) {
    if (page.pgno !== expected) throw missingPages(plan, expected, page.pgno - 1);
    sum.add(pageChecksum(page.pgno, page.data));
    await file.write(page.pgno, page.data);
    expected = nextPgno(page.pgno, lock);
  }
  if (expected <= commit) throw missingPages(plan, expected, commit);
  await file.flush();
  return { pageSize, commit, sum, summaries: await inputs.checkChecksumChain([await base.finish()]) };
}

/** Progress callbacks: every phase change, and downloads at most every 100 ms. */
class Progress {
  private state: RestoreProgress = { phase: "plan", bytesDone: 0, bytesTotal: 0, files: 0 };
  private last = 0;

  constructor(private readonly callback: ((p: RestoreProgress) => void) | undefined) {}

  phase(phase: RestoreProgress["phase"], bytesDone: number, bytesTotal: number, files = this.state.files): void {
    this.state = { phase, bytesDone, bytesTotal, files };
    this.emit();
  }

  download(bytesDone: number): void {
    this.state.bytesDone = bytesDone;
    const now = Date.now();
    if (now - this.last >= PROGRESS_INTERVAL_MS) this.emit();
  }

  private emit(): void {
    this.last = Date.now();
    this.callback?.({ ...this.state });
  }
}
