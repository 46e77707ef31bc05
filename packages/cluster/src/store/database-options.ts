/** The options of opening a database and of a commit, and the changes a database tells its subscribers. */
import type { LogEntry, Logger } from "@sqlrep/shipper";
import type { ClusterError } from "../errors.js";
import type { DatabaseIo } from "./io.js";
import type { DatabasePosition } from "./position.js";

/** Options of {@link Database.open}. */
export interface DatabaseOptions {
  dataDir: string;
  name: string;
  /** The mount's hooks; without them the engine writes the file itself. */
  io?: DatabaseIo | undefined;
  logger?: Logger | undefined;
  /** Bytes of LTX files kept at most (the LtxLog bound, default 1 GiB). */
  maxLogBytes?: number | undefined;
  /** Create the database (empty, TXID 0) when it does not exist. */
  create?: boolean;
}

/** Options of {@link Database.commit}. */
export interface CommitOptions {
  /** The pages are already in the file (a mount: SQLite wrote them); only the log and checksums move. */
  written?: boolean;
  /** fsync the LTX file before resolving (what SQLite's `synchronous` asked for). */
  durable?: boolean;
  /** The transaction's time (default now). */
  timestamp?: number;
  /** The lease epoch it is committed under. */
  epoch?: number;
  /** Runs under the database's lock right before anything is written: throws to refuse (no longer primary). */
  guard?: () => void;
  /** The TXID and checksum the transaction must come to (a forwarded transaction): otherwise nothing is written. */
  expect?: { txid: number; checksum: bigint } | undefined;
}

/** What changed in a database, for subscribers. */
export type DatabaseChange =
  /** A transaction was committed or applied (`entry` its LTX file), or a snapshot restored (no entry). */
  | { type: "position"; position: DatabasePosition; entry: LogEntry | undefined }
  /** The database is refused from now on. */
  | { type: "failed"; error: ClusterError }
  /** A snapshot replaced the database. */
  | { type: "restored"; position: DatabasePosition }
  /** A page about to be overwritten was not what its checksum says: the file should be verified now. */
  | { type: "suspect"; message: string };
