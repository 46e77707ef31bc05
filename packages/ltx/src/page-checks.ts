/** The per-page rules of a decode (order, bounds, lock page, complete snapshots) and the snapshot's running database checksum. */
import { DatabaseChecksum, lockPgno, pageChecksum } from "./checksum.js";
import type { LtxErrorCode } from "./errors.js";
import { isSnapshot, tracksChecksums, type LtxHeader } from "./header.js";
import type { Ctx } from "./parse-context.js";

/**
 * The per-page rules: structure (strict), the snapshot's running database checksum
 * (always, when the file tracks checksums), and the page count.
 */
export class PageChecks {
  count = 0;
  private prev = 0;
  private readonly lock: number;
  private readonly snapshot: boolean;
  readonly sum: DatabaseChecksum | undefined;

  /** `sums`: keep the snapshot's database checksum (false when the pages are decoded elsewhere). */
  constructor(
    private readonly ctx: Ctx,
    private readonly header: LtxHeader,
    sums = true,
  ) {
    this.lock = lockPgno(header.pageSize);
    this.snapshot = isSnapshot(header);
    this.sum = sums && this.snapshot && tracksChecksums(header) ? new DatabaseChecksum() : undefined;
  }

  /** Checks a page number as soon as it is read (before its payload is). */
  pgno(pgno: number, offset: number, context = ""): void {
    if (!this.ctx.strict) return;
    const { commit } = this.header;
    const fail = (code: LtxErrorCode, message: string): never => {
      throw this.ctx.error(code, message + context, offset);
    };
    if (pgno > commit) fail("invalid-page", `page number ${pgno} out-of-bounds for commit size ${commit}`);
    if (pgno === this.lock) fail("invalid-page", `lock page ${pgno} must not be in an LTX file`);
    if (pgno <= this.prev) fail("invalid-page", `out-of-order page numbers: ${this.prev},${pgno}`);
    if (this.snapshot && pgno !== this.nextExpected()) {
      fail("incomplete-snapshot", `snapshot misses page ${this.nextExpected()} (next page is ${pgno})`);
    }
  }

  /** Accounts for a page (its bytes when decoded here, for the snapshot's checksum). */
  page(pgno: number, data: Uint8Array | undefined): void {
    this.count++;
    this.prev = pgno;
    if (this.sum !== undefined && data !== undefined && pgno !== this.lock) this.sum.add(pageChecksum(pgno, data));
  }

  /** After the end-of-pages marker: a snapshot must have reached its commit. */
  finish(): void {
    if (!this.ctx.strict || !this.snapshot) return;
    const next = this.nextExpected();
    if (next <= this.header.commit) {
      throw this.ctx.error("incomplete-snapshot", `snapshot ends before page ${next} of ${this.header.commit}`, this.ctx.q.position);
    }
  }

  private nextExpected(): number {
    const next = this.prev + 1;
    return next === this.lock ? next + 1 : next;
  }
}
