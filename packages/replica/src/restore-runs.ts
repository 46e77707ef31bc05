/**
 * The run path of a restore, taken when the plan's base (its snapshot) is a v3-block
 * file — what Litestream v0.5.16+ and sqlrep write:
 *
 * 1. The base is read in order by an `LtxRunReader`, which checks everything that needs
 *    no decompression and cuts the page frames into runs. Runs are decoded and written
 *    with positional writes on worker threads (or on this thread with `workers: 0`),
 *    each returning its share of the file checksum and its page checksums; the reader
 *    folds them back (file checksum, snapshot post-apply checksum). Snapshot pages past
 *    the restored database's size are checked but not written.
 * 2. Once every run is written, the other files of the plan go through one k-way merge
 *    (newest page wins among them) and their pages are written over the base's: each
 *    batch first reads back the pages it replaces, whose checksums leave the database
 *    checksum as the new pages' enter it. Pages past the base's size must all come from
 *    these files.
 *
 * So every page of the result is checksummed from the bytes written (or read back), as
 * on the merge path; each page of the base is hashed once, for its file checksum and
 * its page checksum together.
 */
import type { PageFile } from "@sqlrep/page-file";
import { checkMergeInputs, DatabaseChecksum, isLtxError, lockPgno, LtxRunReader, mergeLtx, pageChecksum, type LtxDecodeSummary, type LtxHeader, type LtxMerge } from "@sqlrep/ltx";
import type { MergeInputs } from "./inputs.js";
import { fileLabel } from "./listing.js";
import type { RestorePlan } from "./restore-plan.js";
import { decodeRunJob, runPagesFor, type RunJob } from "./restore-run-job.js";
import { RunWorkers, type WorkerOutcome } from "./restore-workers.js";
import { ioError, missingPages, nextPgno } from "./restore-write.js";

/** What the two paths of a restore leave in the temp file, for the final checks. */
export interface WrittenDatabase {
  pageSize: number;
  commit: number;
  /** The database checksum of the pages written. */
  sum: DatabaseChecksum;
  /** Every file of the plan, verified, in plan order (checksum chain included). */
  summaries: LtxDecodeSummary[];
}

export interface RunPathOptions {
  plan: RestorePlan;
  /** Readers of the plan's files after the base (`skip` 1). */
  inputs: MergeInputs;
  /** The base's bytes, in order. */
  base: AsyncIterable<Uint8Array>;
  /** The temp database (its page size is the base's). */
  file: PageFile;
  /** Worker threads (0: decode on this thread). */
  workers: number;
  /** Runs are cut at this many bytes of frames. */
  runBytes: number;
  pageSize: number;
  signal: AbortSignal | undefined;
}

/** Restores through runs of the base (see the module comment). */
export async function writeByRuns(o: RunPathOptions): Promise<WrittenDatabase> {
  const { plan, inputs, signal } = o;
  const label = fileLabel(plan.files[0]!);
  const reader = new LtxRunReader(o.base, { file: label, signal, runBytes: o.runBytes, runPages: runPagesFor(o.pageSize) });
  const header = await reader.header();
  let merge: LtxMerge | undefined;
  let headers: LtxHeader[] = [header];
  if (plan.files.length > 1) {
    merge = await mergeLtx(inputs.readers, { checksums: false, signal });
    headers = [header, ...merge.inputHeaders];
    // The merge checked its own inputs; the base must fit in front of them the same way.
    checkMergeInputs(headers.slice(0, 2), [label, fileLabel(plan.files[1]!)]);
  }
  inputs.checkNames(headers);
  const { pageSize } = header;
  const commit = headers[headers.length - 1]!.commit;
  const sum = new DatabaseChecksum().add(await writeBase(reader, o, pageSize, commit));
  const baseSummary = await reader.finish();
  if (merge !== undefined) await writeIncrements(merge, o, sum, pageSize, header.commit, commit);
  const summaries = await inputs.checkChecksumChain([baseSummary]);
  return { pageSize, commit, sum, summaries };
}

/** Phase 1: every run of the base decoded and written; resolves with the XOR of the checksums of the pages written. */
async function writeBase(reader: LtxRunReader, o: RunPathOptions, pageSize: number, limit: number): Promise<bigint> {
  const file = fileLabel(o.plan.files[0]!);
  const workers = o.workers > 0 ? new RunWorkers(o.workers) : undefined;
  const decode = workers ? (job: RunJob) => workers.run(job, o.file.fd) : inline(o, pageSize);
  // Two runs per worker: one decoding, one queued behind it (memory: their bytes). On this
  // thread one at a time: its writes land in the page cache in about a millisecond, and a
  // second run would only hold another run and its pages (bench: ~8 MiB of peak RSS).
  const maxInFlight = workers ? 2 * workers.size : 1;
  const inFlight = new Set<Promise<void>>();
  let written = 0n;
  let failure: { error: unknown } | undefined;
  try {
    while (failure === undefined) {
      const run = await reader.nextRun();
      if (run === undefined) break;
      while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
      if (failure !== undefined) break;
      const task = decode({ run: { bytes: run.bytes, offset: run.offset }, pageSize, limit, file }).then(
        ({ outcome, bytes }) => {
          reader.accept(run.index, outcome.share);
          reader.recycle(bytes);
          written ^= outcome.written;
        },
        (error: unknown) => {
          failure ??= { error: isLtxError(error) ? error : ioError(error, `cannot write ${o.file.path}`) };
        },
      );
      inFlight.add(task);
      void task.then(() => inFlight.delete(task));
    }
  } finally {
    // Runs in flight write into the file: they settle before anyone may close it.
    await Promise.all(inFlight);
    workers?.release();
  }
  if (failure !== undefined) throw failure.error;
  return written;
}

/** Runs decoded on this thread, written asynchronously from one of two page buffers. */
function inline(o: RunPathOptions, pageSize: number): (job: RunJob) => Promise<WorkerOutcome> {
  const free: Uint8Array[] = [];
  return async (job) => {
    const out = free.pop() ?? new Uint8Array(runPagesFor(pageSize) * pageSize);
    try {
      const { outcome, writes } = decodeRunJob(job, out);
      await Promise.all(writes.map((w) => o.file.writeAt(w.position, out, w.start, w.end)));
      return { outcome, bytes: job.run.bytes };
    } finally {
      free.push(out);
    }
  };
}

/** Phase 2: the other files' merged pages over the base's, the database checksum moved page by page. */
async function writeIncrements(merge: LtxMerge, o: RunPathOptions, sum: DatabaseChecksum, pageSize: number, baseCommit: number, commit: number): Promise<void> {
  const writer = o.file;
  writer.replace({
    upTo: Math.min(baseCommit, commit),
    old: (pgno, data) => sum.remove(pageChecksum(pgno, data)),
  });
  const lock = lockPgno(pageSize);
  let grow = nextPgno(baseCommit, lock);
  for await (const page of merge) {
    if (page.pgno >= grow) {
      if (page.pgno !== grow) throw missingPages(o.plan, grow, page.pgno - 1);
      grow = nextPgno(grow, lock);
    }
    sum.add(pageChecksum(page.pgno, page.data));
    await writer.write(page.pgno, page.data);
  }
  if (grow <= commit) throw missingPages(o.plan, grow, commit);
  await writer.flush();
  writer.replace(undefined);
}
