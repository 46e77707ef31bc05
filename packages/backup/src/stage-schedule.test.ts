/**
 * Tests of the stage schedule against a real application checkpoint: while another
 * process's TRUNCATE holds SQLite's checkpointer lock, the schedule keeps handing the read
 * transaction on at every probe (one hand-off is not always enough), and stops once the
 * checkpoint is over. The host is a stand-in; the lock table, SQLite and the checkpoint are real.
 */
import { existsSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { Scheduler } from "@sqlrep/shipper";
import { tempDir, waitFor } from "@sqlrep/testkit";
import { CheckpointProbe } from "./checkpoint-probe.js";
import { FileSource } from "./file-source.js";
import { silentLogger } from "./logger.js";
import { pinnedWalDatabase, startAppCheckpoint } from "./testing/app-checkpoint.js";
import { StageSchedule, type StageScheduleHost } from "./stage-schedule.js";

const tmp = tempDir("sqlrep-backup-schedule-");
afterAll(() => tmp.remove());

/** A host whose stages always reach the WAL's end and whose hand-offs are only counted. */
function countingHost(path: string, scheduler: Scheduler): { host: StageScheduleHost; handOffs: () => number } {
  let handOffs = 0;
  const outcome = { appended: 0, reset: false, transactions: 0, atEnd: true, busy: false };
  const host = {
    path,
    dir: tmp.path,
    metaDir: tmp.join("meta"),
    wal: new FileSource(`${path}-wal`),
    shm: new FileSource(`${path}-shm`),
    lock: { busy: false },
    // A stage due only every 5 s: anything sooner comes from the probes.
    options: { stageInterval: 5000, replicas: [{ syncInterval: 1000 }], maxBatchBytes: 1 << 20 },
    services: { scheduler, logger: silentLogger, interestChanged() {}, emit() {} },
    logger: silentLogger,
    state: "replicating",
    stopped: false,
    stopping: false,
    stagerValue: { stage: () => outcome },
    logValue: undefined,
    shippers: [],
    checkpoints: { runIfDue() {} },
    handOff: () => void handOffs++,
  } as unknown as StageScheduleHost;
  return { host, handOffs: () => handOffs };
}

const lockTable = existsSync("/proc/locks");
describe.skipIf(!lockTable)(`StageSchedule while an application's checkpoint waits${lockTable ? "" : " (skipped: this system has no /proc/locks)"}`, () => {
  it("hands on at every probe while the checkpointer lock is held, not once, and stops when the checkpoint ends", async () => {
    const path = tmp.join("follow.db");
    // The read transaction the stand-in host never really moves: the checkpoint waits on it.
    const pinned = pinnedWalDatabase(path);
    const scheduler = new Scheduler((err) => {
      throw err;
    });
    const { host, handOffs } = countingHost(path, scheduler);
    const schedule = new StageSchedule(host);
    // A first commit noticed is staged at once; the next one waits for the stage interval.
    schedule.onChange("wal");
    await waitFor(() => handOffs() === 1, { timeoutMs: 2000, message: "the first stage" });
    const app = startAppCheckpoint(path);
    try {
      const probe = new CheckpointProbe(`${path}-shm`);
      await app.committed();
      await waitFor(() => probe.running() === true, { timeoutMs: 15_000, message: "the checkpoint holding its lock" });
      // A commit noticed: the stage is due in 5 s, the probes find the checkpoint sooner.
      schedule.onChange("wal");
      await waitFor(() => handOffs() >= 5, { timeoutMs: 3000, message: "a hand-off at each probe while the checkpoint waits" });
      pinned.reader.exec("COMMIT");
      expect((await app.finished()).busy).toBe(0);
      // A probe already reading may still count one; after that, nothing.
      await new Promise((r) => setTimeout(r, 250));
      const settled = handOffs();
      await new Promise((r) => setTimeout(r, 600));
      expect(handOffs(), "hand-offs after the checkpoint ended").toBe(settled);
    } finally {
      schedule.cancel();
      scheduler.close();
      app.kill();
      pinned.close();
    }
  }, 30_000);
});
