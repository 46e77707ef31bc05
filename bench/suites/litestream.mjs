// `litestream` (ours, apps/litestream) against the real Litestream v0.3.13 (npm
// @flydotio/litestream-linux-x64): the same config file, the same application process
// writing the same rows, the same replica kind (a directory, then S3 served by testkit's
// s3rver in a process of its own), one tool at a time, in the same run.
//
// 1. Replication (N runs per tool and replica, the tools alternating which goes first):
//    a writer commits single-row transactions at 200 tx/s for a fixed time, then
//    isolated commits each followed by 2–3 s of quiet. Measured: CPU seconds of the
//    replicator per 1,000 transactions and its peak RSS (/proc), commit-to-restorable
//    lag (replica/…: when the object covering the commit's WAL end appeared), objects
//    and requests written per second, replica bytes, and how long COMMIT took.
// 2. Restore: a ~200 MB database snapshotted by each tool, then 5,000 transactions;
//    `restore -o` timed (wall clock, both tools' default parallelism), checked with
//    PRAGMA integrity_check, and the restored tables compared with the source and with
//    the other tool's restore. From a directory, from S3 on loopback, and from the same
//    S3 replica through a shaped link (testkit's fault proxy: 60 MB/s per connection,
//    10 ms each way, what a real object store gives one GET stream). Ours also without
//    its default quick_check (`-integrity-check none`), as v0.3.13 checks nothing.
// Method and figures: apps/litestream/README.md, "Benchmarks". `--quick`: 1 run, shorter
// load, a 32 MiB database.
// The pieces are in litestream/: replication.mjs and restore.mjs run the two halves,
// report.mjs prints the tables, children.mjs forks the S3 server, the shaped link
// (link-proxy.mjs, a process of its own) and the writer.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { MiB } from "../lib/measure.mjs";
import { startS3 } from "./litestream/children.mjs";
import { reportReplication, reportRestore, runRow } from "./litestream/report.mjs";
import { compareRestores, restoreScenario, restoreSource } from "./litestream/restore.mjs";
import { replicationRun, seedDatabase } from "./litestream/replication.mjs";
import { missing, tools } from "./litestream/tools.mjs";

// The AWS SDK (our S3 listing here) otherwise warns that its 2027 releases need Node 22.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const FULL = {
  runs: 3,
  seedRows: 20_000,
  rate: 200,
  loadSeconds: 15,
  isolated: 8,
  restoreDbBytes: 191 * MiB, // 200.3 MB
  restoreTx: 5_000,
  restoreRate: 1_000,
  restores: 3,
};
const QUICK = { ...FULL, runs: 1, seedRows: 5_000, loadSeconds: 6, isolated: 4, restoreDbBytes: 32 * MiB, restoreTx: 1_000, restores: 1 };
const LOAD_WARNING = 1.5;
/** The shaped link of the "s3-shaped" restores (issue 12): per connection, and each way. */
const LINK = { mbps: 60, latencyMs: 10 };

export default async function run(bench) {
  const cfg = bench.quick ? QUICK : FULL;
  const both = tools(bench.repo);
  for (const t of both) {
    const why = missing(t);
    if (why !== undefined) {
      bench.note(`skipped: ${why}`);
      return;
    }
  }
  const s3 = await startS3(join(bench.scratch, "s3"), LINK);
  try {
    bench.note(
      `workload: single-row transactions (payments row ~350 B, 2 indexes) by a separate better-sqlite3 process (synchronous=NORMAL, wal_autocheckpoint=0); same config for both tools (sync-interval 1s, min-checkpoint-page-count 1000, checkpoint-interval 1m, other keys at their defaults); N=${cfg.runs}, medians`,
    );
    bench.note(codeUnderTest(bench.repo));
    // BENCH_LITESTREAM_PARTS=restore (or replication) runs one half only, e.g. after a restore change.
    const parts = (process.env.BENCH_LITESTREAM_PARTS ?? "replication,restore").split(",");
    const runs = [];
    const seed = parts.includes("replication") ? seedDatabase(bench, cfg) : undefined;
    for (let rep = 1; seed !== undefined && rep <= cfg.runs; rep++) {
      for (const kind of ["dir", "s3"]) {
        const order = rep % 2 === 1 ? both : [...both].reverse();
        for (const tool of order) {
          const r = await replicationRun(bench, cfg, { tool, kind, rep, s3, seed });
          runs.push(r);
          bench.row("replication runs", runRow(r));
        }
      }
    }
    if (runs.length > 0) reportReplication(bench, cfg, both, runs);

    const restores = [];
    if (parts.includes("restore")) {
      const source = restoreSource(bench, cfg);
      for (const kind of ["dir", "s3"]) {
        for (const tool of both) {
          const r = await restoreScenario(bench, cfg, { tool, kind, s3, source });
          restores.push(...(r.shaped ? [r, r.shaped] : [r]));
        }
        for (const k of kind === "s3" ? ["s3", "s3-shaped"] : [kind])
          if (restores.some((r) => r.kind === k))
            compareRestores(
              bench,
              restores.filter((r) => r.kind === k),
            );
      }
      reportRestore(bench, cfg, both, restores);
    }
    for (const r of [...runs, ...restores]) {
      if (r.load[0] > LOAD_WARNING)
        bench.note(`load ${r.load[0].toFixed(2)} > ${LOAD_WARNING} at ${r.tool} ${r.kind}${r.rep ? ` run ${r.rep}` : " restore"}: rerun when the machine is quieter`);
    }
  } finally {
    await s3.stop();
  }
}

/** Which sqlrep code was measured: the commit, and whether the packages behind `litestream` had uncommitted changes. */
function codeUnderTest(repo) {
  const paths = ["apps/litestream", "packages/backup", "packages/replica", "packages/replica-s3", "packages/ltx", "packages/wal", "packages/config"];
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: repo, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", ...paths], { cwd: repo, encoding: "utf8" });
    const changed = [
      ...new Set(
        dirty
          .split("\n")
          .filter(Boolean)
          .map((l) => l.slice(3).split("/").slice(0, 2).join("/")),
      ),
    ];
    return `sqlrep under test: commit ${head}${changed.length ? ` + uncommitted changes in ${changed.join(", ")}` : ""} (built dist/)`;
  } catch {
    return "sqlrep under test: not a git checkout";
  }
}
