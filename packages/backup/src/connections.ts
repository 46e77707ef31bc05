/**
 * The engine's SQLite connections to one database: two readers that take turns holding
 * the read transaction (so there is never a moment without one), a writer used only to
 * take SQLite's write lock, and a checkpointer. None of them ever waits inside SQLite.
 */
import { statSync } from "node:fs";
import Database from "better-sqlite3";
import { BackupError, describeError } from "./errors.js";

type Connection = Database.Database;

/** What `PRAGMA wal_checkpoint` answers. */
export interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

/** A file's identity: it is the same file only while device and inode stay. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

/** The identity of `path` now, or undefined when it does not exist. */
export function fileIdentity(path: string): FileIdentity | undefined {
  try {
    const st = statSync(path);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}

/** Whether two identities name the same file. */
export function sameFile(a: FileIdentity | undefined, b: FileIdentity | undefined): boolean {
  return a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino;
}

/**
 * Opens the connections, checks WAL mode and starts the read transaction. Throws
 * BackupError "not-wal" for a database in rollback-journal mode, "open" when SQLite
 * cannot open it. The identities of the database file and its WAL, as the connections
 * opened them, are kept: a file replaced under them is noticed by comparing.
 */
export class DatabaseConnections {
  readonly pageSize: number;
  /** The database file these connections opened. */
  readonly identity: FileIdentity;
  /** Its WAL, as our read transaction created or found it. */
  readonly walIdentity: FileIdentity | undefined;
  /** Incremented whenever the read transaction is replaced. */
  epoch = 0;
  private readonly readers: [Connection, Connection];
  private active: 0 | 1 = 0;
  private readonly writer: Connection;
  private readonly checkpointer: Connection;
  private readonly readStatements = new Map<Connection, Database.Statement>();

  constructor(
    readonly path: string,
    busyTimeout: number,
  ) {
    const opened: Connection[] = [];
    const connect = (timeout: number): Connection => {
      const c = new Database(path, { fileMustExist: true, timeout });
      opened.push(c);
      c.pragma("wal_autocheckpoint = 0");
      return c;
    };
    try {
      const before = fileIdentity(path);
      const first = connect(busyTimeout);
      const mode = String(first.pragma("journal_mode", { simple: true }));
      if (mode !== "wal") {
        throw new BackupError(
          "not-wal",
          `${path} is in journal mode "${mode}", not WAL: switch it once with \`PRAGMA journal_mode=WAL\` (e.g. \`sqlite3 ${path} "PRAGMA journal_mode=WAL"\`); the setting is persistent`,
          { path },
        );
      }
      this.pageSize = Number(first.pragma("page_size", { simple: true }));
      this.readers = [first, connect(busyTimeout)];
      // The writer and checkpointer never wait inside SQLite (that would block the event
      // loop): waits are polled asynchronously up to busyTimeout.
      this.writer = connect(0);
      this.checkpointer = connect(0);
      this.beginRead(first);
      const identity = fileIdentity(path);
      if (before === undefined || !sameFile(before, identity)) throw new BackupError("open", `${path} was replaced while it was being opened`, { path, retryable: true });
      this.identity = identity!;
      this.walIdentity = fileIdentity(`${path}-wal`);
    } catch (err) {
      for (const c of opened) c.close();
      if (err instanceof BackupError) throw err;
      throw new BackupError("open", `cannot open ${path}: ${describeError(err)}`, { path, cause: err });
    }
  }

  /** Whether the read transaction is open. */
  get readerHeld(): boolean {
    return this.readers[this.active].inTransaction;
  }

  /**
   * Starts a read transaction on the idle reader before ending the held one, so there
   * is never a moment without one: a WAL reset can then only discard frames that were
   * staged before the hand-off (README, "Why a reset loses nothing"). False when SQLite
   * refused the new one (the old one stays).
   */
  handOff(): boolean {
    const next = this.active === 0 ? 1 : 0;
    try {
      this.beginRead(this.readers[next]);
    } catch {
      return false;
    }
    this.endRead();
    this.active = next;
    this.epoch++;
    return true;
  }

  /** Ends the read transaction (our checkpoint, holding the write lock, copies the rest). */
  endRead(): void {
    const conn = this.readers[this.active];
    if (conn.inTransaction) conn.exec("COMMIT");
  }

  /** Opens the read transaction again; throws when SQLite refuses (busy beyond its timeout). */
  reopen(): void {
    this.epoch++;
    this.beginRead(this.readers[this.active]);
  }

  /** BEGIN IMMEDIATE on the writer; false when another connection holds the write lock. */
  tryWriteLock(): boolean {
    try {
      this.writer.exec("BEGIN IMMEDIATE");
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === "SQLITE_BUSY") return false;
      throw err;
    }
  }

  /** Releases the write lock if held. */
  releaseWriteLock(): void {
    if (this.writer.inTransaction) this.writer.exec("ROLLBACK");
  }

  /** `PRAGMA wal_checkpoint(mode)` on the checkpointer (never waits: busy is reported, not waited out). */
  checkpoint(mode: "PASSIVE" | "TRUNCATE"): CheckpointResult {
    const rows = this.checkpointer.pragma(`wal_checkpoint(${mode})`) as CheckpointResult[];
    const row = rows[0];
    if (row === undefined) throw new BackupError("checkpoint", `wal_checkpoint(${mode}) returned nothing`, { path: this.path });
    return row;
  }

  /** Closes every connection (the read transaction ends with them). */
  close(): void {
    this.writer.close();
    this.checkpointer.close();
    const [a, b] = this.active === 0 ? this.readers : [this.readers[1], this.readers[0]];
    b.close();
    if (a.inTransaction) a.exec("COMMIT");
    a.close();
  }

  private beginRead(conn: Connection): void {
    let stmt = this.readStatements.get(conn);
    if (stmt === undefined) {
      stmt = conn.prepare("SELECT count(*) FROM sqlite_master");
      this.readStatements.set(conn, stmt);
    }
    conn.exec("BEGIN");
    try {
      stmt.get();
    } catch (err) {
      conn.exec("ROLLBACK");
      throw err;
    }
  }
}
