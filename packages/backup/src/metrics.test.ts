import { describe, expect, it } from "vitest";
import { BackupMetrics } from "./metrics.js";

describe("BackupMetrics", () => {
  it("renders Prometheus text: HELP and TYPE for every family, escaped label values, one line per series", () => {
    const m = new BackupMetrics();
    m.syncCount.inc({ db: "/data/a.db" });
    m.syncCount.inc({ db: "/data/a.db" }, 2);
    m.checkpointCount.inc({ db: '/we"ird\\path\n.db', mode: "PASSIVE" });
    m.replicaLag.set({ db: "/data/a.db", name: "s3" }, 0.25);
    const text = m.render();
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

  it("refuses to decrease a counter", () => {
    expect(() => new BackupMetrics().syncCount.inc({ db: "x" }, -1)).toThrow(RangeError);
  });
});
