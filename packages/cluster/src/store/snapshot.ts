/**
 * Snapshots: a whole database state as one LTX file (TXID 1…N, every page), encoded
 * from a consistent view on the primary, and restored on a replica — received into a
 * temp file first (no lock is held while bytes arrive), verified, then put in place in
 * one step under the database's lock (and the mount's write lock).
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { formatChecksum, formatTxid, isLtxError, lockPgno, LtxEncoder, LtxReader, pageChecksum } from "@sqlrep/ltx";
import { PageFile, replaceFile } from "@sqlrep/page-file";
import { ClusterError, isClusterError } from "../errors.js";
import { ChecksumTable } from "./checksum-table.js";
import type { Database, DatabasePosition } from "./database.js";
import type { PageView } from "./page-view.js";
import { writePosition } from "./position-file.js";
import { joinChunks } from "../util/chunks.js";

/** Pages read from a view per call while encoding. */
const READ_PAGES = 256;

/**
 * The LTX bytes of a snapshot of `view` (released at the end either way). The encoder
 * checks that the pages add up to the view's checksum before it writes the trailer: a
 * database file that is not its position never leaves as a snapshot.
 */
export async function* encodeSnapshot(view: PageView, options: { signal?: AbortSignal; file?: string } = {}): AsyncGenerator<Uint8Array> {
  try {
    const encoder = new LtxEncoder(
      { pageSize: view.pageSize, commit: view.commit, minTXID: 1, maxTXID: Math.max(1, view.txid), timestamp: view.timestamp },
      { file: options.file },
    );
    const lock = lockPgno(view.pageSize);
    const buf = new Uint8Array(READ_PAGES * view.pageSize);
    for (let first = 1; first <= view.commit; first += READ_PAGES) {
      if (options.signal?.aborted) throw new ClusterError("aborted", `snapshot of ${options.file ?? "a database"} aborted`, { cause: options.signal.reason });
      const count = Math.min(READ_PAGES, view.commit - first + 1);
      view.read(first, count, buf);
      const out: Uint8Array[] = [];
      for (let i = 0; i < count; i++) {
        const pgno = first + i;
        if (pgno === lock) continue;
        out.push(...encoder.writePage(pgno, buf.subarray(i * view.pageSize, (i + 1) * view.pageSize)));
      }
      if (out.length > 0) yield joinChunks(out);
    }
    let trailer: Uint8Array[];
    try {
      trailer = encoder.finish(view.commit === 0 ? undefined : view.checksum);
    } catch (err) {
      if (isLtxError(err) && err.code === "post-apply-checksum-mismatch") {
        throw new ClusterError("verify-failed", `snapshot of ${options.file ?? "a database"} at TXID ${formatTxid(view.txid)}: ${err.message}`, { cause: err, file: options.file });
      }
      throw err;
    }
    yield joinChunks(trailer);
  } finally {
    view.release();
  }
}

/** Options of {@link restoreSnapshot}. */
export interface RestoreOptions {
  /** The lease epoch of the primary that sent it. */
  epoch: number;
  signal?: AbortSignal | undefined;
  /**
   * Called under the database's lock once the snapshot is verified, before anything
   * local changes: the replica keeps what the snapshot is about to replace (its
   * divergent LTX files). Gets the snapshot's position.
   */
  beforeReplace?: ((incoming: DatabasePosition) => Promise<void> | void) | undefined;
}

/**
 * Receives a snapshot (the bytes of one LTX file with TXID 1…N) into `<database>.tmp`,
 * verifying every checksum as it arrives, then replaces the database with it: renamed
 * over the file when the engine owns it, copied in place under the mount's write lock
 * otherwise. The log starts over at N, the checksum table is the snapshot's pages', the
 * position N. A crash in between leaves position 0 (a replica then asks for a snapshot
 * again), never a half-replaced database at a position.
 */
export async function restoreSnapshot(db: Database, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: RestoreOptions): Promise<DatabasePosition> {
  const file = `${db.files.database}.tmp`;
  const reader = new LtxReader(source, { file: `snapshot of ${db.name}`, signal: options.signal });
  const header = await reader.header();
  if (header.minTXID !== 1) {
    await reader.cancel();
    throw new ClusterError("protocol", `${db.name}: expected a snapshot, got LTX ${formatTxid(header.minTXID)}-${formatTxid(header.maxTXID)}`, { db: db.name });
  }
  const sums = new BigUint64Array(header.commit);
  const out = await PageFile.create(db.files.database, { pageSize: header.pageSize });
  let summary: Awaited<ReturnType<typeof reader.finish>>;
  try {
    for await (const page of reader) {
      sums[page.pgno - 1] = pageChecksum(page.pgno, page.data);
      await out.write(page.pgno, page.data);
    }
    summary = await reader.finish();
    await out.truncate(header.commit);
    await out.sync();
    await out.close();
  } catch (err) {
    await out.discard();
    throw err;
  }
  const post = summary.trailer.postApplyChecksum;
  const position: DatabasePosition = { txid: header.maxTXID, checksum: post, timestamp: header.timestamp, epoch: options.epoch };
  try {
    return await db.exclusive(async () => {
      await options.beforeReplace?.(position);
      // From here until the end a crash leaves "nothing durable": the next open starts empty.
      writePosition(db.files.pos, { txid: 0, checksum: 0n, timestamp: 0, epoch: options.epoch, pageSize: header.pageSize, commit: 0 });
      const io = db.mountIo;
      if (io === undefined) {
        await db.detachFile();
        await replaceFile(file, db.files.database);
      } else {
        await io.withWriteLock(db.name, async () => copyInPlaceSync(file, db.files.database, header.pageSize, header.commit));
        rmSync(file, { force: true });
      }
      rmSync(db.files.checksums, { force: true });
      const table = ChecksumTable.open(db.files.checksums, header.pageSize);
      const actual = table.replaceAll(sums, header.commit);
      if (actual !== post)
        throw new ClusterError("corrupt", `${db.name}: snapshot pages add up to ${formatChecksum(actual)}, its trailer says ${formatChecksum(post)}`, { db: db.name });
      table.sync();
      db.log.reset({ txid: header.maxTXID, postApply: post, commit: header.commit, pageSize: header.pageSize });
      db.recoveryAccess().history.reset(header.maxTXID, post);
      writePosition(db.files.pos, { ...position, pageSize: header.pageSize, commit: header.commit });
      db.restored(table, position, header.pageSize);
      return position;
    });
  } catch (err) {
    rmSync(file, { force: true });
    if (isClusterError(err)) throw err;
    throw new ClusterError("io", `${db.name}: replacing the database with the snapshot failed: ${(err as Error).message}`, { cause: err, db: db.name, file: db.files.database });
  }
}

/** Copies `pages` pages of `from` over `to` in place, cuts `to` to that size, fsyncs it. */
function copyInPlaceSync(from: string, to: string, pageSize: number, pages: number): void {
  const src = openSync(from, "r");
  const dst = openSync(to, "r+");
  try {
    const buf = new Uint8Array(Math.max(pageSize, 1 << 20));
    const total = pages * pageSize;
    for (let at = 0; at < total; ) {
      const n = readSync(src, buf, 0, Math.min(buf.length, total - at), at);
      if (n === 0) break;
      for (let done = 0; done < n; ) done += writeSync(dst, buf, done, n - done, at + done);
      at += n;
    }
    ftruncateSync(dst, total);
    fsyncSync(dst);
  } finally {
    closeSync(src);
    closeSync(dst);
  }
}
