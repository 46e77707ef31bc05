/** Reads SQLite's WAL-index header in the `-shm` without SQLite or locks, to know the committed WAL end and how much a checkpoint copied. */
import { endianness } from "node:os";
import type { FileSource } from "./file-source.js";

/** What SQLite's WAL index (the `-shm` file) says about the WAL right now. */
export interface WalIndexState {
  /** Frames of the current WAL that belong to committed transactions. */
  readonly mxFrame: number;
  /** Frames of it already copied into the database file by a checkpoint (ours or anyone's). */
  readonly nBackfill: number;
}

/** Two copies of the 48-byte header, then the checkpoint information (nBackfill first). */
const HEADER_BYTES = 48;
const INDEX_BYTES = 2 * HEADER_BYTES + 4;
const WAL_INDEX_VERSION = 3007000;
/** A read racing a commit can see the two header copies differ; SQLite's readers retry too. */
const TORN_RETRIES = 5;
const littleEndian = endianness() === "LE";

/**
 * Reads the WAL-index header: the current WAL's committed end and how much of it has
 * been checkpointed, without SQLite and without locks (the same bytes SQLite's own
 * readers look at first; integers in the host's byte order). Undefined when there is no
 * usable index (no `-shm`, not initialised, or torn on every try): callers then skip
 * what depended on it and ask again later.
 */
export function readWalIndex(shm: FileSource): WalIndexState | undefined {
  shm.refresh();
  for (let attempt = 0; attempt < TORN_RETRIES; attempt++) {
    const bytes = shm.readAt(0, INDEX_BYTES);
    if (bytes.length < INDEX_BYTES) return undefined;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (!sameHeaders(bytes)) continue;
    if (view.getUint32(0, littleEndian) !== WAL_INDEX_VERSION || bytes[12] !== 1) return undefined;
    return {
      mxFrame: view.getUint32(16, littleEndian),
      nBackfill: view.getUint32(2 * HEADER_BYTES, littleEndian),
    };
  }
  return undefined;
}

/** The index's frames not yet in the database file (0 while a restart is half-written). */
export function framesToCheckpoint(index: WalIndexState): number {
  return Math.max(0, index.mxFrame - index.nBackfill);
}

function sameHeaders(bytes: Uint8Array): boolean {
  for (let i = 0; i < HEADER_BYTES; i++) if (bytes[i] !== bytes[HEADER_BYTES + i]) return false;
  return true;
}
