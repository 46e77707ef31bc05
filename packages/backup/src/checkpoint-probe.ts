/**
 * Tells whether some connection is running a checkpoint on a database right now, from
 * the kernel's table of file locks (Linux's `/proc/locks`): what lets the engine read
 * the WAL rarely and still never keep an application's checkpoint waiting on its read mark.
 */
import { statSync } from "node:fs";
import { readLockTable as readKernelLockTable, readLockTableAsync as readKernelLockTableAsync } from "./lock-table.js";

/**
 * SQLite's WAL-index locks are bytes 120… of the `-shm` file: the writer's (120), the
 * checkpointer's (121), recovery (122), the read marks (123–127) and the "DMS" byte (128)
 * every open connection holds shared. A checkpoint holds 121 for its whole run, also while
 * its busy handler waits for a reader to move on: the moment we want to know about.
 */
const CKPT_LOCK_BYTE = 121;
const DMS_LOCK_BYTE = 128;

/** One line of `/proc/locks` that matters here. */
export interface KernelLock {
  readonly pid: number;
  readonly inode: number;
  readonly start: number;
  /** Last byte, inclusive (`Infinity` for "to the end of the file"). */
  readonly end: number;
  /** A waiter blocked on the lock rather than its holder (`->` lines). */
  readonly waiting: boolean;
}

/**
 * The locks of `text` (the format of `/proc/locks`) on one inode. Matched on the inode
 * alone: the device numbers printed there are the kernel's view, which is not always
 * `stat`'s (btrfs subvolumes), and a stray match only costs one early stage.
 */
export function locksOnInode(text: string, inode: number): KernelLock[] {
  const found: KernelLock[] = [];
  const needle = `:${inode} `;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) {
    const lineStart = text.lastIndexOf("\n", at) + 1;
    const lineEnd = text.indexOf("\n", at);
    // "1: POSIX  ADVISORY  WRITE 4177 fe:00:2146590 120 121"; waiters read "1: -> POSIX …".
    const fields = text
      .slice(lineStart, lineEnd === -1 ? undefined : lineEnd)
      .trim()
      .split(/\s+/);
    const waiting = fields[1] === "->";
    const f = waiting ? fields.slice(2) : fields.slice(1);
    // f: class, ADVISORY/MANDATORY, READ/WRITE, pid, maj:min:ino, start, end
    if (f.length < 7 || !f[4]!.endsWith(`:${inode}`)) continue;
    const pid = Number(f[3]);
    const start = Number(f[5]);
    const end = f[6] === "EOF" ? Number.POSITIVE_INFINITY : Number(f[6]);
    if (!Number.isFinite(start) || Number.isNaN(end)) continue;
    found.push({ pid, inode, start, end, waiting });
  }
  return found;
}

/**
 * Probes one database's `-shm` for a running checkpoint. It trusts the lock table only
 * once it has seen our own connection's lock there (the byte every connection holds): on
 * systems without `/proc/locks`, or file systems whose locks it does not show, `running`
 * answers `undefined` ("cannot tell") and the engine keeps its shorter fixed cadence.
 */
export class CheckpointProbe {
  /** How long the last read of the lock table took, in ms (the table is system-wide: it grows with every lock on the machine). */
  private lastReadMs = 0;
  /** The `-shm` inode the self-check passed for (0: not passed). */
  private trustedInode = 0;
  /** The inode the self-check last failed for: not retried until the file changes. */
  private failedInode = 0;

  private readonly readTable: () => string;
  private readonly readTableAsync: () => Promise<string>;

  /**
   * `readLockTable` stands in for `/proc/locks` (tests): then both `running` and
   * `runningAsync` read through it; by default `runningAsync` reads on libuv's pool.
   */
  constructor(
    private readonly shmPath: string,
    readLockTable?: () => string,
    private readonly pid: number = process.pid,
  ) {
    this.readTable = readLockTable ?? (() => readKernelLockTable());
    this.readTableAsync = readLockTable === undefined ? () => readKernelLockTableAsync() : async () => readLockTable();
  }

  /** Whether another connection holds the checkpoint lock now; `undefined` when this system cannot tell. */
  running(): boolean | undefined {
    const inode = this.probeable();
    if (inode === undefined) return undefined;
    const started = performance.now();
    try {
      return this.judge(inode, this.readTable(), started);
    } catch {
      return this.unreadable(inode);
    }
  }

  /** {@link running} without blocking this thread on the kernel (the engine's probes). */
  async runningAsync(): Promise<boolean | undefined> {
    const inode = this.probeable();
    if (inode === undefined) return undefined;
    const started = performance.now();
    try {
      return this.judge(inode, await this.readTableAsync(), started);
    } catch {
      return this.unreadable(inode);
    }
  }

  /** The `-shm` inode to probe, or undefined when there is none or its self-check failed. */
  private probeable(): number | undefined {
    const inode = this.inode();
    return inode === undefined || inode === this.failedInode ? undefined : inode;
  }

  /** The table could not be read: this file cannot be probed (until it changes). */
  private unreadable(inode: number): undefined {
    this.failedInode = inode;
    return undefined;
  }

  /** What the table says about `inode`: the self-check first (once per file), then the checkpoint lock. */
  private judge(inode: number, text: string, readStarted: number): boolean | undefined {
    this.lastReadMs = performance.now() - readStarted;
    const locks = locksOnInode(text, inode);
    if (inode !== this.trustedInode) {
      if (!locks.some((l) => !l.waiting && l.pid === this.pid && covers(l, DMS_LOCK_BYTE))) {
        this.failedInode = inode;
        return undefined;
      }
      this.trustedInode = inode;
    }
    return locks.some((l) => covers(l, CKPT_LOCK_BYTE));
  }

  /**
   * How long to wait between probes: `base`, or longer where reading the lock table is
   * slow (a machine holding thousands of locks), so that probing costs ~1 % of a core per
   * database, but never longer than `max`.
   */
  interval(base: number, max: number): number {
    return Math.max(base, Math.min(max, 100 * this.lastReadMs));
  }

  /** Whether probing works for this database (runs the self-check once per `-shm` file). */
  works(): boolean {
    const inode = this.inode();
    if (inode !== undefined && inode === this.trustedInode) return true;
    return this.running() !== undefined;
  }

  private inode(): number | undefined {
    try {
      return statSync(this.shmPath, { throwIfNoEntry: false })?.ino;
    } catch {
      return undefined;
    }
  }
}

function covers(lock: KernelLock, byte: number): boolean {
  return lock.start <= byte && byte <= lock.end;
}
