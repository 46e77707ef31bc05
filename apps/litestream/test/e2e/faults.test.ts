// S3 faults between `litestream replicate` and the S3 server (the testkit's fault proxy):
// 503s, connection resets and latency on a share of requests, then a full outage, while
// a separate process writes. Replication must keep going, catch up once the faults stop,
// and lose nothing.
//
//   E2E_FAULT_SEED=<n>   seeds the proxy's draws (printed in the title)
import { freePort, startFaultProxy, waitFor, type FaultProxy } from "@sqlrep/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  built,
  copyDatabase,
  e2eSuite,
  expectHistoryState,
  lastSyncedTxid,
  needsBuild,
  replicaClient,
  restore,
  s3Env,
  seedFrom,
  sleep,
  startReplicate,
  syncedLines,
  timedFiles,
  writeConfig,
  Writer,
} from "./harness.js";

const SEED = seedFrom("E2E_FAULT_SEED", 7);
const suite = e2eSuite("faults", 1500);
const { tmp, template } = suite;
let proxy: FaultProxy;

beforeAll(async () => {
  if (built) proxy = await startFaultProxy({ target: suite.s3.endpoint, seed: SEED });
});

// Registered after the suite's own hooks, so it runs before them: the proxy goes first.
afterAll(async () => {
  await proxy?.stop();
});

interface LiveReplica {
  name: string;
  txid: number;
  lagMs: number;
  lastError?: string | null;
}

async function liveReplica(port: number): Promise<LiveReplica> {
  const body = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { databases: { replicas: LiveReplica[] }[] };
  return body.databases[0]!.replicas[0]!;
}

describe.skipIf(!built)(`S3 faults while replicating (E2E_FAULT_SEED=${SEED})${needsBuild}`, () => {
  it("5xx, resets and latency, then an outage: replicate keeps running, retries, catches up, and the restore has every row", async () => {
    const db = tmp.join("faults", "app.db");
    copyDatabase(template, db);
    const port = await freePort();
    const prefix = "faults";
    // Through the proxy; restores below go to the server directly.
    const viaProxy = `s3://${suite.s3.bucket}/${prefix}?endpoint=${proxy.url}&region=${suite.s3.region}&force-path-style=true`;
    const config = writeConfig(tmp.join("faults", "litestream.yml"), {
      addr: `":${port}"`,
      levels: [{ interval: "1s" }],
      snapshot: { interval: "2s" },
      dbs: [
        {
          path: db,
          "monitor-interval": "100ms",
          "min-checkpoint-page-count": 100,
          // Low enough that the outage pushes the WAL past it: a TRUNCATE checkpoint then
          // runs while the replica is behind, which must cost a snapshot, not data.
          "truncate-page-n": 400,
          replicas: [{ url: viaProxy, "sync-interval": "100ms" }],
        },
      ],
    });
    const proc = await startReplicate(["-config", config], { env: s3Env(suite.s3), ready: "started" });
    const writer = await Writer.start(db, { rate: 100 });

    // Phase A: a share of requests fail (503 SlowDown), are reset or delayed.
    proxy.setFaults({ failRate: 0.2, resetRate: 0.1, latencyMs: 5, jitterMs: 60 });
    await sleep(4000);
    const afterShare = { ...proxy.stats };
    const syncedDuringShare = syncedLines(proc.output()).length;

    // Phase B: every request fails (500: retried quickly by the client, then by the engine).
    proxy.setFaults({ failRate: 1, errorStatus: 500 });
    const sawError = await waitFor(
      async () => {
        const r = await liveReplica(port);
        return r.lastError ? r : undefined;
      },
      { timeoutMs: 20_000, message: "no replica error in /status during the outage" },
    );
    await sleep(1500);
    const duringOutage = await liveReplica(port);
    expect(duringOutage.lagMs, "lag grows during the outage").toBeGreaterThan(0);

    // Phase C: faults off while the writer goes on; replication resumes by itself.
    proxy.clear();
    const clearedAt = proc.output().length;
    await proc.waitForLine(/msg="(replica sync|snapshot uploaded)"/, 40_000, clearedAt);
    await sleep(1000);
    const writerLast = await writer.stop();
    const caughtUp = await waitFor(
      async () => {
        const r = await liveReplica(port);
        return r.lagMs === 0 && !r.lastError ? r : undefined;
      },
      { timeoutMs: 40_000, message: "the replica did not catch up after the faults stopped" },
    );

    expect(proc.exitStatus, "replicate kept running through the faults").toBeUndefined();
    proc.signal("SIGTERM");
    expect((await proc.exited).code).toBe(0);
    const log = proc.output();
    const retries = log.filter((l) => /msg="sync failed, will retry"/.test(l));
    console.log(
      `[faults seed ${SEED}] proxy after share phase ${JSON.stringify(afterShare)}, total ${JSON.stringify(proxy.stats)}; ` +
        `${syncedDuringShare} uploads before the outage; engine retries ${retries.length}; first error in /status: ${sawError.lastError}; ` +
        `snapshots after loss ${log.filter((l) => /lost track of the WAL/.test(l)).length}; checkpoints ${log.filter((l) => /msg=checkpoint /.test(l)).length}; ` +
        `writer last ${writerLast}; replica TXID ${caughtUp.txid}`,
    );
    expect(afterShare.failed, "503s were injected").toBeGreaterThan(0);
    expect(afterShare.reset, "resets were injected").toBeGreaterThan(0);
    expect(syncedDuringShare, "uploads went on while a share of requests failed").toBeGreaterThan(5);
    expect(retries.length, "the engine logged its retries").toBeGreaterThan(0);

    // Nothing lost: the latest restore holds every row the writer committed.
    const url = suite.s3.url(prefix);
    const latest = await restore(tmp.join("faults"), url, { env: s3Env(suite.s3) });
    expect(latest.checksumVerified).toBe(true);
    expect(latest.txid).toBe(caughtUp.txid);
    expect(latest.txid).toBe(lastSyncedTxid(log));
    expect(expectHistoryState(latest.output, "restore after faults")).toBe(writerLast);

    // Contiguous TXIDs: level 0 and the snapshots together cover every TXID from 1 to the end.
    const files = await timedFiles(replicaClient(url, suite.s3));
    const covered = new Set<number>();
    for (const f of files) {
      if (f.level === 0) for (let x = f.minTXID; x <= f.maxTXID; x++) covered.add(x);
      else covered.add(f.maxTXID);
    }
    const missing = Array.from({ length: latest.txid }, (_, i) => i + 1).filter((x) => !covered.has(x));
    expect(missing, "TXIDs held by no level-0 file or snapshot").toEqual([]);
    expect(Math.max(...covered)).toBe(latest.txid);
  }, 180_000);
});
