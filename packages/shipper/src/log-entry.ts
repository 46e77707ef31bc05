/** What the local log names and holds: a position (a TXID and the state after it), an entry, and what a staged change brings. */
import type { WalMark } from "./log-types.js";

/** A database state the log can name: its TXID and what it is. */
export interface LogPosition {
  readonly txid: number;
  /** The database checksum after `txid`. */
  readonly postApply: bigint;
  /** Database size in pages after `txid`. */
  readonly commit: number;
  readonly pageSize: number;
}

/** One entry of the log: one TXID range, one upload. */
export interface LogEntry {
  readonly minTXID: number;
  readonly maxTXID: number;
  /** The database checksum before `minTXID` (0 for a lineage break). */
  readonly preApply: bigint;
  readonly postApply: bigint;
  readonly commit: number;
  readonly pageSize: number;
  /** Milliseconds since the epoch: when the entry's last transaction was seen committed. */
  readonly timestamp: number;
  /** Bytes of its local files (0 for a break). */
  readonly size: number;
  /** Its file (for a lineage break, the marker recording it). */
  readonly file: string;
  /**
   * Set on a lineage break: the state after it does not follow from the one before (a
   * database replaced under the engine, a WAL it lost track of). There is no file; a
   * replica before it can only continue with a snapshot. The text says why.
   */
  readonly lineage?: string | undefined;
  readonly wal?: WalMark | undefined;
  /** SQLite transactions in it, when the feeder said (this process's entries only). */
  readonly transactions?: number | undefined;
}

/** What a staged change needs beyond its pages: the header fields the log does not decide. */
export interface AppendInit {
  readonly pageSize: number;
  readonly commit: number;
  readonly timestamp: number;
  /** Where the new state is in the feeder's WAL, kept in the file's header (WAL fields). */
  readonly wal?: { readonly offset: number; readonly size: number; readonly salt1: number; readonly salt2: number } | undefined;
  /** SQLite transactions the change holds (reported when a shutdown leaves some unshipped). */
  readonly transactions?: number | undefined;
}
