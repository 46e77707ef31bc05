/**
 * The fsyncs of a database's LTX log: the files appended since the last sync, fsynced
 * in batches on the thread pool (a few at a time, one batch at a time), then the log's
 * directory; or one file at once for a commit that must be durable when it returns.
 */
import { fsyncAll, fsyncPath, fsyncPathAsync } from "./fsync.js";

/** LTX files fsynced at once: half of libuv's 4 threads, the rest stay free for reads and writes. */
const LOG_FSYNC_CONCURRENCY = 2;

/** The LTX files of one log directory not yet fsynced. */
export class LogSync {
  /** LTX files appended since the last fsync of the log. */
  private unsyncedLog: string[] = [];
  /** The LTX fsyncs in progress (one batch at a time). */
  private logSyncing: Promise<void> | undefined;

  /** `dir`: the log's directory (`<db>/ltx`). */
  constructor(private readonly dir: string) {}

  /** A file was appended: the next {@link sync} makes it durable. */
  add(file: string): void {
    this.unsyncedLog.push(file);
  }

  /** Forgets the files not yet synced (the log was replaced by a snapshot). */
  clear(): void {
    this.unsyncedLog = [];
  }

  /** fsyncs `file` and the log's directory now, on the main thread. */
  syncFile(file: string): void {
    fsyncPath(file, true);
    fsyncPath(this.dir);
  }

  /** Resolves once every file added before the call is durable, including files an earlier call is still syncing. */
  async sync(): Promise<void> {
    while (this.logSyncing !== undefined) await this.logSyncing.catch(() => undefined);
    const files = this.unsyncedLog;
    if (files.length === 0) return;
    this.unsyncedLog = [];
    // On the thread pool, a few at a time: one fsync per LTX file on the main thread took
    // most of a busy node's time; all of them at once filled the pool, and the stream's
    // and page writer's reads waited behind a second's worth of fsyncs.
    const run = (async () => {
      await fsyncAll(files, LOG_FSYNC_CONCURRENCY);
      await fsyncPathAsync(this.dir);
    })();
    this.logSyncing = run;
    try {
      await run;
    } catch (err) {
      this.unsyncedLog = [...files, ...this.unsyncedLog];
      throw err;
    } finally {
      if (this.logSyncing === run) this.logSyncing = undefined;
    }
  }
}
