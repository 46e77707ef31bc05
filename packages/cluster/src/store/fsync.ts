/** fsync of a file or directory by path, on the main thread or the thread pool; a missing file is nothing to sync. */
import { closeSync, fsync, fsyncSync, openSync } from "node:fs";
import { open as openFile, type FileHandle } from "node:fs/promises";
import { ClusterError } from "../errors.js";

/** {@link fsyncPath} off the main thread. */
export async function fsyncPathAsync(path: string, write = false): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await openFile(path, write ? "r+" : "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new ClusterError("io", `cannot open ${path} to fsync it: ${(err as Error).message}`, { cause: err, file: path });
  }
  try {
    await handle.sync();
  } catch (err) {
    throw new ClusterError("io", `fsync of ${path} failed: ${(err as Error).message}`, { cause: err, file: path });
  } finally {
    await handle.close();
  }
}

/** fsync of an open descriptor on the thread pool. */
export function fsyncFd(fd: number): Promise<void> {
  return new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
}

/**
 * fsyncs `paths` (files written, so opened for writing) on the thread pool, at most
 * `concurrency` at a time. Opening and closing happen on the main thread (microseconds):
 * each file costs the pool one task, not three. Missing files are skipped.
 */
export async function fsyncAll(paths: readonly string[], concurrency: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const path = paths[next++]!;
      let fd: number;
      try {
        fd = openSync(path, "r+");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw new ClusterError("io", `cannot open ${path} to fsync it: ${(err as Error).message}`, { cause: err, file: path });
      }
      try {
        await fsyncFd(fd);
      } catch (err) {
        throw new ClusterError("io", `fsync of ${path} failed: ${(err as Error).message}`, { cause: err, file: path });
      } finally {
        closeSync(fd);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
}

/** fsync of a file or directory by path. */
export function fsyncPath(path: string, write = false): void {
  let fd: number;
  try {
    fd = openSync(path, write ? "r+" : "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new ClusterError("io", `cannot open ${path} to fsync it: ${(err as Error).message}`, { cause: err, file: path });
  }
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
