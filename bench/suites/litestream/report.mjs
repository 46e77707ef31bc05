// The litestream suite's tables: one row per run, and ours against Litestream v0.3.13 per
// metric, with the target an issue set for it and whether it was met.
import { median, percentile } from "./stats.mjs";

/** One replication run as a row of the "replication runs" table. */
export function runRow(r) {
  return {
    tool: r.tool,
    replica: r.kind,
    run: r.rep,
    load1: r.load[0],
    "others' cores": r.othersCores,
    "tx/s": r.achievedRate,
    "CPU s/1k tx": r.cpuPer1000,
    "peak RSS MiB": r.peakRss,
    "lag p50 ms": r.lag.p50,
    "lag p99 ms": r.lag.p99,
    "isolated p50 ms": percentile(r.isolatedLags, 0.5),
    "objects/s": r.objectsPerSec,
    "objects inc/cmp/snap": `${r.objectsInWindow.incremental}/${r.objectsInWindow.compacted}/${r.objectsInWindow.snapshot}`,
    "WAL restarts": r.walRestarts,
    "frames at restart": r.framesAtRestart,
    "S3 req/s": r.requestsPerSec,
    "S3 req w/l/r/o": r.requests && `${r.requests.write}/${r.requests.list}/${r.requests.read}/${r.requests.other}`,
    "S3 req/min quiet": r.quietRequestsPerMin,
    "quiet req w/l/r/o": r.quietRequests && `${r.quietRequests.write}/${r.quietRequests.list}/${r.quietRequests.read}/${r.quietRequests.other}`,
    "replica MB": r.replicaBytes / 1e6,
    "commit p99 ms": r.commitMs.p99,
    "commit max ms": r.commitMs.max,
    "checkpoints logged (max ms)": r.checkpointMs && `${r.checkpointMs.n} (${Math.round(r.checkpointMs.max)})`,
    uncovered: r.uncovered,
  };
}

/** Metrics where more is better (rates); every other one is a cost or a time: lower is better. */
const HIGHER_IS_BETTER = /MB\/s/;

/** A row comparing ours with Litestream on one metric, with its target and whether it was met. */
function comparisonRow(replica, metric, ours, theirs, target, met, runs) {
  return {
    replica,
    metric,
    ours,
    "Litestream v0.3.13": theirs,
    "× Litestream": ours !== undefined && theirs ? ours / theirs : undefined,
    better: HIGHER_IS_BETTER.test(metric) ? "higher" : "lower",
    target: target ?? "",
    met: met === undefined ? "" : met ? "yes" : "NO",
    runs,
  };
}

/** The replication comparison table: per replica kind, the medians of every metric for both tools. */
export function reportReplication(bench, cfg, both, runs) {
  const table = `replication at ${cfg.rate} tx/s for ${cfg.loadSeconds} s, then isolated commits (median of ${cfg.runs} runs; × Litestream = ours / Litestream's, see "better")`;
  for (const kind of ["dir", "s3"]) {
    const of = (id) => runs.filter((r) => r.tool === id && r.kind === kind);
    const m = (fn) => both.map((t) => median(of(t.id).map(fn)));
    const pooled = (p) =>
      both.map((t) =>
        percentile(
          of(t.id).flatMap((r) => r.isolatedLags),
          p,
        ),
      );
    const row = (metric, [o, t], target, met) => bench.row(table, comparisonRow(kind, metric, o, t, target, met?.(o, t), cfg.runs));
    const le = (o, t) => o <= t;
    row(
      "CPU s per 1,000 tx",
      m((r) => r.cpuPer1000),
      "≤ Litestream",
      le,
    );
    row(
      "peak RSS MiB (VmHWM)",
      m((r) => r.peakRss),
    );
    row(
      `lag p50 ms at ${cfg.rate} tx/s`,
      m((r) => r.lag.p50),
      "< 100 (issue 3)",
      (o) => o < 100,
    );
    row(
      `lag p99 ms at ${cfg.rate} tx/s`,
      m((r) => r.lag.p99),
    );
    const n = cfg.runs * cfg.isolated;
    row(`lag p50 ms, isolated commit (${n} pooled)`, pooled(0.5), "< 100 (DESIGN)", (o) => o < 100);
    row(`lag p99 ms, isolated commit (${n} pooled)`, pooled(0.99));
    row(
      `objects written/s at ${cfg.rate} tx/s`,
      m((r) => r.objectsPerSec),
      "≤ Litestream",
      le,
    );
    if (kind === "s3") {
      row(
        `S3 write requests/s (PUT+POST)`,
        m((r) => r.writeRequestsPerSec),
        "≤ Litestream",
        le,
      );
      row(
        `S3 requests/s, all`,
        m((r) => r.requestsPerSec),
      );
      row(
        `S3 requests/min, isolated commits every 2–3 s`,
        m((r) => r.quietRequestsPerMin),
      );
      row(
        `  of which LIST`,
        m((r) => r.quietListsPerMin),
      );
    }
    row(
      "replica MB after the load",
      m((r) => r.replicaBytes / 1e6),
      "≤ Litestream",
      le,
    );
    row(
      "  of which snapshot MB",
      m((r) => r.snapshotBytes / 1e6),
    );
    row(
      "  of which incremental MB",
      m((r) => r.incrementalBytes / 1e6),
    );
    row(
      "  of which compacted MB",
      m((r) => r.compactedBytes / 1e6),
    );
    row(
      "WAL restarts (checkpoints) during the load",
      m((r) => r.walRestarts),
    );
    row(
      "WAL frames when restarted (median)",
      m((r) => r.framesAtRestart),
    );
    row(
      "writer COMMIT p99 ms",
      m((r) => r.commitMs.p99),
    );
    row(
      "writer COMMIT max ms",
      m((r) => r.commitMs.max),
    );
    row(
      "commits no object covers",
      m((r) => r.uncovered),
      "0",
      (o, t) => o === 0 && t === 0,
    );
  }
}

