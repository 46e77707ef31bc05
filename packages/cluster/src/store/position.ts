// Where a database is: the type shared by the store, the stream and the roles.

/** Where a database is: what `<db>-pos` shows, and the lease epoch of the primary that wrote it. */
export interface DatabasePosition {
  readonly txid: number;
  /** The database checksum after `txid` (flag set); 0n before the first transaction. */
  readonly checksum: bigint;
  /** Milliseconds since the epoch of transaction `txid`. */
  readonly timestamp: number;
  /** The lease epoch of the primary that committed `txid` (0 when unknown). */
  readonly epoch: number;
}
