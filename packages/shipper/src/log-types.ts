/** The small types the log and its staging journal share (so the two files do not import each other). */

/** Where the state after an entry is in the feeder's WAL (the backup engine's resume hint). */
export interface WalMark {
  /** Offset right after the entry's last commit frame. */
  readonly offset: number;
  readonly salt1: number;
  readonly salt2: number;
}

/** A page to write. */
export interface LogPage {
  readonly pgno: number;
  readonly data: Uint8Array;
}
