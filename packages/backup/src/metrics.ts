// The engine's Prometheus families (Litestream's names, plus replica TXID, lag and
// verification) on a prom-client registry that the app passes in, or the engine's own.
import { createRequire } from "node:module";
import type { Counter, Gauge, Registry } from "prom-client";

// prom-client takes ~50 ms to load (OpenTelemetry, summaries): it is loaded when an engine
// is made, not when this package is imported, so a CLI that only restores never pays it.
const require = createRequire(import.meta.url);
const promClient = () => require("prom-client") as typeof import("prom-client");

type Db = "db";
type DbReplica = "db" | "name";

/**
 * The metrics of one engine (no global registry): counters updated as things happen;
 * gauges set by `refresh` when the registry is scraped (prom-client's collect hook), so an
 * app's own `/metrics` over the same registry sees current values too.
 */
export class BackupMetrics {
  readonly dbSize: Gauge<Db>;
  readonly walSize: Gauge<Db>;
  readonly totalWalBytes: Counter<Db>;
  readonly txid: Gauge<Db>;
  readonly syncCount: Counter<Db>;
  readonly syncErrorCount: Counter<Db>;
  readonly syncSeconds: Counter<Db>;
  readonly checkpointCount: Counter<Db | "mode">;
  readonly checkpointErrorCount: Counter<Db | "mode">;
  readonly checkpointSeconds: Counter<Db | "mode">;
  readonly operationTotal: Counter<"replica_type" | "operation">;
  readonly operationBytes: Counter<"replica_type" | "operation">;
  readonly replicaTxid: Gauge<DbReplica>;
  readonly replicaLag: Gauge<DbReplica>;
  readonly replicaVerified: Gauge<DbReplica>;
  readonly validationTotal: Counter<DbReplica | "status">;
  readonly missing: Gauge<Db>;
  readonly lineages: Counter<Db>;

  /** The registry the families are on. */
  readonly registry: Registry;

  /**
   * Registers every family on `registry` (a new one when absent; a name taken there
   * already is an error). `refresh` sets the gauges from the live state; it runs at most
   * once per scrape.
   */
  constructor(registry?: Registry, refresh: () => void = () => {}) {
    const { Counter, Gauge, Registry } = promClient();
    this.registry = registry ?? new Registry();
    let refreshed = false;
    // Every family of one scrape is collected in the same turn of the event loop.
    const collect = () => {
      if (refreshed) return;
      refreshed = true;
      queueMicrotask(() => (refreshed = false));
      refresh();
    };
    const registers = [this.registry];
    const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) => new Gauge<L>({ name, help, labelNames, registers, collect });
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) => new Counter<L>({ name, help, labelNames, registers });
    const db = ["db"] as const;
    const replica = ["db", "name"] as const;
    const checkpoint = ["db", "mode"] as const;
    const operation = ["replica_type", "operation"] as const;

    this.dbSize = gauge("litestream_db_size", "The current size of the real database file, in bytes.", db);
    this.walSize = gauge("litestream_wal_size", "The current size of the real WAL file, in bytes.", db);
    this.totalWalBytes = counter("litestream_total_wal_bytes", "Bytes of WAL frames turned into LTX files.", db);
    this.txid = gauge("litestream_txid", "The highest TXID written for the database.", db);
    this.syncCount = counter("litestream_sync_count", "Number of sync operations.", db);
    this.syncErrorCount = counter("litestream_sync_error_count", "Number of sync errors.", db);
    this.syncSeconds = counter("litestream_sync_seconds", "Time spent syncing, in seconds.", db);
    this.checkpointCount = counter("litestream_checkpoint_count", "Number of checkpoints.", checkpoint);
    this.checkpointErrorCount = counter("litestream_checkpoint_error_count", "Number of checkpoint errors.", checkpoint);
    this.checkpointSeconds = counter("litestream_checkpoint_seconds", "Time spent checkpointing, in seconds.", checkpoint);
    this.operationTotal = counter("litestream_replica_operation_total", "The number of replica operations performed.", operation);
    this.operationBytes = counter("litestream_replica_operation_bytes", "The number of bytes used by replica operations.", operation);
    this.replicaTxid = gauge("litestream_replica_txid", "The highest TXID uploaded to the replica.", replica);
    this.replicaLag = gauge("litestream_replica_lag_seconds", "Age of the oldest committed transaction not yet uploaded to the replica (0 when caught up).", replica);
    this.replicaVerified = gauge(
      "litestream_replica_last_verified_timestamp_seconds",
      "When the replica's checksum chain was last verified against the database (Unix seconds).",
      replica,
    );
    this.validationTotal = counter("litestream_replica_validation_total", "Replica validations by result (status ok or error).", [...replica, "status"]);
    this.missing = gauge("litestream_db_missing", "1 while a replicated database file is deleted (nothing is uploaded until it is back).", db);
    this.lineages = counter(
      "litestream_db_lineage_total",
      "New lineages started: the database was replaced, changed outside SQLite, or its WAL was lost track of (each costs every replica a snapshot).",
      db,
    );
  }

  /** Drops the gauges of a database no longer replicated (its counters stay: they are totals). */
  forget(db: string, replicas: readonly string[]): void {
    for (const g of [this.dbSize, this.walSize, this.txid, this.missing]) g.remove({ db });
    for (const name of replicas) for (const g of [this.replicaTxid, this.replicaLag, this.replicaVerified]) g.remove({ db, name });
  }

  /** Prometheus text exposition of the registry (the gauges refreshed first). */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
