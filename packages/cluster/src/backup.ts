/**
 * The cluster's backup (issue 10 §6; LiteFS Cloud's job, retired in 2024): while this
 * node is primary, an `LtxShipper` per database ships the database's own LTX log to a
 * replica in Litestream v0.5's layout. After a failover the new primary's shipper
 * finds the replica's tip in its log (the files it received from the old primary) and
 * continues from it; where it cannot, it writes a snapshot above it, never a fork.
 */
import type { ReplicaClient } from "@sqlrep/replica";
import type { ReplicaRegistry, ReplicaSpec } from "@sqlrep/replica";
import { LtxShipper, Scheduler, type Logger, type LogFeeder, type ShipperEvent, type ShipperOptions, type ShipperStatus, type SnapshotState } from "@sqlrep/shipper";
import { lockPgno } from "@sqlrep/ltx";
import { ClusterError, describeError } from "./errors.js";
import type { Database } from "./store/database.js";

/** The shipper's name (a consumer of each log). */
export const BACKUP_CONSUMER = "backup";

/** The `backup:` section, resolved: one replica client per database, and the shipper's settings. */
export interface BackupOptions {
  /** The replica of one database (its own prefix or directory under the backup's). */
  client(db: string): ReplicaClient;
  /** Shipper settings (Litestream's defaults; up to 256 TXIDs merged per upload, as LiteFS compacted). */
  shipper?: Omit<ShipperOptions, "name" | "client"> | undefined;
}

/**
 * Backup options from a replica URL or spec (`backup.url`, or `type` + the keys of a
 * Litestream replica): each database goes to `<path>/<db name>`. The registry parses
 * the URL and builds the clients (load its backends' factories first).
 */
export function backupFromSpec(registry: ReplicaRegistry, target: string | ReplicaSpec, shipper?: BackupOptions["shipper"]): BackupOptions {
  const spec = typeof target === "string" ? registry.parse(target) : target;
  const base = (spec.path ?? "").replace(/\/+$/, "");
  return {
    client: (db) => registry.create({ ...spec, path: base === "" ? db : `${base}/${db}` }),
    shipper,
  };
}

/** The backups of the databases of a primary: started when it becomes primary, closed when it stops. */
export class ClusterBackup {
  private readonly shippers = new Map<string, LtxShipper>();
  private readonly clock: Scheduler;
  private readonly stop = new AbortController();

  constructor(
    private readonly options: BackupOptions,
    private readonly logger: Logger,
    private readonly onEvent: (db: string, event: ShipperEvent) => void,
  ) {
    this.clock = new Scheduler((err) => logger.error("backup timer failed", { error: describeError(err) }));
  }

  /** Starts shipping `db` (once). */
  add(db: Database): void {
    if (this.shippers.has(db.name) || this.stop.signal.aborted) return;
    const shipper = new LtxShipper(
      { label: db.name, log: db.log, feeder: feederOf(db), clock: this.clock, logger: this.logger, signal: this.stop.signal, onEvent: (e) => this.onEvent(db.name, e) },
      { maxEntriesPerUpload: 256, ...this.options.shipper, name: BACKUP_CONSUMER, client: this.options.client(db.name) },
    );
    this.shippers.set(db.name, shipper);
    void shipper.start().catch((err: unknown) => this.logger.warn("backup start failed", { db: db.name, error: describeError(err) }));
  }

  /** Stops shipping `db` (dropped). */
  async remove(name: string): Promise<void> {
    const shipper = this.shippers.get(name);
    this.shippers.delete(name);
    await shipper?.close();
  }

  /** The backup's TXID of a database (the high-water mark sent to replicas); 0 when unknown. */
  hwm(name: string): number {
    return this.shippers.get(name)?.txid ?? 0;
  }

  /** Waits until the backup holds `txid` of `name` (tests, a final flush). */
  waitFor(name: string, txid: number, signal?: AbortSignal): Promise<void> {
    const shipper = this.shippers.get(name);
    if (shipper === undefined) return Promise.reject(new Error(`no backup of ${name} on this node`));
    return shipper.waitFor(txid, signal);
  }

  /** Every shipper's status. */
  status(): Record<string, ShipperStatus> {
    return Object.fromEntries([...this.shippers].map(([name, s]) => [name, s.status()]));
  }

  /** Stops every shipper; the logs no longer hold files for the backup (another node ships now). */
  async close(logs: (name: string) => Database | undefined): Promise<void> {
    this.stop.abort();
    for (const [name, shipper] of this.shippers) {
      await shipper.close();
      logs(name)?.log.unregister(BACKUP_CONSUMER);
    }
    this.shippers.clear();
    this.clock.close();
  }
}

/** The shipper's view of a database: its snapshot is a consistent view at the log's tip. */
function feederOf(db: Database): LogFeeder {
  return {
    snapshotState: (signal) =>
      db.exclusive(async (): Promise<SnapshotState> => {
        signal.throwIfAborted();
        const view = await db.openViewNow();
        const pageSize = view.pageSize;
        const buf = new Uint8Array(256 * pageSize);
        const lock = lockPgno(pageSize);
        return {
          txid: view.txid,
          pageSize,
          commit: view.commit,
          timestamp: view.timestamp,
          expected: view.checksum,
          *pages() {
            for (let first = 1; first <= view.commit; first += 256) {
              const count = Math.min(256, view.commit - first + 1);
              view.read(first, count, buf);
              for (let i = 0; i < count; i++) if (first + i !== lock) yield { pgno: first + i, data: buf.subarray(i * pageSize, (i + 1) * pageSize) };
            }
          },
          verify() {},
          release: () => view.release(),
        };
      }),
    // The pages did not add up to the position: the database is refused until a snapshot replaces it.
    diverged: (reason) =>
      db.fail(
        new ClusterError("verify-failed", `database ${db.name} is refused: the backup's snapshot of ${db.files.database} found ${reason}`, {
          db: db.name,
          file: db.files.database,
        }),
      ),
  };
}
