/**
 * Linux's table of file locks (`/proc/locks`), read the cheap way for the checkpoint
 * probes: one descriptor kept open and re-read from offset 0 (the kernel regenerates the
 * text on every read from the start), and the text shared by every probe for a few
 * milliseconds. The table is system-wide, so its cost grows with every lock on the
 * machine; under sustained writes each database probes every 100 ms.
 */
import { closeSync, openSync, readSync } from "node:fs";

const PATH = "/proc/locks";
/** Probes within this long of a read share its text (a stale answer delays a stage by as much, at most). */
const SHARE_MS = 20;

let fd: number | undefined;
let buffer = Buffer.alloc(16 * 1024);
let text = "";
let readAt = Number.NEGATIVE_INFINITY;

/** The text of `/proc/locks` as of at most 20 ms ago; throws where the system has none. */
export function readLockTable(now: number = performance.now()): string {
  if (now - readAt < SHARE_MS) return text;
  fd ??= openSync(PATH, "r");
  let length: number;
  try {
    // A read that fills the buffer may have been cut short: grow it and read again.
    for (;;) {
      length = readSync(fd, buffer, 0, buffer.length, 0);
      if (length < buffer.length) break;
      buffer = Buffer.alloc(2 * buffer.length);
    }
  } catch (err) {
    closeSync(fd);
    fd = undefined;
    throw err;
  }
  text = buffer.toString("latin1", 0, length);
  readAt = now;
  return text;
}
