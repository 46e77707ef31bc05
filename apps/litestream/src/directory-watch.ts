/**
 * `watch: true` of a directory entry: databases that appear under the directory are
 * replicated, deleted (or renamed away) ones are stopped, while `replicate` runs.
 */
import { watch, type FSWatcher } from "node:fs";
import type { Logger } from "@sqlrep/runtime";
import type { DatabaseConfig, DirectoryConfig } from "./config.js";
import { directoryDatabase, scanDirectory } from "./directory-scan.js";

/** What a watch adds databases to and removes them from. */
export interface DirectoryTarget {
  add(db: DatabaseConfig): Promise<unknown>;
  remove(path: string): Promise<unknown>;
}

/** Events within this long of each other are one rescan (a database is created in several writes). */
const DEBOUNCE_MS = 250;
/** A rescan this often whatever the events say (an event lost, a file system without them). */
const POLL_MS = 5000;

/**
 * Watches one directory entry (recursively when the entry is): each burst of file-system
 * events, and every {@link POLL_MS} anyway, rescans it and adds or removes the difference.
 * A file counts once it has SQLite's header; one that cannot be replicated yet (not in
 * WAL mode) is waited for by the engine.
 */
export class DirectoryWatch {
  private readonly known: Set<string>;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private readonly poll: NodeJS.Timeout;
  private work: Promise<void> = Promise.resolve();
  private closed = false;

  /**
   * `initial`: the databases this entry found at start; `listed`: databases the config
   * lists by path, never added or removed by the watch even when they are in the directory.
   */
  constructor(
    private readonly entry: DirectoryConfig,
    initial: readonly string[],
    private readonly listed: ReadonlySet<string>,
    private readonly target: DirectoryTarget,
    private readonly logger: Logger,
  ) {
    this.known = new Set(initial);
    try {
      this.watcher = watch(entry.path, { recursive: entry.directory.recursive }, () => this.schedule());
      this.watcher.on("error", (err) => this.logger.warn("directory watch failed; rescanning every 5s", { dir: entry.path, error: err.message }));
    } catch (err) {
      this.logger.warn("cannot watch directory; rescanning every 5s", { dir: entry.path, error: (err as Error).message });
    }
    this.poll = setInterval(() => this.schedule(0), POLL_MS);
    this.poll.unref();
    this.logger.info("watching directory for databases", { dir: entry.path, pattern: entry.directory.pattern, recursive: entry.directory.recursive });
    this.schedule(0); // what appeared between the first scan and the watch
  }

  /** Stops watching; resolves once a rescan under way has finished. */
  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    clearTimeout(this.debounce);
    clearInterval(this.poll);
    await this.work;
  }

  private schedule(delay = DEBOUNCE_MS): void {
    if (this.closed || (this.debounce !== undefined && delay > 0)) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.work = this.work.then(() => this.rescan());
    }, delay);
  }

  private async rescan(): Promise<void> {
    if (this.closed) return;
    let found: Set<string>;
    try {
      found = new Set(scanDirectory(this.entry).filter((p) => !this.listed.has(p)));
    } catch (err) {
      this.logger.warn("cannot scan directory", { dir: this.entry.path, error: (err as Error).message });
      return;
    }
    for (const path of this.known) {
      if (found.has(path) || this.closed) continue;
      this.known.delete(path);
      try {
        await this.target.remove(path);
        this.logger.info("removed database from replication", { db: path, dir: this.entry.path });
      } catch (err) {
        this.logger.error("cannot stop replicating a removed database", { db: path, error: (err as Error).message });
      }
    }
    for (const path of found) {
      if (this.known.has(path) || this.closed) continue;
      this.known.add(path);
      try {
        // false: already replicated (registered over the control socket, or another entry's).
        if ((await this.target.add(directoryDatabase(this.entry, path))) !== false) this.logger.info("added database to replication", { db: path, dir: this.entry.path });
      } catch (err) {
        this.known.delete(path);
        this.logger.error("cannot replicate a new database", { db: path, error: (err as Error).message });
      }
    }
  }
}