/** The restore comparison table and the per-run restore rows. */
export function reportRestore(bench, cfg, both, restores) {
  const table = `restore of a ${(restores[0].dbBytes / 1e6).toFixed(0)} MB database with ${cfg.restoreTx} transactions after its snapshot (restores: median of ${cfg.restores}; × Litestream = ours / Litestream's, see "better")`;
  for (const kind of ["dir", "s3", "s3-shaped"]) {
    const of = (id) => restores.find((r) => r.tool === id && r.kind === kind);
    if (both.some((t) => of(t.id) === undefined)) continue;
    const pair = (fn) => both.map((t) => fn(of(t.id)));
    const rowOf =
      (runs) =>
      (metric, [o, t], target, met) =>
        bench.row(table, comparisonRow(kind, metric, o, t, target, met?.(o, t), runs));
    const row = rowOf(cfg.restores);
    const once = rowOf(1);
    // Issue 12: ≥ 3× on the shaped link, ≥ 1× on loopback S3 and from a directory; RSS ≤ 1.5×.
    const speedTarget = kind === "s3-shaped" ? 3 : 1;
    row(
      "restore s (wall clock)",
      pair((r) => r.restoreMs / 1000),
    );
    row(
      "restore MB/s",
      pair((r) => r.restoreMBps),
      `≥ ${speedTarget}× Litestream`,
      (o, t) => o >= speedTarget * t,
    );
    row(
      "restore MB/s, ours with -integrity-check none",
      pair((r) => r.uncheckedMBps ?? r.restoreMBps),
    );
    row(
      "restore MB/s, best run",
      pair((r) => r.restoreBestMBps),
    );
    row(
      "restore CPU s (user + sys)",
      pair((r) => r.restoreCpu),
    );
    row(
      "restore peak RSS MiB",
      pair((r) => r.restorePeakRss),
      "≤ 1.5× Litestream",
      (o, t) => o <= 1.5 * t,
    );
    if (kind !== "dir")
      row(
        "restore S3 requests",
        pair((r) => r.restoreRequests),
      );
    if (kind === "s3-shaped") continue;
    once(
      "replicate: start to snapshot written, s",
      pair((r) => r.snapshot.seconds),
    );
    once(
      "replicate: CPU s to snapshot written",
      pair((r) => r.snapshot.cpu),
    );
    once(
      "replicate: peak RSS MiB",
      pair((r) => r.replicatePeakRss),
    );
    once(
      "replica MB",
      pair((r) => r.replicaBytes.total / 1e6),
      "≤ Litestream",
      (o, t) => o <= t,
    );
    once(
      "  of which snapshot MB",
      pair((r) => r.replicaBytes.snapshot / 1e6),
    );
    once(
      "  of which incremental MB",
      pair((r) => r.replicaBytes.incremental / 1e6),
    );
    once(
      "  of which compacted MB",
      pair((r) => r.replicaBytes.compacted / 1e6),
    );
    const checks = both.map((t) => of(t.id));
    bench.row(table, {
      replica: kind,
      metric: "integrity_check; same tables as source; same as each other",
      ours: `${checks[0].integrity}; ${checks[0].sameAsSource}; ${checks[0].sameAsOther}`,
      "Litestream v0.3.13": `${checks[1].integrity}; ${checks[1].sameAsSource}; ${checks[1].sameAsOther}`,
    });
  }
  for (const r of restores) {
    bench.row("restore runs", {
      tool: r.tool,
      replica: r.kind,
      load1: r.load[0],
      MB: r.dbBytes / 1e6,
      "runs s": r.restoreRuns.map((x) => (x.ms / 1000).toFixed(2)).join(" "),
      "runs MiB RSS": r.restoreRuns.map((x) => x.peakRss.toFixed(0)).join(" "),
      "load1 at each": r.restoreRuns.map((x) => x.load1.toFixed(2)).join(" "),
      "others' cores": r.restoreRuns.map((x) => x.othersCores.toFixed(2)).join(" "),
      "runs s, no check": (r.uncheckedRuns ?? []).map((x) => (x.ms / 1000).toFixed(2)).join(" "),
    });
  }
}
