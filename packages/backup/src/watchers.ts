/**
 * File-system events for the databases of an engine: one `fs.watch` per directory,
 * shared by every database in it, routing `<db>` and `<db>-wal` changes.
 */
import { watch, type FSWatcher } from "node:fs";

/** A file watched by {@link DirectoryWatchers}. */
export interface WatchedFile {
  /** `file` (the database itself: `db`) or `file-wal` (`wal`) changed; `undefined` when the event did not say. */
  onChange(which?: "db" | "wal"): void;
  /** False while changes do not matter (a sync is already scheduled that will read them). */
  wantsEvents(): boolean;
  /** Watching starts again after a pause: look for changes made meanwhile. */
  onResume(): void;
}

interface WatchedDir {
  watcher: FSWatcher | undefined;
  readonly files: Map<string, WatchedFile>;
}

/**
 * One `fs.watch` per directory, shared by every database in it: a change to `<db>` or
 * `<db>-wal` is routed to that database. A directory whose databases all have a sync
 * scheduled anyway is not watched meanwhile (`update`): under sustained writes the
 * WAL changes hundreds of times a second, and each event costs more than the upload
 * it would trigger, which the throttle holds back anyway.
 */
export class DirectoryWatchers {
  private readonly dirs = new Map<string, WatchedDir>();

  constructor(private readonly onError: (dir: string, err: unknown) => void) {}

  /** Routes changes of `file` and `file-wal` in `dir` to `target`. Returns false if the directory cannot be watched. */
  add(dir: string, file: string, target: WatchedFile): boolean {
    let entry = this.dirs.get(dir);
    if (entry === undefined) {
      entry = { watcher: undefined, files: new Map() };
      this.dirs.set(dir, entry);
    }
    entry.files.set(file, target);
    return this.open(dir, entry);
  }

  /** Stops routing changes of `file` in `dir`; the directory's watch closes with its last file. */
  remove(dir: string, file: string): void {
    const entry = this.dirs.get(dir);
    if (entry === undefined) return;
    entry.files.delete(file);
    if (entry.files.size > 0) return;
    entry.watcher?.close();
    this.dirs.delete(dir);
  }

  /** Opens or closes the directory's watcher as its databases' interest changed. */
  update(dir: string): void {
    const entry = this.dirs.get(dir);
    if (entry === undefined) return;
    const wanted = [...entry.files.values()].some((f) => f.wantsEvents());
    if (wanted && entry.watcher === undefined) {
      if (this.open(dir, entry)) for (const f of entry.files.values()) f.onResume();
    } else if (!wanted && entry.watcher !== undefined) {
      entry.watcher.close();
      entry.watcher = undefined;
    }
  }

  close(): void {
    for (const entry of this.dirs.values()) entry.watcher?.close();
    this.dirs.clear();
  }

  private open(dir: string, entry: WatchedDir): boolean {
    if (entry.watcher !== undefined) return true;
    try {
      entry.watcher = watch(dir, { persistent: true }, (_event, name) => this.route(entry.files, name));
    } catch (err) {
      this.onError(dir, err);
      return false;
    }
    entry.watcher.on("error", (err) => this.onError(dir, err));
    return true;
  }

  private route(files: Map<string, WatchedFile>, name: string | Buffer | null): void {
    if (name === null) {
      for (const f of files.values()) f.onChange();
      return;
    }
    // Commits land in the WAL. The database file changes when a checkpoint copies frames
    // into it; another connection's checkpoint may then be waiting for our read
    // transaction to move on, which the resulting (empty) sync lets it do.
    const text = typeof name === "string" ? name : name.toString();
    if (text.endsWith("-wal")) files.get(text.slice(0, -4))?.onChange("wal");
    else files.get(text)?.onChange("db");
  }
}
