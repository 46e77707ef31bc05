/**
 * Fresh restores for a follow: the newest state of the replicas restored into a file
 * prepared for following (page 1 in the rollback-journal format), and — on a gap or a new
 * lineage — that state written into the followed copy in place, as one batch.
 */
import { open, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { DatabaseChecksum, lockPgno, pageChecksum } from "@sqlrep/ltx";
import { replaceFile } from "@sqlrep/page-file";
import { describeReplicaClient, restoreNewest, type RestoreSource, type RestoreSummary } from "@sqlrep/replica";
import { decodeDatabaseHeader, DATABASE_HEADER_SIZE } from "@sqlrep/wal";
import { FollowError } from "./errors.js";
import { physicalPage1, type FollowedFile } from "./followed-file.js";
import { silentFollowLogger, type FollowOptions, type FollowStart } from "./options.js";

/**
 * The restore's `verify` hook for a followed copy: keeps the replica's page 1 (in
 * `capture`), switches the file to the rollback-journal format before anyone can open
 * it, then runs `check` (SQLite's own check, when given).
 */
export function followVerify(capture: { page1?: Uint8Array }, check?: ((path: string) => Promise<void>) | undefined): (temp: string) => Promise<void> {
  return async (temp) => {
    const fd = await open(temp, "r+");
    try {
      const head = new Uint8Array(DATABASE_HEADER_SIZE);
      await fd.read(head, 0, DATABASE_HEADER_SIZE, 0);
      const { pageSize } = decodeDatabaseHeader(head, temp);
      const page1 = new Uint8Array(pageSize);
      await fd.read(page1, 0, pageSize, 0);
      capture.page1 = page1;
      const pages = (await fd.stat()).size / pageSize;
      await fd.write(physicalPage1(page1, (Math.random() * 0xffffffff) >>> 0, pages), 0, pageSize, 0);
      await fd.sync();
    } finally {
      await fd.close();
    }
    if (check) await check(temp);
  };
}

/** Options of {@link restoreFollowable}. */
export type FreshRestoreOptions = Pick<FollowOptions, "replicas" | "parallelism" | "check" | "logger" | "signal">;

/** A fresh restore ready to be followed: the replica it came from, the restore's summary, and where a follow starts. */
export interface FollowableRestore {
  source: RestoreSource;
  summary: RestoreSummary;
  /** The replica's page 1 for that state (the file's own has the rollback-journal format). */
  page1: Uint8Array;
  start: FollowStart;
}

/**
 * Restores the newest state of `replicas` into `output` (which must not exist), prepared
 * for following. No backup is a `gap`; a v0.3 generation, which has no LTX files to
 * follow, is `bad-file` (the file is restored all the same: the caller removes it).
 */
export async function restoreFollowable(output: string, options: FreshRestoreOptions): Promise<FollowableRestore> {
  const logger = options.logger ?? silentFollowLogger;
  const capture: { page1?: Uint8Array } = {};
  const restored = await restoreNewest(
    options.replicas,
    { target: {} },
    {
      output,
      parallelism: options.parallelism,
      signal: options.signal,
      verify: followVerify(capture, options.check),
      onSkip: (source, error) => logger.warn(`skipping ${source.description}: ${error instanceof Error ? error.message : String(error)}`),
    },
  );
  if (!restored) throw new FollowError("gap", `no backups left in ${options.replicas.map(describeReplicaClient).join(", ")}`);
  const { source, summary } = restored;
  if (summary.legacy) throw new FollowError("bad-file", `the newest backup of ${source.description} is a Litestream v0.3 generation, which cannot be followed`, { file: output });
  const page1 = capture.page1!;
  return { source, summary, page1, start: { replica: source.name, txid: summary.txid, header: page1.subarray(0, DATABASE_HEADER_SIZE), resumed: false } };
}

/** A file beside `output` (same directory, so a rename is atomic) for a restore to go to first. */
export function besideOutput(output: string): { path: string; discard(): Promise<void> } {
  const path = join(dirname(output), `.${basename(output)}.sqlrep-follow-${process.pid}`);
  return {
    path,
    async discard() {
      await Promise.all(["", ".tmp", "-wal", "-shm", "-journal"].map((suffix) => rm(path + suffix, { force: true })));
    },
  };
}

/**
 * Restores a new copy into `output` through a file beside it, renamed into place (and the
 * directory synced) only once it can be followed.
 */
export async function restoreNewCopy(output: string, options: FreshRestoreOptions): Promise<FollowableRestore> {
  const temp = besideOutput(output);
  try {
    const restored = await restoreFollowable(temp.path, options);
    await replaceFile(temp.path, output);
    return restored;
  } finally {
    await temp.discard();
  }
}

/**
 * A fresh restore beside the copy, then written into it as one batch (only the pages
 * that differ), so readers keep their open file and see the new state atomically.
 */
export async function restoreInPlace(file: FollowedFile, options: FollowOptions): Promise<{ replica: string; txid: number; checksum: bigint }> {
  const temp = besideOutput(options.output);
  try {
    const restored = await restoreFollowable(temp.path, options);
    const { page1 } = restored;
    const pageSize = page1.length;
    if (pageSize !== file.pageSize)
      throw new FollowError("bad-file", `the fresh restore's page size ${pageSize} differs from the copy's ${file.pageSize}`, { file: options.output });
    const staged = await file.stage();
    const sum = new DatabaseChecksum();
    const lock = lockPgno(pageSize);
    const source = await open(temp.path, "r");
    try {
      const pages = (await source.stat()).size / pageSize;
      const current = (await file.size()) / pageSize;
      for (let pgno = 1; pgno <= pages; pgno++) {
        const data = pgno === 1 ? page1 : new Uint8Array(pageSize);
        if (pgno !== 1) await source.read(data, 0, pageSize, (pgno - 1) * pageSize);
        if (pgno !== lock) sum.add(pageChecksum(pgno, data));
        if (pgno > current || !sameBytes(data, await file.readLogicalPage(pgno, pageSize))) await staged.writePage(pgno, data);
      }
      await staged.truncate(pages * pageSize);
    } finally {
      await source.close();
    }
    await file.commit(staged, options.signal);
    return { replica: restored.source.name, txid: restored.summary.txid, checksum: sum.value };
  } finally {
    await temp.discard();
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}
