/** Label names and values of one series. */
export type Labels = Readonly<Record<string, string>>;

type Kind = "counter" | "gauge";

/** One metric name with its series, one per distinct label set. */
export class MetricFamily {
  private readonly series = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly kind: Kind,
  ) {}

  /** Adds `by` (counters only go up). */
  inc(labels: Labels, by = 1): void {
    if (by < 0 && this.kind === "counter") throw new RangeError(`counter ${this.name} cannot decrease`);
    this.entry(labels).value += by;
  }

  set(labels: Labels, value: number): void {
    this.entry(labels).value = value;
  }

  get(labels: Labels): number {
    return this.series.get(key(labels))?.value ?? 0;
  }

  /** The family in Prometheus text exposition format. */
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.kind}`];
    for (const { labels, value } of this.series.values()) lines.push(`${this.name}${renderLabels(labels)} ${formatValue(value)}`);
    return lines.join("\n");
  }

  private entry(labels: Labels): { labels: Labels; value: number } {
    const k = key(labels);
    let s = this.series.get(k);
    if (s === undefined) {
      s = { labels: { ...labels }, value: 0 };
      this.series.set(k, s);
    }
    return s;
  }
}

/** The metrics of one engine (no global registry): counters updated as things happen, gauges set before rendering. */
export class BackupMetrics {
  readonly dbSize = this.family("litestream_db_size", "The current size of the real database file, in bytes.", "gauge");
  readonly walSize = this.family("litestream_wal_size", "The current size of the real WAL file, in bytes.", "gauge");
  readonly totalWalBytes = this.family("litestream_total_wal_bytes", "Bytes of WAL frames turned into LTX files.", "counter");
  readonly txid = this.family("litestream_txid", "The highest TXID written for the database.", "gauge");
  readonly syncCount = this.family("litestream_sync_count", "Number of sync operations.", "counter");
  readonly syncErrorCount = this.family("litestream_sync_error_count", "Number of sync errors.", "counter");
  readonly syncSeconds = this.family("litestream_sync_seconds", "Time spent syncing, in seconds.", "counter");
  readonly checkpointCount = this.family("litestream_checkpoint_count", "Number of checkpoints.", "counter");
  readonly checkpointErrorCount = this.family("litestream_checkpoint_error_count", "Number of checkpoint errors.", "counter");
  readonly checkpointSeconds = this.family("litestream_checkpoint_seconds", "Time spent checkpointing, in seconds.", "counter");
  readonly operationTotal = this.family("litestream_replica_operation_total", "The number of replica operations performed.", "counter");
  readonly operationBytes = this.family("litestream_replica_operation_bytes", "The number of bytes used by replica operations.", "counter");
  readonly replicaTxid = this.family("litestream_replica_txid", "The highest TXID uploaded to the replica.", "gauge");
  readonly replicaLag = this.family(
    "litestream_replica_lag_seconds",
    "Age of the oldest committed transaction not yet uploaded to the replica (0 when caught up).",
    "gauge",
  );
  readonly replicaVerified = this.family(
    "litestream_replica_last_verified_timestamp_seconds",
    "When the replica's checksum chain was last verified against the database (Unix seconds).",
    "gauge",
  );

  readonly validationTotal = this.family("litestream_replica_validation_total", "Replica validations by result (status ok or error).", "counter");
  readonly missing = this.family("litestream_db_missing", "1 while a replicated database file is deleted (nothing is uploaded until it is back).", "gauge");
  readonly lineages = this.family(
    "litestream_db_lineage_total",
    "New lineages started: the database was replaced, changed outside SQLite, or its WAL was lost track of (each costs every replica a snapshot).",
    "counter",
  );

  private families: MetricFamily[] | undefined;

  /** Prometheus text exposition of every family. */
  render(): string {
    return `${this.all()
      .map((f) => f.render())
      .join("\n")}\n`;
  }

  private all(): MetricFamily[] {
    this.families ??= Object.values(this).filter((v): v is MetricFamily => v instanceof MetricFamily);
    return this.families;
  }

  private family(name: string, help: string, kind: Kind): MetricFamily {
    return new MetricFamily(name, help, kind);
  }
}

function key(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join("\u0000");
}

function renderLabels(labels: Labels): string {
  const names = Object.keys(labels);
  if (names.length === 0) return "";
  return `{${names.map((n) => `${n}="${escapeLabel(labels[n]!)}"`).join(",")}}`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
