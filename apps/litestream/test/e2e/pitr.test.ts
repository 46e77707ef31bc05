// Point-in-time restores of a database replicated under a steady write load, from a
// directory and from S3. For a time T the restore must
//   - land exactly on the newest TXID whose LTX file is timestamped at or before T
//     (timestamps read from the files' headers);
//   - hold no transaction that began after T (so none that committed after T);
//   - hold every transaction whose COMMIT returned before T − (sync interval + SLACK_MS):
//     never more than one sync window behind.
//
//   E2E_PITR_SEED=<n>   seeds the chosen times (printed in the title)
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  built,
  chooser,
  copyDatabase,
  e2eSuite,
  expectHistoryState,
  expectNoWarnings,
  needsBuild,
  prng,
  replicaClient,
  restore,
  runRestore,
  s3Env,
  seedFrom,
  sleep,
  startReplicate,
  timedFiles,
  writeConfig,
  Writer,
  type Commit,
  type TimedFile,
} from "./harness.js";

const SEED = seedFrom("E2E_PITR_SEED", 42);
const SYNC_INTERVAL_MS = 500;
/**
 * What a sync may take beyond the interval: the 5 ms coalescing window, the pass itself
 * (reading the WAL, encoding, the upload) and scheduling delays on a loaded 2-core
 * machine. A restore one file too early misses commits up to a whole window older.
 */
const SLACK_MS = 400;
/** Clock granularity between the writer (hi-res wall clock) and the engine (Date.now, whole ms). */
const CLOCK_MS = 1;

const suite = e2eSuite("pitr", 2000);
const { tmp, template } = suite;

/** The TXID a time target must land on: the newest file timestamp at or before T (files contiguous from TXID 1). */
function expectedTxid(files: readonly TimedFile[], t: number): number | undefined {
  const eligible = files.filter((f) => f.timestamp <= t);
  return eligible.length === 0 ? undefined : Math.max(...eligible.map((f) => f.maxTXID));
}

describe.skipIf(!built)(`point-in-time restores during a steady write load (E2E_PITR_SEED=${SEED})${needsBuild}`, () => {
  it.each(["file", "s3"] as const)(
    "%s replica: exact TXID for each time, nothing after T, at most one sync window behind",
    async (kind) => {
      const r = chooser(prng(SEED + (kind === "s3" ? 1 : 0)));
      const dir = tmp.join(kind);
      const db = join(dir, "app.db");
      copyDatabase(template, db);
      const url = kind === "file" ? `file://${join(dir, "replica")}` : suite.s3.url("pitr");
      const env = kind === "s3" ? s3Env(suite.s3) : {};
      const config = writeConfig(join(dir, "litestream.yml"), {
        dbs: [
          {
            path: db,
            "monitor-interval": "100ms",
            "min-checkpoint-page-count": 200,
            replicas: [{ url, "sync-interval": `${SYNC_INTERVAL_MS}ms` }],
          },
        ],
      });
      const proc = await startReplicate(["-config", config], { env, ready: "started" });
      const writer = await Writer.start(db, { rate: 120 });
      await sleep(6000);
      const writerLast = await writer.stop();
      proc.signal("SIGTERM");
      expect((await proc.exited).code).toBe(0);
      expectNoWarnings(proc.output(), "replicate");
      const commits: Commit[] = writer.commits();
      expect(commits.at(-1)!.i).toBe(writerLast);
      const commitOf = new Map(commits.map((c) => [c.i, c]));

      const files = await timedFiles(replicaClient(url, suite.s3));
      const l0 = files.filter((f) => f.level === 0).sort((a, b) => a.minTXID - b.minTXID);
      // Every TXID after the initial snapshot has its level-0 file, in time order.
      expect(l0[0]!.minTXID).toBe(2);
      l0.forEach((f, i) => {
        if (i === 0) return;
        expect(f.minTXID, "level 0 contiguous").toBe(l0[i - 1]!.maxTXID + 1);
        expect(f.timestamp, "timestamps ascending").toBeGreaterThanOrEqual(l0[i - 1]!.timestamp);
      });
      // Under a steady load a file leaves every sync window.
      const gaps = l0.slice(1).map((f, i) => f.timestamp - l0[i]!.timestamp);
      const windowMs = SYNC_INTERVAL_MS + SLACK_MS;

      // Times: random ones during the load, and each side of two file timestamps.
      const first = l0[0]!.timestamp;
      const end = commits.at(-1)!.returned;
      const times: number[] = [];
      for (let n = 0; n < 6; n++) times.push(r.int(Math.ceil(first), Math.floor(end) + 300));
      for (const f of [l0[Math.floor(l0.length / 3)]!, l0[Math.floor((2 * l0.length) / 3)]!]) times.push(f.timestamp, f.timestamp - 1);

      const results: string[] = [];
      for (const t of times) {
        const want = expectedTxid(files, t)!;
        const got = await restore(dir, url, { env, timestamp: t });
        expect(got.txid, `TXID restored for T=${new Date(t).toISOString()}`).toBe(want);
        expect(got.checksumVerified).toBe(true);
        const k = expectHistoryState(got.output, `restore at ${new Date(t).toISOString()}`);
        // Nothing that began after T (a commit that started after T cannot have committed before it).
        const newest = commitOf.get(k);
        if (newest !== undefined) expect(newest.started, `transaction ${k} began after T`).toBeLessThanOrEqual(t + CLOCK_MS);
        // At most one sync window behind T.
        const due = commits.filter((c) => c.returned < t - windowMs).at(-1);
        if (due !== undefined) expect(k, `transaction ${due.i} returned ${Math.round(t - due.returned)} ms before T`).toBeGreaterThanOrEqual(due.i);
        const next = commitOf.get(k + 1);
        results.push(`T+${Math.round(t - first)}ms→TXID ${got.txid} k=${k}${next ? ` (next began ${Math.round(next.started - t)} ms after T)` : ""}`);
      }

      // A time before the first backup names the earliest restorable time.
      const firstBase = Math.min(...files.filter((f) => f.minTXID === 1).map((f) => f.timestamp));
      const early = await runRestore(dir, url, { env, timestamp: firstBase - 1000 });
      expect(early.result.code).toBe(1);
      expect(early.result.stderr).toMatch(
        new RegExp(
          `(^|\\n)error: nothing in .* was committed at or before ${new Date(firstBase - 1000).toISOString()}: the earliest restorable time is ${new Date(firstBase).toISOString()}\\n$`,
        ),
      );
      expect(existsSync(early.output)).toBe(false);

      console.log(`[pitr ${kind} seed ${SEED}] ${commits.length} commits, ${l0.length} level-0 files, gaps max ${Math.max(...gaps)} ms\n  ${results.join("\n  ")}`);
      expect(Math.max(...gaps), "a file every sync window under load").toBeLessThanOrEqual(windowMs);
    },
    120_000,
  );
});
