/** The restore progress bar drawn on a terminal's stderr. */
import type { RestoreProgress } from "@sqlrep/replica";
import { formatBytes } from "./format.js";

/**
 * A one-line progress bar redrawn in place (`\r`) on a terminal: phase, bar, percent,
 * bytes and files. At most ten redraws a second; `done()` clears the line.
 */
export function progressBar(stream: NodeJS.WritableStream & { columns?: number }): { update(p: RestoreProgress): void; done(): void } {
  let last = 0;
  let drawn = false;
  return {
    update(p) {
      const now = Date.now();
      if (p.phase === "download" && now - last < 100) return;
      last = now;
      const fraction = p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : p.phase === "done" ? 1 : 0;
      const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - 50));
      const filled = Math.round(fraction * width);
      const bar = "#".repeat(filled) + "-".repeat(width - filled);
      const line = `${p.phase.padEnd(8)} [${bar}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}  ${p.files} files`;
      stream.write(`\r${line}\x1b[K`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write("\r\x1b[K");
      drawn = false;
    },
  };
}
