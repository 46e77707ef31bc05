/** applyLtx: writes a chain of LTX files into a page store in TXID order, checking each file's place in the chain and the checksums before and after. */
import { DatabaseChecksum, formatChecksum, lockPgno, pageChecksum } from "./checksum.js";
import { LtxReader, type LtxSource } from "./decoder.js";
import { LtxError } from "./errors.js";
import { formatTxid } from "./filename.js";
import type { LtxFormat } from "./format.js";
import { isSnapshot, tracksChecksums, type LtxHeader } from "./header.js";
import type { PageStore } from "./page-store.js";
import type { Pos } from "./pos.js";
import { ZeroPageChecksums } from "./zero-page.js";

/** A file to apply: a reader (named and configured by the caller) or its bytes. */
export type ApplyInput = LtxReader | LtxSource;

/** Options of `applyLtx`. */
export interface ApplyOptions {
  /**
   * The database's position before the first file. Its checksum is trusted (no scan of
   * the database) and the first incremental file must start right after its TXID.
   * Without it, the first incremental file's pre-apply checksum is checked against a
   * checksum computed once from the store.
   */
  pos?: Pos | undefined;
  /** Names of inputs given as bytes, for errors (default `input <i>`). */
  names?: readonly string[] | undefined;
  /** Decoder strictness for inputs given as bytes (default true). */
  strict?: boolean | undefined;
  /** Layout of inputs given as bytes (detected when absent). */
  format?: LtxFormat | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Applies a chain of LTX files, in order, to a database (spec §7): checks TXID
 * contiguity and the pre-apply checksum before each incremental file, writes its
 * pages, truncates to its commit (deletes on commit 0), zeroes the lock page, and
 * checks the post-apply checksum. The database checksum is maintained as pages are
 * replaced (each overwritten page is read once for its old checksum), never by
 * re-reading the database per file. Returns the position after the last file.
 *
 * Each file is verified as it is read, so a file that turns out corrupt leaves the
 * store partially written (as with the reference CLI): verify untrusted files first
 * or apply into a copy.
 */
export async function applyLtx(store: PageStore, inputs: readonly ApplyInput[], options: ApplyOptions = {}): Promise<Pos> {
  if (inputs.length === 0) {
    if (options.pos === undefined) throw new LtxError("invalid-argument", "no files to apply and no starting position");
    return options.pos;
  }
  const state: ChainState = {
    txid: options.pos?.txid,
    checksum: options.pos !== undefined && options.pos.postApplyChecksum !== 0n ? new DatabaseChecksum(options.pos.postApplyChecksum) : undefined,
    pageSize: undefined,
  };
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i]!;
    const reader =
      input instanceof LtxReader
        ? input
        : new LtxReader(input, { file: options.names?.[i] ?? `input ${i}`, strict: options.strict, format: options.format, signal: options.signal });
    try {
      await applyOne(store, reader, state);
    } catch (err) {
      await reader.cancel();
      throw err;
    }
  }
  return { txid: state.txid!, postApplyChecksum: state.checksum!.value };
}

/** What is known about the database between files. */
interface ChainState {
  txid: number | undefined;
  /** The database checksum, once known. */
  checksum: DatabaseChecksum | undefined;
  pageSize: number | undefined;
}

