// The page server's log: Litestream's text format (`time=… level=INFO msg="…" key=value`),
// appended to LITESTREAM_LOG_FILE (or a file beside the socket: the server is detached).
import { appendFileSync } from "node:fs";
import type { Logger } from "@sqlrep/vfs";

const LEVELS = { debug: 0, info: 1, warn: 2, error: 3 } as const;

/** A logger appending lines to `path` at `level` and above. */
export function fileLogger(path: string, level: "debug" | "info"): Logger {
  const min = LEVELS[level];
  const write =
    (lvl: keyof typeof LEVELS) =>
    (msg: string, fields: Record<string, unknown> = {}) => {
      if (LEVELS[lvl] < min) return;
      const parts = [`time=${new Date().toISOString()}`, `level=${lvl.toUpperCase()}`, `msg=${quote(msg)}`];
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) parts.push(`${k}=${quote(String(v))}`);
      try {
        appendFileSync(path, `${parts.join(" ")}\n`);
      } catch {
        // A log that cannot be written must not take the server down.
      }
    };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

function quote(v: string): string {
  return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
}
