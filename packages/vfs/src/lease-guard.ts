// The single writer of write mode, enforced by a lease (LITESTREAM_LEASE_URL): a writer
// takes the lease before its first write transaction and holds it while it writes and
// uploads, so a second writer is refused before it writes, not found out at upload.
import { isLeaseError, type Lease, type Leaser } from "@sqlrep/lease";
import { VfsError } from "./errors.js";
import type { Logger } from "./logger.js";
import type { WriteGuard } from "./writer.js";

/**
 * A {@link WriteGuard} over any `Leaser` (etcd, Consul). Another holder makes a write
 * `VfsError("busy")` naming it; a store that does not answer, or a lease lost and not
 * retaken, is `VfsError("lease")`. Both reach SQLite as SQLITE_BUSY: the application
 * retries, and nothing was written.
 */
export class LeaseWriteGuard implements WriteGuard {
  private lease: Lease | undefined;
  private leaser: Promise<Leaser> | undefined;
  private closed = false;

  /** `open` connects to the store, at the first write: a read-only user never needs it. */
  constructor(
    private readonly open: () => Promise<Leaser>,
    private readonly logger: Logger,
    /** What messages call the lease (its URL, without credentials). */
    private readonly where: string,
  ) {}

  /** The lease's epoch while held (for status and logs). */
  get epoch(): number | undefined {
    return this.lease !== undefined && !this.lease.signal.aborted ? this.lease.epoch : undefined;
  }

  beforeWrite(signal?: AbortSignal): Promise<void> {
    return this.hold(signal);
  }

  beforeUpload(signal?: AbortSignal): Promise<void> {
    return this.hold(signal);
  }

  /** Gives the lease up (another writer may take it at once) and closes the leaser. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const lease = this.lease;
    this.lease = undefined;
    if (lease !== undefined && !lease.signal.aborted) await lease.release().catch(() => undefined);
    const leaser = await this.leaser?.catch(() => undefined);
    await leaser?.close();
  }

  /** Holds the lease: keeps one still valid, else takes it (a lost one is retaken when free). */
  private async hold(signal?: AbortSignal): Promise<void> {
    if (this.closed) throw new VfsError("closed", "the write lease was closed");
    if (this.lease !== undefined && !this.lease.signal.aborted) return;
    if (this.lease !== undefined) {
      this.logger.warn("the write lease was lost; taking it again before writing", { lease: this.where, reason: String((this.lease.signal.reason as Error | undefined)?.message) });
      this.lease = undefined;
    }
    try {
      this.leaser ??= this.open();
      // A store that could not be reached is tried again at the next write.
      this.leaser.catch(() => (this.leaser = undefined));
      this.lease = await (await this.leaser).acquire({ signal });
    } catch (err) {
      if (isLeaseError(err, "primary-exists")) {
        const holder = err.primary === undefined ? "another writer" : `${err.primary.hostname} (${err.primary.advertiseURL})`;
        const refused = new VfsError("busy", `the write lease ${this.where} is held by ${holder}: one writer at a time, nothing was written`, { cause: err, retryable: true });
        // SQLite only says "database is locked": the log says who holds the lease.
        this.logger.warn("write refused", { error: refused.message });
        throw refused;
      }
      if (isLeaseError(err, "lock-delay")) {
        throw new VfsError("busy", `the write lease ${this.where} is free but in its lock-delay: retry in ${err.retryAfterMs ?? 1000} ms`, { cause: err, retryable: true });
      }
      throw new VfsError("lease", `cannot take the write lease ${this.where}: ${(err as Error).message}`, { cause: err, retryable: true });
    }
    this.logger.info("write lease acquired", { lease: this.where, epoch: this.lease.epoch, ttlMs: this.lease.ttlMs });
  }
}
