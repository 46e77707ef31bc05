// kill -9 of `litestream replicate` at seeded random moments while a separate process
// writes: every restore must pass integrity_check, be the source at some transaction
// boundary, and reach at least the last TXID the replicator reported as synced.
//
//   E2E_KILL_SEED=<n>    base seed (trial t uses seed n + t); printed in every title
//   E2E_KILL_TRIALS=<n>  number of trials (default 20; half directory, half S3)
import { join } from "node:path";
import type { ProcessHandle } from "@sqlrep/testkit";
import { afterAll, describe, expect, it } from "vitest";
import {
  built,
  chooser,
  copyDatabase,
  e2eSuite,
  expectHistoryState,
  lastSyncedTxid,
  needsBuild,
  prng,
  restore,
  runRestore,
  s3Env,
  seedFrom,
  sleep,
  startReplicate,
  writeConfig,
  Writer,
} from "./harness.js";

const SEED = seedFrom("E2E_KILL_SEED", 20261122);
const TRIALS = seedFrom("E2E_KILL_TRIALS", 20);
/** Transactions already in the database when a trial starts (about 3 MiB). */
const PREFILL = 2500;

const suite = e2eSuite("kill", PREFILL);
const { tmp, template } = suite;

/** Where each kill landed (the replicator's last log line), tallied over the suite. */
const landed = new Map<string, number>();

afterAll(() => {
  if (landed.size > 0) console.log(`[kill -9 tally, E2E_KILL_SEED=${SEED}] last line before each kill: ${[...landed].map(([k, n]) => `${k} ${n}`).join(", ")}`);
});

/** What ends a replicate run: a kill after a delay, or right after a kind of log line. */
type Trigger = { kind: "time"; ms: number } | { kind: "early"; ms: number } | { kind: "after"; what: "sync" | "checkpoint" | "snapshot"; nth: number; delayMs: number };

const LINES = { sync: /msg="replica sync"/, checkpoint: /msg=checkpoint /, snapshot: /msg="(taking the initial snapshot|lost track of the WAL, taking a snapshot)"/ };

/** Waits for the trigger (or gives up after a while: the kill then lands wherever it lands). */
async function waitForTrigger(proc: ProcessHandle, trigger: Trigger): Promise<string> {
  if (trigger.kind !== "after") {
    await sleep(trigger.ms);
    return `${trigger.kind} ${trigger.ms}ms`;
  }
  let seen = 0;
  const pattern = LINES[trigger.what];
  try {
    await proc.waitForLine((line) => pattern.test(line) && ++seen >= trigger.nth, 3000, 0);
    await sleep(trigger.delayMs);
    return `${trigger.delayMs}ms after ${trigger.what} #${trigger.nth}`;
  } catch (err) {
    if (proc.exitStatus !== undefined) throw err;
    return `no ${trigger.what} #${trigger.nth} within 3s (saw ${seen})`;
  }
}

