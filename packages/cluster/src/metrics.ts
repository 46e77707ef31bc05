/**
 * The node's Prometheus metrics, with LiteFS's names where LiteFS has one
 * (`litefs_db_txid`, `litefs_db_lag_seconds`, `litefs_lag_seconds`, `litefs_is_primary`,
 * `litefs_subscriber_count`, LTX count and bytes) and ours for what LiteFS lacks
 * (divergence, snapshots, refusals, the backup). Gauges are read at scrape time;
 * counters follow the node's events.
 */
import type { ClusterNode } from "./roles/node.js";

/** Counters kept from the node's events. */
export class NodeCounters {
  readonly commits = new Map<string, number>();
  readonly snapshotsReceived = new Map<string, number>();
  readonly snapshotsSent = new Map<string, number>();
  readonly snapshotBytesSent = new Map<string, number>();
  readonly diverged = new Map<string, number>();
  readonly divergedTransactions = new Map<string, number>();
  primaryChanges = 0;

  /** Starts counting `node`'s events; returns the stop. */
  attach(node: ClusterNode): () => void {
    return node.events.subscribe((e) => {
      switch (e.type) {
        case "tx":
          add(this.commits, e.db, 1);
          break;
        case "snapshot":
          add(this.snapshotsReceived, e.db, 1);
          break;
        case "snapshotSent":
          add(this.snapshotsSent, e.db, 1);
          add(this.snapshotBytesSent, e.db, e.bytes);
          break;
        case "diverged":
          add(this.diverged, e.divergence.db, 1);
          add(this.divergedTransactions, e.divergence.db, e.divergence.to - e.divergence.from + 1);
          break;
        case "primaryChange":
          this.primaryChanges++;
          break;
      }
    });
  }
}

function add(map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

/** One metric family in the text format. */
interface Family {
  name: string;
  help: string;
  type: "gauge" | "counter";
  samples: { labels?: Record<string, string>; value: number }[];
}

/** The node's metrics in Prometheus's text format (0.0.4). */
export function metricsText(node: ClusterNode, counters: NodeCounters, now = Date.now()): string {
  const dbs = node.store.databases();
  const lag = node.lag();
  const lagSeconds = lag.kind === "primary" ? 0 : lag.kind === "syncing" ? -1 : Math.max(0, (now - lag.timestamp) / 1000);
  const perDb = (fn: (name: string) => number | undefined) =>
    dbs.flatMap((db) => {
      const value = fn(db);
      return value === undefined ? [] : [{ labels: { db }, value }];
    });
  const fromMap = (map: Map<string, number>) => [...map].map(([db, value]) => ({ labels: { db }, value }));
  const families: Family[] = [
    { name: "litefs_is_primary", help: "1 while this node is the primary.", type: "gauge", samples: [{ value: node.isPrimary ? 1 : 0 }] },
    { name: "litefs_is_ready", help: "1 once the node is primary or a caught-up replica.", type: "gauge", samples: [{ value: node.ready ? 1 : 0 }] },
    {
      name: "litefs_lag_seconds",
      help: "Seconds since the primary's last transaction or heartbeat this replica received (0 on the primary, -1 before the first sync).",
      type: "gauge",
      samples: [{ value: lagSeconds }],
    },
    { name: "litefs_subscriber_count", help: "Replicas streaming from this primary.", type: "gauge", samples: [{ value: node.primary?.replicas.length ?? 0 }] },
    { name: "litefs_db_txid", help: "The database's TXID.", type: "gauge", samples: perDb((db) => node.store.get(db)?.position.txid) },
    {
      name: "litefs_db_lag_seconds",
      help: "Seconds between now and the database's newest transaction as the primary timed it.",
      type: "gauge",
      samples: perDb((db) => {
        const ts = node.store.get(db)?.position.timestamp ?? 0;
        return ts === 0 || node.isPrimary ? 0 : Math.max(0, (now - ts) / 1000);
      }),
    },
    { name: "litefs_db_ltx_count", help: "LTX files in the database's log.", type: "gauge", samples: perDb((db) => node.store.get(db)?.log.entries.length) },
    { name: "litefs_db_ltx_bytes", help: "Bytes of LTX files in the database's log.", type: "gauge", samples: perDb((db) => node.store.get(db)?.log.size) },
    {
      name: "litefs_db_refused",
      help: "1 while the database is refused (failed verification or write).",
      type: "gauge",
      samples: perDb((db) => (node.store.get(db)?.failed === undefined ? 0 : 1)),
    },
    { name: "litefs_backup_txid", help: "The backup's TXID of the database (its high-water mark).", type: "gauge", samples: perDb((db) => node.hwm(db)) },
    { name: "litefs_db_tx_total", help: "Transactions committed or applied since start.", type: "counter", samples: fromMap(counters.commits) },
    { name: "litefs_snapshots_received_total", help: "Snapshots this replica received.", type: "counter", samples: fromMap(counters.snapshotsReceived) },
    { name: "litefs_snapshots_sent_total", help: "Snapshots this primary sent.", type: "counter", samples: fromMap(counters.snapshotsSent) },
    { name: "litefs_snapshot_sent_bytes_total", help: "Bytes of snapshots this primary sent.", type: "counter", samples: fromMap(counters.snapshotBytesSent) },
    { name: "litefs_diverged_total", help: "Times this node kept transactions the primary never received (in diverged/).", type: "counter", samples: fromMap(counters.diverged) },
    { name: "litefs_diverged_transactions_total", help: "Transactions kept in diverged/.", type: "counter", samples: fromMap(counters.divergedTransactions) },
    { name: "litefs_primary_changes_total", help: "Role changes seen by this node.", type: "counter", samples: [{ value: counters.primaryChanges }] },
  ];
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) lines.push(`${f.name}${labels(s.labels)} ${Number.isFinite(s.value) ? s.value : 0}`);
  }
  return `${lines.join("\n")}\n`;
}

function labels(l: Record<string, string> | undefined): string {
  if (l === undefined) return "";
  return `{${Object.entries(l)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
    .join(",")}}`;
}
