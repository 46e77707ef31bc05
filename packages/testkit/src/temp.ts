/** Temporary directories for tests that remove themselves, on `using`, on `remove()`, or at process exit. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A temporary directory that removes itself (with everything in it) when disposed. */
export interface TempDir extends Disposable {
  readonly path: string;
  /** Absolute path of a name inside the directory. */
  join(...parts: string[]): string;
  remove(): void;
}

const live = new Set<TempDir>();
let exitHookInstalled = false;

/**
 * Creates a fresh directory under the OS temp dir. Remove it with `remove()`, a
 * `using` declaration, or let the process-exit hook clean up whatever is left.
 */
export function tempDir(prefix = "sqlrep-"): TempDir {
  installExitHook();
  const path = mkdtempSync(join(tmpdir(), prefix));
  const dir: TempDir = {
    path,
    join: (...parts) => join(path, ...parts),
    remove() {
      live.delete(dir);
      rmSync(path, { recursive: true, force: true });
    },
    [Symbol.dispose]() {
      dir.remove();
    },
  };
  live.add(dir);
  return dir;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const dir of [...live]) {
      try {
        dir.remove();
      } catch {
        // best effort at exit: nothing left to report to
      }
    }
  });
}