describe.skipIf(!built)(`kill -9 of litestream replicate while another process writes (${TRIALS} trials, E2E_KILL_SEED=${SEED})${needsBuild}`, () => {
  for (let t = 0; t < TRIALS; t++) {
    const seed = SEED + t;
    const kind = t % 2 === 0 ? "file" : "s3";
    it(`trial ${t}: ${kind} replica, seed ${seed}`, async () => {
      const r = chooser(prng(seed));
      const dir = tmp.join(`trial-${t}`);
      const db = join(dir, "app.db");
      copyDatabase(template, db);
      const url = kind === "file" ? `file://${join(dir, "replica")}` : suite.s3.url(`kill-${seed}`);
      const env = kind === "s3" ? s3Env(suite.s3) : {};
      const settings = {
        rate: r.pick([60, 100, 150, 200]),
        syncInterval: r.pick(["0s", "100ms", "250ms", "1s"]),
        minCheckpoint: r.pick([20, 100, 1000]),
        truncate: r.pick([150, 500, 121359]),
        snapshotInterval: r.pick(["1s", "2s", "24h"]),
        retention: r.pick(["3s", "24h"]),
        levels: r.pick([["500ms"], ["1s", "2s"], undefined]),
        l0Retention: r.pick(["1s", "5m"]),
        rounds: r.int(1, 3),
        // The application checkpoints by itself while the replicator is down (as SQLite's
        // autocheckpoint would): the restarted replicator has lost its place in the WAL.
        appCheckpoint: r.pick([undefined, "PASSIVE", "TRUNCATE"] as const),
      };
      // The engine refuses a TRUNCATE threshold below the PASSIVE one.
      settings.truncate = Math.max(settings.truncate, settings.minCheckpoint);
      const config = writeConfig(join(dir, "litestream.yml"), {
        "l0-retention": settings.l0Retention,
        levels: settings.levels?.map((interval) => ({ interval })),
        snapshot: { interval: settings.snapshotInterval, retention: settings.retention },
        dbs: [
          {
            path: db,
            "monitor-interval": "100ms",
            "checkpoint-interval": "1s",
            "min-checkpoint-page-count": settings.minCheckpoint,
            "truncate-page-n": settings.truncate,
            replicas: [{ url, "sync-interval": settings.syncInterval }],
          },
        ],
      });

      const writer = await Writer.start(db, { rate: settings.rate, ...(settings.appCheckpoint ? { checkpointMode: settings.appCheckpoint } : {}) });
      const logs: string[][] = [];
      const kills: string[] = [];
      for (let round = 0; round < settings.rounds; round++) {
        // Any moment in earlier rounds; the last one runs long enough to report a sync.
        const last = round === settings.rounds - 1;
        const triggers: (() => Trigger)[] = [
          () => ({ kind: "time", ms: r.int(last ? 700 : 150, 2500) }),
          () => ({ kind: "after", what: "sync", nth: r.int(1, 12), delayMs: r.int(0, 15) }),
          () => ({ kind: "after", what: "checkpoint", nth: r.int(1, 3), delayMs: r.int(0, 3) }),
          () => ({ kind: "early", ms: r.int(0, 150) }),
          () => ({ kind: "after", what: "snapshot", nth: 1, delayMs: r.int(0, 40) }),
        ];
        const trigger = r.pick(last ? triggers.slice(0, 3) : triggers)();
        const proc = await startReplicate(["-config", config], { env });
        const when = await waitForTrigger(proc, trigger);
        // It must still be running: the replicator never exits on its own.
        expect(proc.exitStatus, `replicate exited by itself:\n${proc.output().slice(-20).join("\n")}`).toBeUndefined();
        proc.kill();
        const status = await proc.exited;
        expect(status.signal).toBe("SIGKILL");
        const lines = proc.output();
        logs.push(lines);
        const lastMsg = /msg=("[^"]*"|\S+)/.exec(lines.at(-1) ?? "")?.[1] ?? "(none)";
        landed.set(lastMsg, (landed.get(lastMsg) ?? 0) + 1);
        kills.push(`${when} [last: ${(lines.at(-1) ?? "").replace(/^time=\S+ level=\w+ /, "").slice(0, 60)}]`);
        if (round === settings.rounds - 1) continue;
        // The writer goes on alone for a while, maybe checkpointing.
        const gap = sleep(r.int(0, 1500));
        if (settings.appCheckpoint !== undefined && r.chance(0.6)) {
          const from = writer.handle.output().length;
          writer.handle.signal("SIGUSR1");
          const line = await writer.handle.waitForLine(/^checkpoint /, 10_000, from);
          kills.push(`app ${line}`);
        }
        await gap;
      }
      const writerLast = await writer.stop();
      expect(expectHistoryState(db, "the source")).toBe(writerLast);

      const all = logs.flat();
      const synced = lastSyncedTxid(all);
      // Transient sync errors are retried (and counted below); a divergence after a crash is a bug.
      expect(all.filter((l) => /diverged|maintenance failed|timer callback failed/.test(l))).toEqual([]);
      const count = (re: RegExp) => all.filter((l) => re.test(l)).length;
      const events = `resumed ${count(/msg="resuming replication"/)}, snapshots ${count(/msg="snapshot uploaded"/)} (after loss ${count(/msg="lost track of the WAL/)}), checkpoints ${count(/msg=checkpoint /)}, sync errors ${count(/msg="sync error"/)}`;

      let summary: string;
      if (synced === 0) {
        // Killed before anything was reported: either nothing landed or a snapshot did.
        const attempt = await runRestore(dir, url, { env });
        if (attempt.result.code !== 0) {
          expect(attempt.result.stderr).toMatch(/^error: no matching backups found/);
          summary = "nothing reported, nothing restorable";
        } else {
          summary = `nothing reported, restored k=${expectHistoryState(attempt.output, "restore")}`;
        }
      } else {
        const latest = await restore(dir, url, { env });
        expect(latest.checksumVerified, "database checksum verified").toBe(true);
        expect(latest.txid, "restored TXID ≥ last reported synced").toBeGreaterThanOrEqual(synced);
        const k = expectHistoryState(latest.output, "latest restore");
        expect(k).toBeLessThanOrEqual(writerLast);
        summary = `synced ${synced}, restored TXID ${latest.txid} (k=${k}/${writerLast}, ${latest.files} files)`;
        // Exactly the last reported TXID, when level-0 retention cannot have removed it.
        if (settings.l0Retention === "5m") {
          const at = await restore(dir, url, { env, txid: synced });
          expect(at.txid).toBe(synced);
          expect(at.checksumVerified).toBe(true);
          const kAt = expectHistoryState(at.output, `restore -txid ${synced}`);
          expect(kAt).toBeLessThanOrEqual(k);
          summary += `, at TXID ${synced} k=${kAt}`;
        }
      }
      console.log(`[kill trial ${t} seed ${seed} ${kind}] ${JSON.stringify(settings)}\n  kills: ${kills.join("; ")}\n  ${events}\n  ${summary}`);
    }, 90_000);
  }
});
