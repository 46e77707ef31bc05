/**
 * What the engine asks of whoever else touches a database file: the FUSE mount, which
 * holds SQLite's locks. Without it (an embedding app) the engine owns the files and
 * writes them itself through the page writer.
 */
import type { PageView, ViewState } from "./page-view.js";

/** A transaction's pages for {@link DatabaseIo.apply}, sorted, in one buffer (`pgnos.length × pageSize` bytes). */
export interface ApplyTransaction {
  readonly pageSize: number;
  /** Database size in pages afterwards: the file is cut or extended to it. */
  readonly commit: number;
  readonly pgnos: Uint32Array;
  readonly data: Uint8Array;
}

/**
 * The hooks of a mount (`@sqlrep/fuse`'s `FuseMount.apply` / `withWriteLock` fit them
 * as they are). Every method gets the database's name as the engine knows it.
 */
export interface DatabaseIo {
  /**
   * Writes a transaction a replica received into the database file so that a
   * concurrent reader sees the old state or the new one, never a mix (the mount takes
   * SQLite's write locks, writes, invalidates caches). The engine has checked the
   * pages' checksums against the primary's before it calls this. On the primary it
   * also writes a transaction a replica forwarded under the halt lock (a commit whose
   * pages SQLite did not write through the mount).
   */
  apply(name: string, tx: ApplyTransaction): Promise<void>;
  /**
   * Runs `fn` while no SQLite connection reads or writes the database (a snapshot
   * being copied into the file in place). `fn` does no network I/O.
   */
  withWriteLock<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /**
   * A consistent view of the committed state `state` (the mount holds SQLite's read lock
   * and overlays the WAL of a WAL-mode primary). Without it the engine reads the file
   * itself with copy-on-write, which is consistent only for the writes it makes (a
   * replica's applies, an embedding app's commits).
   */
  openView?(name: string, state: ViewState): Promise<PageView>;
}
