// The engine's families rendered by prom-client: Litestream's names, help texts and label
// order, escaping, the collect hook that refreshes the gauges, and no global registry.
import { register as globalRegistry, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { BackupMetrics } from "./metrics.js";

/** Every family, as the hand-written registry before prom-client declared it: name, type, help. */
const FAMILIES: [string, "gauge" | "counter", string][] = [
  ["litestream_db_size", "gauge", "The current size of the real database file, in bytes."],
  ["litestream_wal_size", "gauge", "The current size of the real WAL file, in bytes."],
  ["litestream_total_wal_bytes", "counter", "Bytes of WAL frames turned into LTX files."],
  ["litestream_txid", "gauge", "The highest TXID written for the database."],
  ["litestream_sync_count", "counter", "Number of sync operations."],
  ["litestream_sync_error_count", "counter", "Number of sync errors."],
  ["litestream_sync_seconds", "counter", "Time spent syncing, in seconds."],
  ["litestream_checkpoint_count", "counter", "Number of checkpoints."],
  ["litestream_checkpoint_error_count", "counter", "Number of checkpoint errors."],
  ["litestream_checkpoint_seconds", "counter", "Time spent checkpointing, in seconds."],
  ["litestream_replica_operation_total", "counter", "The number of replica operations performed."],
  ["litestream_replica_operation_bytes", "counter", "The number of bytes used by replica operations."],
  ["litestream_replica_txid", "gauge", "The highest TXID uploaded to the replica."],
  ["litestream_replica_lag_seconds", "gauge", "Age of the oldest committed transaction not yet uploaded to the replica (0 when caught up)."],
  ["litestream_replica_last_verified_timestamp_seconds", "gauge", "When the replica's checksum chain was last verified against the database (Unix seconds)."],
  ["litestream_replica_validation_total", "counter", "Replica validations by result (status ok or error)."],
  ["litestream_db_missing", "gauge", "1 while a replicated database file is deleted (nothing is uploaded until it is back)."],
  [
    "litestream_db_lineage_total",
    "counter",
    "New lineages started: the database was replaced, changed outside SQLite, or its WAL was lost track of (each costs every replica a snapshot).",
  ],
];

describe("BackupMetrics", () => {
  it("renders Prometheus text: HELP and TYPE for every family, escaped label values, one line per series", async () => {
    const m = new BackupMetrics();
    m.syncCount.inc({ db: "/data/a.db" });
    m.syncCount.inc({ db: "/data/a.db" }, 2);
    m.checkpointCount.inc({ db: '/we"ird\\path\n.db', mode: "PASSIVE" });
    m.replicaLag.set({ db: "/data/a.db", name: "s3" }, 0.25);
    const text = await m.render();
    expect(text).toContain("# HELP litestream_sync_count Number of sync operations.\n# TYPE litestream_sync_count counter\n");
    expect(text).toContain('litestream_sync_count{db="/data/a.db"} 3\n');
    expect(text).toContain('litestream_checkpoint_count{db="/we\\"ird\\\\path\\n.db",mode="PASSIVE"} 1\n');
    expect(text).toContain('litestream_replica_lag_seconds{db="/data/a.db",name="s3"} 0.25\n');
    expect(text).toContain("# TYPE litestream_replica_last_verified_timestamp_seconds gauge\n");
    expect(text.endsWith("\n")).toBe(true);
    for (const line of text.split("\n").filter((l) => l !== "" && !l.startsWith("#"))) {
      expect(line).toMatch(/^litestream_[a-z_]+(\{[^}]*\})? -?[0-9.e+]+$/);
    }
  });

  it("keeps every family's name, type and help text, and the label order of the call sites", async () => {
    const m = new BackupMetrics();
    const text = await m.render();
    for (const [name, type, help] of FAMILIES) expect(text).toContain(`# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`);
    expect(text.match(/^# TYPE /gm)).toHaveLength(FAMILIES.length);
    m.operationTotal.inc({ replica_type: "s3", operation: "PUT" }, 4);
    m.validationTotal.inc({ db: "/a.db", name: "dir", status: "error" });
    const after = await m.render();
    expect(after).toContain('litestream_replica_operation_total{replica_type="s3",operation="PUT"} 4\n');
    expect(after).toContain('litestream_replica_validation_total{db="/a.db",name="dir",status="error"} 1\n');
  });

  it("refuses to decrease a counter", () => {
    expect(() => new BackupMetrics().syncCount.inc({ db: "x" }, -1)).toThrow(/not possible to decrease a counter/);
  });

  it("goes on the registry it is given (never the global one) and refreshes its gauges once per scrape", async () => {
    const registry = new Registry();
    let refreshes = 0;
    const m = new BackupMetrics(registry, () => {
      refreshes++;
      m.dbSize.set({ db: "/a.db" }, 4096 * refreshes);
    });
    expect(await registry.metrics()).toContain('litestream_db_size{db="/a.db"} 4096\n');
    expect(await registry.metrics()).toContain('litestream_db_size{db="/a.db"} 8192\n');
    expect(refreshes).toBe(2);
    expect(globalRegistry.getSingleMetric("litestream_db_size")).toBeUndefined();
    expect(() => new BackupMetrics(registry)).toThrow(/litestream_db_size has already been registered/);
  });
});
