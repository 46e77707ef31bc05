/**
 * Linux's table of file locks (`/proc/locks`), read the cheap way for the checkpoint
 * probes: one descriptor kept open and re-read from offset 0 (the kernel regenerates the
 * text on every read from the start), the text shared by every probe for a few
 * milliseconds, and, for the engine's probes, read on libuv's pool: the kernel builds
 * the table under its file-lock semaphore, and a read measured 4-7 ms while another
 * process took locks, time the event loop would otherwise spend blocked.
 */
import { closeSync, openSync, read, readSync } from "node:fs";

const PATH = "/proc/locks";
/** Probes within this long of a read share its text (a stale answer delays a stage by as much, at most). */
const SHARE_MS = 20;

let fd: number | undefined;
/** One buffer per path: a read on this thread may run while one on the pool is in flight. */
let syncBuffer = Buffer.alloc(16 * 1024);
let poolBuffer = Buffer.alloc(16 * 1024);
let text = "";
let readAt = Number.NEGATIVE_INFINITY;
let inFlight: Promise<string> | undefined;

/** The text of `/proc/locks` as of at most 20 ms ago, read on this thread; throws where the system has none. */
export function readLockTable(now: number = performance.now()): string {
  if (now - readAt < SHARE_MS) return text;
  const descriptor = open();
  try {
    // A read that fills the buffer may have been cut short: grow it and read again.
    let length = readSync(descriptor, syncBuffer, 0, syncBuffer.length, 0);
    while (length === syncBuffer.length) {
      syncBuffer = Buffer.alloc(2 * syncBuffer.length);
      length = readSync(descriptor, syncBuffer, 0, syncBuffer.length, 0);
    }
    return keep(syncBuffer, length, now);
  } catch (err) {
    throw closeAfter(err);
  }
}

/** {@link readLockTable} on libuv's pool; concurrent callers share one read. */
export function readLockTableAsync(now: number = performance.now()): Promise<string> {
  if (now - readAt < SHARE_MS) return Promise.resolve(text);
  inFlight ??= readAsync(now).finally(() => {
    inFlight = undefined;
  });
  return inFlight;
}

async function readAsync(now: number): Promise<string> {
  const descriptor = open();
  const readAt0 = (): Promise<number> => new Promise((resolve, reject) => read(descriptor, poolBuffer, 0, poolBuffer.length, 0, (err, n) => (err ? reject(err) : resolve(n))));
  try {
    let length = await readAt0();
    while (length === poolBuffer.length) {
      poolBuffer = Buffer.alloc(2 * poolBuffer.length);
      length = await readAt0();
    }
    return keep(poolBuffer, length, now);
  } catch (err) {
    throw closeAfter(err);
  }
}

function open(): number {
  fd ??= openSync(PATH, "r");
  return fd;
}

function keep(from: Buffer, length: number, now: number): string {
  text = from.toString("latin1", 0, length);
  readAt = now;
  return text;
}

/** A failed read closes the descriptor (the next read opens it again) and passes the error on. */
function closeAfter(err: unknown): unknown {
  if (fd !== undefined) closeSync(fd);
  fd = undefined;
  return err;
}
