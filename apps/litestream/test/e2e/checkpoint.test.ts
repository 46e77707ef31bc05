// A checkpoint by another process while `litestream replicate` is stopped: the WAL the
// replica was following is truncated (or gone), so the restarted replicator must notice
// and take a snapshot, and the replica must lose nothing, before or after.
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  built,
  copyDatabase,
  e2eSuite,
  expectHistoryState,
  lastSyncedTxid,
  needsBuild,
  restore,
  s3Env,
  sleep,
  startReplicate,
  writeConfig,
  Writer,
  type Commit,
} from "./harness.js";

const suite = e2eSuite("checkpoint", 1500);
const { tmp, template } = suite;

/** The last commit that returned before `time`. */
function lastBefore(commits: readonly Commit[], time: number): number {
  return commits.filter((c) => c.returned < time).at(-1)?.i ?? 0;
}

const cases = [
  { kind: "file", wal: "kept by a writer that never stops" },
  { kind: "s3", wal: "kept by a writer that never stops" },
  { kind: "file", wal: "removed: the database changed with nothing running" },
] as const;

describe.skipIf(!built)(`an external checkpoint while replicate is stopped${needsBuild}`, () => {
  it.each(cases)(
    "$kind replica, WAL $wal: a snapshot on restart, every row restored",
    async ({ kind, wal }) => {
      const live = wal.startsWith("kept");
      const name = `${kind}-${live ? "live" : "offline"}`;
      const dir = tmp.join(name);
      const db = join(dir, "app.db");
      copyDatabase(template, db);
      const url = kind === "file" ? `file://${join(dir, "replica")}` : suite.s3.url(`checkpoint-${name}`);
      const env = kind === "s3" ? s3Env(suite.s3) : {};
      const config = writeConfig(join(dir, "litestream.yml"), {
        dbs: [{ path: db, "monitor-interval": "100ms", replicas: [{ url, "sync-interval": "100ms" }] }],
      });

      // 1. Replicate while a writer runs; a graceful stop uploads everything committed before it.
      const first = await startReplicate(["-config", config], { env, ready: "started" });
      const writer = await Writer.start(db, { rate: 150 });
      await sleep(1500);
      if (!live) await writer.stop();
      const stopSent = performance.timeOrigin + performance.now();
      first.signal("SIGTERM");
      expect((await first.exited).code).toBe(0);
      const stoppedAt = lastSyncedTxid(first.output());

      // 2. Another process checkpoints with TRUNCATE while replicate is down, between writes.
      let other: Writer = writer;
      if (live) {
        await writer.handle.waitForLine(/^commit /, 5000, writer.handle.output().length); // it keeps writing
        expect(statSync(`${db}-wal`).size, "the WAL replicate followed").toBeGreaterThan(0);
        writer.handle.signal("SIGUSR1");
      } else {
        other = await Writer.start(db, { rate: 0, count: 120, checkpointAfter: 60, checkpointMode: "TRUNCATE" });
      }
      const checkpoint = await other.handle.waitForLine(/^checkpoint TRUNCATE/, 20_000);
      expect(checkpoint, "the external checkpoint completed").toMatch(/busy=0 /);
      if (live) {
        const at = other.handle.output().indexOf(checkpoint);
        await other.handle.waitForLine(/^commit /, 5000, at); // and writes after it
      } else {
        expect((await other.handle.exited).code).toBe(0);
        // The other process was the last connection: its close checkpointed and removed the WAL.
        expect(existsSync(`${db}-wal`)).toBe(false);
      }

      // 3. Restart: the replica's position is no longer in the WAL, so a snapshot follows.
      const second = await startReplicate(["-config", config], { env, ready: "started" });
      const log = second.output().join("\n");
      expect(log).toMatch(/msg="lost track of the WAL, taking a snapshot"/);
      expect(log).toMatch(/msg="snapshot uploaded" /);
      expect(log).not.toMatch(/msg="resuming replication"/);
      let last: number;
      if (live) {
        await sleep(1000); // the writer goes on, replicated again
        last = await other.stop();
      } else {
        last = Number(/last=(\d+)/.exec(other.handle.output().find((l) => l.startsWith("writer done"))!)![1]);
      }
      second.signal("SIGTERM");
      expect((await second.exited).code).toBe(0);

      // 4. Every row; and the state at the stop is still restorable by its TXID, with
      //    everything committed before the stop was asked for.
      expect(expectHistoryState(db, "the source")).toBe(last);
      const latest = await restore(dir, url, { env });
      expect(latest.checksumVerified).toBe(true);
      expect(latest.txid).toBe(lastSyncedTxid(second.output()));
      expect(latest.txid).toBeGreaterThan(stoppedAt);
      expect(expectHistoryState(latest.output, "latest restore")).toBe(last);
      const earlier = await restore(dir, url, { env, txid: stoppedAt });
      const kStopped = expectHistoryState(earlier.output, `restore -txid ${stoppedAt}`);
      expect(kStopped, "everything committed before the graceful stop").toBeGreaterThanOrEqual(lastBefore(writer.commits(), stopSent));
      console.log(`[checkpoint ${kind}, WAL ${wal}] stopped at TXID ${stoppedAt} (k=${kStopped}); ${checkpoint}; restored TXID ${latest.txid} (k=${last})`);
    },
    90_000,
  );
});
