/** Writing restored pages into the temp database: shared by the merge and the run paths of a restore. */
import type { FileHandle } from "node:fs/promises";
import { ReplicaError, isReplicaError } from "./errors.js";
import { fileLabel } from "./listing.js";
import type { RestorePlan } from "./restore-plan.js";

/** Database pages gathered before one positional write. */
const WRITE_BATCH = 1024 * 1024;

/** Pages already in the file that a `PageWriter` overwrites: their old bytes are handed over first. */
export interface Replacing {
  /** Pages up to this one are in the file. */
  upTo: number;
  /** Called with each such page's old bytes before the new ones go over them. */
  old(pgno: number, data: Uint8Array): void;
}

/**
 * Writes ascending pages at their offsets, gathering runs of consecutive pages into one
 * positional write; one write is in flight while the next batch fills. With `replacing`,
 * each batch first reads back the pages it overwrites (one positional read).
 */
export class PageWriter {
  private buffers: [Uint8Array, Uint8Array];
  private fill = 0;
  private firstPgno = 0;
  private nextPgno = 0;
  private pending: Promise<unknown> | undefined;
  private readonly scratch: Uint8Array | undefined;

  constructor(
    private readonly handle: FileHandle,
    private readonly pageSize: number,
    private readonly path: string,
    private readonly replacing?: Replacing,
  ) {
    const size = Math.max(pageSize, WRITE_BATCH - (WRITE_BATCH % pageSize));
    this.buffers = [new Uint8Array(size), new Uint8Array(size)];
    if (replacing) this.scratch = new Uint8Array(size);
  }

  async write(pgno: number, data: Uint8Array): Promise<void> {
    if (this.fill > 0 && (pgno !== this.nextPgno || this.fill + this.pageSize > this.buffers[0].length)) await this.flush();
    if (this.fill === 0) this.firstPgno = pgno;
    this.buffers[0].set(data, this.fill);
    this.fill += this.pageSize;
    this.nextPgno = pgno + 1;
  }

  /** Starts writing the gathered batch once the previous write has completed. */
  async flush(): Promise<void> {
    await this.settle();
    if (this.fill === 0) return;
    const buffer = this.buffers[0];
    const position = (this.firstPgno - 1) * this.pageSize;
    await this.readBack(position);
    this.pending = this.handle.write(buffer, 0, this.fill, position).catch((err: unknown) => {
      throw ioError(err, `cannot write ${this.path} at offset ${position}`);
    });
    // Awaited by the next flush; a failure elsewhere first must not leave it unhandled.
    this.pending.catch(() => undefined);
    this.buffers = [this.buffers[1], buffer];
    this.fill = 0;
  }

  /** Writes whatever is gathered and waits for every write. */
  async finish(): Promise<void> {
    await this.flush();
    await this.settle();
  }

  /** Hands the old bytes of the batch's pages that are already in the file to `replacing.old`. */
  private async readBack(position: number): Promise<void> {
    const r = this.replacing;
    if (r === undefined || this.firstPgno > r.upTo) return;
    const pages = Math.min(this.fill / this.pageSize, r.upTo - this.firstPgno + 1);
    const scratch = this.scratch!;
    const length = pages * this.pageSize;
    for (let done = 0; done < length; ) {
      const { bytesRead } = await this.handle.read(scratch, done, length - done, position + done).catch((err: unknown) => {
        throw ioError(err, `cannot read ${this.path} at offset ${position + done}`);
      });
      if (bytesRead === 0) throw new ReplicaError("io", `${this.path} ends at offset ${position + done}, before pages the restore wrote`);
      done += bytesRead;
    }
    for (let i = 0; i < pages; i++) r.old(this.firstPgno + i, scratch.subarray(i * this.pageSize, (i + 1) * this.pageSize));
  }

  private async settle(): Promise<void> {
    const pending = this.pending;
    this.pending = undefined;
    await pending;
  }
}

/** The page after `pgno` in a database, the lock page skipped. */
export function nextPgno(pgno: number, lock: number): number {
  return pgno + 1 === lock ? pgno + 2 : pgno + 1;
}

/** Pages `from…to` of the restored database are in no file of the plan. */
export function missingPages(plan: RestorePlan, from: number, to: number): ReplicaError {
  const files = plan.files.map(fileLabel).join(", ");
  return new ReplicaError("corrupt", `the files of the restore plan hold no page ${from}${to > from ? `…${to}` : ""} of the database at TXID ${plan.txid} (files: ${files})`);
}

export function ioError(err: unknown, what: string): ReplicaError {
  if (isReplicaError(err)) return err;
  return new ReplicaError("io", `${what}: ${(err as Error).message}`, { cause: err });
}
