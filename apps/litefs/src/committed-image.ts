// A database's committed state read from its real files under the mount (database file,
// hot journal, WAL), checked against the engine's checksum: what snapshots, exports and
// verification read (the engine's DatabaseIo.openView) while SQLite keeps writing.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { ClusterError, type PageView, type ViewState } from "@sqlrep/cluster";
import { CHECKSUM_FLAG, formatChecksum, formatTxid, lockPgno, pageChecksum } from "@sqlrep/ltx";
import { readJournalSync, scanWalSync, type WalTransaction } from "@sqlrep/wal";

/** The real files of a database under `data.dir`. */
export interface ImageFiles {
  readonly database: string;
  readonly journal: string;
  readonly wal: string;
}

/** Where the last captured WAL transaction ended (what the engine has), if this process saw one. */
export interface WalMark {
  readonly salt1: number;
  readonly salt2: number;
  /** Byte offset just past its commit frame. */
  readonly end: number;
}

/**
 * Reads the committed image of `state` (pages 1…commit). The engine calls this holding
 * the database's lock, so no commit completes meanwhile; SQLite may still be in the
 * middle of a transaction, which is why the hot journal's original pages are laid over
 * the file (rollback modes) and only captured WAL frames are laid over it (WAL mode).
 * The result must add up to `state.checksum`, or it is refused (never a torn snapshot).
 * Without a mark (after a restart) every committed WAL prefix is tried, newest first.
 */
export function readCommittedImage(name: string, files: ImageFiles, state: ViewState, mark: WalMark | undefined): Uint8Array {
  const { pageSize, commit } = state;
  const base = new Uint8Array(commit * pageSize);
  readInto(files.database, base);
  overlayJournal(files.journal, base, pageSize, commit);
  if (state.txid === 0) return base;
  const wal = existsSync(files.wal) ? readFileSync(files.wal) : undefined;
  const scan = wal !== undefined && wal.length >= 32 ? safeScan(wal) : undefined;
  const candidates: (readonly WalTransaction[])[] = [];
  if (scan !== undefined && scan.transactions.length > 0) {
    const txs = scan.transactions;
    const marked = mark === undefined ? -1 : txs.findIndex((t) => t.end === mark.end && t.position.salt1 === mark.salt1 && t.position.salt2 === mark.salt2);
    if (marked >= 0) candidates.push(txs.slice(0, marked + 1));
    else if (mark !== undefined && (mark.salt1 !== scan.header.salt1 || mark.salt2 !== scan.header.salt2)) candidates.push([]);
    for (let n = txs.length; n >= 0; n--) candidates.push(txs.slice(0, n));
  } else candidates.push([]);
  for (const txs of candidates) {
    const image = txs.length === 0 ? base : base.slice();
    for (const tx of txs) {
      for (const [pgno, offset] of tx.pages) {
        if (pgno > commit) continue;
        image.set(wal!.subarray(offset + 24, offset + 24 + pageSize), (pgno - 1) * pageSize);
      }
    }
    if (imageChecksum(image, pageSize, commit) === state.checksum) return image;
  }
  throw new ClusterError(
    "corrupt",
    `${name}: the files under ${files.database} do not add up to TXID ${formatTxid(state.txid)} (checksum ${formatChecksum(state.checksum)}) in any committed state; not reading it`,
    { db: name, file: files.database, retryable: true },
  );
}

/** The database checksum of pages 1…commit of `image` (lock page skipped). */
export function imageChecksum(image: Uint8Array, pageSize: number, commit: number): bigint {
  const lock = lockPgno(pageSize);
  let xor = 0n;
  for (let pgno = 1; pgno <= commit; pgno++) {
    if (pgno === lock) continue;
    xor ^= pageChecksum(pgno, image.subarray((pgno - 1) * pageSize, pgno * pageSize));
  }
  return CHECKSUM_FLAG | (xor & ~CHECKSUM_FLAG);
}

/** A view over an image held in memory. */
export function memoryView(state: ViewState, image: Uint8Array): PageView {
  let released = false;
  return {
    txid: state.txid,
    checksum: state.checksum,
    pageSize: state.pageSize,
    commit: state.commit,
    timestamp: state.timestamp,
    read(first, count, into) {
      if (released) throw new ClusterError("closed", "the view was released");
      const from = (first - 1) * state.pageSize;
      into.set(image.subarray(from, from + count * state.pageSize));
    },
    release() {
      released = true;
    },
  };
}

function readInto(file: string, into: Uint8Array): void {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new ClusterError("io", `cannot open ${file}: ${(err as Error).message}`, { cause: err, file });
  }
  try {
    const size = Math.min(fstatSync(fd).size, into.length);
    let at = 0;
    while (at < size) {
      const n = readSync(fd, into, at, size - at, at);
      if (n === 0) break;
      at += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** Lays a hot journal's original pages (first record of each page wins) over the image. */
function overlayJournal(file: string, image: Uint8Array, pageSize: number, commit: number): void {
  if (!existsSync(file)) return;
  const bytes = readFileSync(file);
  if (bytes.length < 28) return;
  const seen = new Set<number>();
  try {
    for (const record of readJournalSync(bytes)) {
      if (record.data.length !== pageSize || record.pgno > commit || seen.has(record.pgno)) continue;
      seen.add(record.pgno);
      image.set(record.data, (record.pgno - 1) * pageSize);
    }
  } catch {
    // not a hot journal (zeroed header of PERSIST, a torn header): nothing to roll back
  }
}

function safeScan(wal: Uint8Array) {
  try {
    return scanWalSync(wal);
  } catch {
    return undefined;
  }
}
