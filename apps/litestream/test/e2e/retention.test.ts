// Retention and compaction running while restores run: short levels, snapshot interval
// and retention make L1/L2 compactions, periodic snapshots and retention deletions happen
// every few seconds while a loop restores to random times inside the retention window
// (and to the latest state). Every such restore must succeed and be a correct state.
//
//   E2E_RETENTION_SEED=<n>   seeds the chosen times (printed in the title)
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  built,
  chooser,
  copyDatabase,
  e2eSuite,
  expectHistoryState,
  needsBuild,
  prng,
  expectRestored,
  restore,
  runRestore,
  s3Env,
  seedFrom,
  startReplicate,
  syncedLines,
  writeConfig,
  Writer,
} from "./harness.js";

const SEED = seedFrom("E2E_RETENTION_SEED", 99);
const RETENTION_MS = 6000;
/** Restores aim this far inside the window, so the window does not move past them while they run. */
const MARGIN_MS = 2000;
const LOAD_MS = 16_000;
/** Restores to run at least, however long they take on a busy machine (bounded by MAX_LOAD_MS). */
const MIN_RESTORES = 10;
const MAX_LOAD_MS = 60_000;

const suite = e2eSuite("retention", 1500);
const { tmp, template } = suite;

describe.skipIf(!built)(`retention and compaction while restores run (E2E_RETENTION_SEED=${SEED})${needsBuild}`, () => {
  it.each(["file", "s3"] as const)(
    "%s replica: every restore inside the retention window succeeds and is a state of the history",
    async (kind) => {
      const r = chooser(prng(SEED + (kind === "s3" ? 1 : 0)));
      const dir = tmp.join(kind);
      const db = join(dir, "app.db");
      copyDatabase(template, db);
      const url = kind === "file" ? `file://${join(dir, "replica")}` : suite.s3.url("retention");
      const env = kind === "s3" ? s3Env(suite.s3) : {};
      const config = writeConfig(join(dir, "litestream.yml"), {
        logging: { level: "debug" },
        levels: [{ interval: "1s" }, { interval: "3s" }],
        "l0-retention": "1s",
        snapshot: { interval: "2s", retention: `${RETENTION_MS / 1000}s` },
        dbs: [
          {
            path: db,
            "monitor-interval": "100ms",
            "min-checkpoint-page-count": 100,
            replicas: [{ url, "sync-interval": "200ms" }],
          },
        ],
      });
      const proc = await startReplicate(["-config", config], { env, ready: "started" });
      const writer = await Writer.start(db, { rate: 60 });
      const started = Date.now();
      const firstBackup = syncedLines(proc.output())[0]!.at;

      const restores: { at: number; done: number; target: string; txid: number; k: number }[] = [];
      let passedBy = 0;
      while (Date.now() - started < LOAD_MS || (restores.length < MIN_RESTORES && Date.now() - started < MAX_LOAD_MS)) {
        const now = Date.now();
        const from = Math.max(firstBackup + 1, now - RETENTION_MS + MARGIN_MS);
        const latest = r.chance(0.2);
        const t = latest ? undefined : r.int(from, now);
        const raw = await runRestore(dir, url, { env, ...(t === undefined ? {} : { timestamp: t }) });
        // A restore slower than MARGIN_MS (a busy machine) may see retention move the
        // window past T while it runs: then, and only then, "nothing at or before T" is
        // the right answer (retention keeps the newest snapshot at or before its window
        // start, so nothing T needs goes while T is inside the window).
        if (t !== undefined && raw.result.code !== 0 && /was committed at or before/.test(raw.result.stderr) && t < Date.now() - RETENTION_MS) {
          passedBy++;
          continue;
        }
        const result = expectRestored(raw, url, t === undefined ? {} : { timestamp: t });
        expect(result.checksumVerified).toBe(true);
        const k = expectHistoryState(result.output, `restore ${t === undefined ? "latest" : new Date(t).toISOString()}`);
        if (t !== undefined) {
          const newest = writer.commits().find((c) => c.i === k);
          if (newest !== undefined) expect(newest.started, `transaction ${k} began after T`).toBeLessThanOrEqual(t + 1);
        }
        restores.push({ at: now, done: Date.now(), target: t === undefined ? "latest" : `T-${now - t}ms`, txid: result.txid, k });
      }
      const writerLast = await writer.stop();
      proc.signal("SIGTERM");
      expect((await proc.exited).code).toBe(0);

      const log = proc.output();
      const times = (re: RegExp) => log.filter((l) => re.test(l)).map((l) => Date.parse(/^time=(\S+)/.exec(l)![1]!));
      const events = {
        l1: times(/msg="compaction complete" .*level=1 /),
        l2: times(/msg="compaction complete" .*level=2 /),
        periodic: times(/msg="snapshot uploaded" .*reason=periodic/),
        deletions: times(/msg="retention deleted files"/),
      };
      const during = (ts: number[]) => ts.filter((x) => restores.some((rs) => x >= rs.at && x <= rs.done)).length;
      console.log(
        `[retention ${kind} seed ${SEED}] ${restores.length} restores (${passedBy} more outran by the window), writer last ${writerLast}; ` +
          Object.entries(events)
            .map(([name, ts]) => `${name} ${ts.length} (${during(ts)} while a restore ran)`)
            .join(", ") +
          `\n  ${restores.map((x) => `${x.target}→${x.txid}/k=${x.k}`).join(" ")}`,
      );
      // The maintenance really ran, and some of it while restores were running.
      expect(events.l1.length).toBeGreaterThan(3);
      expect(events.l2.length).toBeGreaterThan(0);
      expect(events.periodic.length).toBeGreaterThan(2);
      expect(events.deletions.length).toBeGreaterThan(2);
      expect(during([...events.l1, ...events.l2, ...events.periodic, ...events.deletions])).toBeGreaterThan(0);
      expect(restores.length).toBeGreaterThanOrEqual(MIN_RESTORES);
      // And the end state is whole.
      const final = await restore(dir, url, { env });
      expect(expectHistoryState(final.output, "final restore")).toBe(writerLast);
    },
    120_000,
  );
});