async function applyOne(store: PageStore, reader: LtxReader, state: ChainState): Promise<void> {
  const header = await reader.header();
  const { file } = reader;
  const fail = (code: "non-contiguous" | "pre-apply-checksum-mismatch" | "post-apply-checksum-mismatch" | "page-size-mismatch", message: string) =>
    new LtxError(code, message, { file });
  const { pageSize } = header;
  const size = await store.size();
  const snapshot = isSnapshot(header);
  // A snapshot read strictly rewrites every page 1…commit, so the old content does not matter.
  const fresh = snapshot && reader.strict;
  if (!fresh && (size % pageSize !== 0 || (!snapshot && state.pageSize !== undefined && state.pageSize !== pageSize))) {
    throw fail("page-size-mismatch", `page size ${pageSize} does not fit the database (${size} bytes, page size ${state.pageSize ?? "unknown"})`);
  }
  if (!snapshot && state.txid !== undefined && header.minTXID !== state.txid + 1) {
    throw fail("non-contiguous", `transaction ${formatTxid(header.minTXID)} does not follow ${formatTxid(state.txid)}`);
  }
  const lock = lockPgno(pageSize);
  const known = state.pageSize === pageSize || state.pageSize === undefined ? state.checksum : undefined;
  const sum = fresh ? new DatabaseChecksum() : (known ?? (await scan(store, pageSize)));
  state.pageSize = pageSize;
  if (!snapshot && tracksChecksums(header) && sum.value !== header.preApplyChecksum) {
    throw fail("pre-apply-checksum-mismatch", `pre-apply checksum mismatch: database has ${formatChecksum(sum.value)}, file expects ${formatChecksum(header.preApplyChecksum)}`);
  }

  const oldCommit = fresh ? 0 : size / pageSize;
  // Pages past the old end that the file does not write are zero-filled by the store.
  let zeroFrom = oldCommit + 1;
  let zeros: ZeroPageChecksums | undefined;
  const addZeros = (until: number) => {
    for (; zeroFrom <= until; zeroFrom++) if (zeroFrom !== lock) sum.add((zeros ??= new ZeroPageChecksums(pageSize)).checksum(zeroFrom));
  };
  for (;;) {
    const page = await reader.nextPage();
    if (page === undefined) break;
    if (page.pgno === lock || page.pgno > header.commit) continue; // never part of the database
    if (page.pgno <= oldCommit) {
      sum.remove(pageChecksum(page.pgno, await store.readPage(page.pgno, pageSize)));
    } else {
      addZeros(page.pgno - 1);
      zeroFrom = Math.max(zeroFrom, page.pgno + 1);
    }
    sum.add(pageChecksum(page.pgno, page.data));
    await store.writePage(page.pgno, page.data);
  }
  const { trailer } = await reader.finish();

  await resize(store, header, size, oldCommit, sum, addZeros, lock);
  const after = header.commit === 0 ? new DatabaseChecksum() : sum;
  if (tracksChecksums(header) && after.value !== trailer.postApplyChecksum) {
    throw fail(
      "post-apply-checksum-mismatch",
      `database checksum ${formatChecksum(after.value)} on TXID ${formatTxid(header.maxTXID)} does not match LTX post-apply checksum ${formatChecksum(trailer.postApplyChecksum)}`,
    );
  }
  state.txid = header.maxTXID;
  state.checksum = after;
}

/** Truncates or extends to the file's commit, keeping the checksum in step; commit 0 deletes. */
async function resize(store: PageStore, header: LtxHeader, size: number, oldCommit: number, sum: DatabaseChecksum, addZeros: (until: number) => void, lock: number): Promise<void> {
  const { pageSize, commit } = header;
  if (commit === 0) {
    await store.delete();
    return;
  }
  for (let pgno = commit + 1; pgno <= oldCommit; pgno++) {
    if (pgno !== lock) sum.remove(pageChecksum(pgno, await store.readPage(pgno, pageSize)));
  }
  addZeros(commit);
  if (commit >= lock && (isSnapshot(header) || size < lock * pageSize)) await store.writePage(lock, new Uint8Array(pageSize));
  await store.truncate(commit * pageSize);
}

/** The checksum of the whole database in the store: the one full read, when no position is given. */
async function scan(store: PageStore, pageSize: number): Promise<DatabaseChecksum> {
  const size = await store.size();
  if (size % pageSize !== 0) throw new LtxError("page-size-mismatch", `database size ${size} is not a multiple of the page size ${pageSize}`);
  const sum = new DatabaseChecksum();
  const lock = lockPgno(pageSize);
  for (let pgno = 1; pgno <= size / pageSize; pgno++) {
    if (pgno !== lock) sum.add(pageChecksum(pgno, await store.readPage(pgno, pageSize)));
  }
  return sum;
}
