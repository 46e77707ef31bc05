// What SQLite reads and what the replica holds, as the timeline hands them out: a
// version (one readable state), the replica's position, and what a poll merged.
import { tracksChecksums } from "@sqlrep/ltx";
import type { LtxFileInfo } from "@sqlrep/replica";
import type { LtxFile } from "./file-table.js";
import type { VersionIndex } from "./version-index.js";

/** One state of the database that SQLite can read. */
export interface Version {
  readonly index: VersionIndex;
  readonly seq: number;
  /** The change counter SQLite sees in the header: it changes exactly when the content does. */
  readonly counter: number;
  /** Database size in pages. */
  readonly commit: number;
  readonly pageSize: number;
  /** The replica TXID this state is (or, with local commits, starts from); 0 for an empty replica. */
  readonly txid: number;
  /** The newest LTX header timestamp in the state; undefined for an empty replica. */
  readonly timestamp: Date | undefined;
  /** The first 100 bytes of page 1 as SQLite reads them. */
  readonly header: Uint8Array;
  /** Whether the state holds local commits not yet in the replica. */
  readonly local: boolean;
}

/** Where the replica is, as far as this timeline has followed it. */
export interface RemoteState {
  txid: number;
  timestamp: Date | undefined;
  /** The database checksum at `txid`, when the replica's files carry one. */
  checksum: bigint | undefined;
}

/** What a poll (or an upload) added to the replica state. */
export interface RemoteStep {
  files: LtxFile[];
  txid: number;
  commit: number;
}

/**
 * Checks remote files before a poll merges them (write mode: files that are not ours while
 * local commits wait are a conflict). Throwing stops the merge.
 */
export type RemoteGuard = (files: readonly LtxFileInfo[]) => void;

/** The replica's position once `file` (the newest merged) is applied. */
export function remoteOf(file: LtxFile): RemoteState {
  const tracks = tracksChecksums(file.header) && file.postApplyChecksum !== 0n;
  return { txid: file.header.maxTXID, timestamp: new Date(file.header.timestamp), checksum: tracks ? file.postApplyChecksum : undefined };
}

/** A TXID as 16 hex digits. */
export function hex(txid: number): string {
  return txid.toString(16).padStart(16, "0");
}
