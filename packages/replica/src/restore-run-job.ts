/**
 * One run of a restore's base snapshot (see restore-runs.ts): decode it into a page
 * buffer and say where its pages go. The same code runs on a worker thread (which then
 * writes with positional writes of its own) and on the restoring thread (which writes
 * asynchronously), so the two modes cannot differ in what they check or compute.
 */
import { decodeFrameRun, type FrameRunShare, type LtxFrameRun } from "@sqlrep/ltx";

/** Index of the low 32-bit half of a u64 in this host's memory (0 on little-endian hosts). */
const LOW_FIRST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 0 : 1;

/** What a run needs besides its bytes. */
export interface RunJob {
  run: Pick<LtxFrameRun, "bytes" | "offset">;
  pageSize: number;
  /** The restored database's page count: pages past it are checked but not written. */
  limit: number;
  /** Named in errors. */
  file: string;
}

/** What a decoded run contributes to the restore. */
export interface RunOutcome {
  /** For the reader's file and post-apply checksums. */
  share: FrameRunShare;
  /** XOR of the checksums of the pages written (those up to `limit`). */
  written: bigint;
  pages: number;
}

/** A positional write of `out[start, end)` at `position` of the database file. */
export interface PageWrite {
  start: number;
  end: number;
  position: number;
}

/** Decodes `job` into `out` (room for the run's pages); returns its outcome and the writes that put its pages in place. */
export function decodeRunJob(job: RunJob, out: Uint8Array): { outcome: RunOutcome; writes: PageWrite[] } {
  const { pageSize, limit } = job;
  const result = decodeFrameRun(job.run, { pageSize, out, file: job.file });
  // XORs kept as 32-bit halves: a BigInt per page per sum was garbage the GC had to chase.
  const halves = new Uint32Array(result.checksums.buffer, result.checksums.byteOffset, 2 * result.pages);
  let allLo = 0;
  let allHi = 0;
  let writtenLo = 0;
  let writtenHi = 0;
  const writes: PageWrite[] = [];
  let last: PageWrite | undefined;
  let lastPgno = -1;
  for (let i = 0; i < result.pages; i++) {
    const pgno = result.pgnos[i]!;
    const lo = halves[2 * i + LOW_FIRST]!;
    const hi = halves[2 * i + 1 - LOW_FIRST]!;
    allLo ^= lo;
    allHi ^= hi;
    if (pgno > limit) continue;
    writtenLo ^= lo;
    writtenHi ^= hi;
    const start = i * pageSize;
    // Consecutive pages are consecutive in both the buffer and the file: one write.
    if (last !== undefined && pgno === lastPgno + 1 && last.end === start) last.end = start + pageSize;
    else writes.push((last = { start, end: start + pageSize, position: (pgno - 1) * pageSize }));
    lastPgno = pgno;
  }
  const all = join(allLo, allHi);
  const written = join(writtenLo, writtenHi);
  return { outcome: { share: { crc: result.crc, length: result.length, pageSum: all }, written, pages: result.pages }, writes };
}

/** Bytes of page output a run may need: what `runPages` allows at this page size. */
export function runPagesFor(pageSize: number): number {
  return Math.max(1, Math.floor(RUN_OUTPUT / pageSize));
}

/** Decoded bytes per run (the output buffer of a worker). */
const RUN_OUTPUT = 2 * 1024 * 1024;

function join(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
