/**
 * Seeded property tests over random backup histories: level-0 runs, compactions into
 * levels 1 and 2, snapshots (some taken after the engine "lost the WAL", leaving a gap
 * in level 0 at their TXID), retention. For every TXID and many times, a restore must
 * give exactly the model database at the point an independent oracle says is
 * reachable, never a later one, and otherwise fail with the right code.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { tempDir } from "@sqlrep/testkit";
import { compactLevel } from "./compaction.js";
import { isReplicaError, type ReplicaErrorCode } from "./errors.js";
import { createFileReplicaClient } from "./file-replica.js";
import type { LtxFileInfo, ReplicaClient } from "./replica-client.js";
import { planFromFiles, planRestore, type RestoreTarget } from "./restore-plan.js";
import { restore } from "./restore.js";
import { enforceRetention } from "./retention.js";
import { History, listAll, reachableTXIDs, Rng } from "./testing/history.js";

type Op =
  | { kind: "tx" }
  | { kind: "lost-wal" } // a transaction backed up only by a snapshot: level 0 has a gap there
  | { kind: "snapshot" }
  | { kind: "compact"; level: 1 | 2 }
  | { kind: "retention"; window: number; l0: number }
  | { kind: "lose"; pick: number }; // a file goes missing (not retention): gaps must be reported

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: fc.constant<Op>({ kind: "tx" }) },
  { weight: 1, arbitrary: fc.constant<Op>({ kind: "lost-wal" }) },
  { weight: 2, arbitrary: fc.constant<Op>({ kind: "snapshot" }) },
  { weight: 5, arbitrary: fc.constantFrom<Op>({ kind: "compact", level: 1 }, { kind: "compact", level: 1 }, { kind: "compact", level: 2 }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant("retention" as const), window: fc.integer({ min: 0, max: 15_000 }), l0: fc.integer({ min: 0, max: 5_000 }) }),
  },
);

/** Scenarios where files also go missing: compaction may then refuse a gap. */
const lossArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: opArbitrary },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("lose" as const), pick: fc.nat() }) },
);

const scenario = fc.record({
  seed: fc.integer({ min: 0, max: 0x7fffffff }),
  checksums: fc.boolean(),
  ops: fc.oneof(fc.array(opArbitrary, { minLength: 1, maxLength: 60, size: "max" }), fc.array(lossArbitrary, { minLength: 1, maxLength: 60, size: "max" })),
});

async function failureCode(promise: Promise<unknown>): Promise<ReplicaErrorCode | "none"> {
  try {
    await promise;
    return "none";
  } catch (err) {
    if (isReplicaError(err)) return err.code;
    throw err;
  }
}

/** The newest TXID the oracle can reach with files committed at or before `time`. */
function newestAt(files: readonly LtxFileInfo[], time: number): number | undefined {
  const reach = reachableTXIDs(files.filter((f) => f.createdAt.getTime() <= time));
  return reach.size === 0 ? undefined : Math.max(...reach);
}

/** Plays the ops into the replica; after each retention, checks every time in the window still plans. */
async function play(client: ReplicaClient, h: History, ops: readonly Op[], checksums: boolean): Promise<void> {
  const opts = { checksums };
  const snapshotted = new Set<number>();
  let lost = false;
  for (const op of ops) {
    switch (op.kind) {
      case "tx":
        await h.write(client, 0, h.commitRandom(), h.txid, opts);
        break;
      case "lost-wal": {
        const t = h.commitRandom();
        await h.write(client, 9, 1, t, opts);
        snapshotted.add(t);
        break;
      }
      case "snapshot":
        if (h.txid > 0 && !snapshotted.has(h.txid)) {
          await h.write(client, 9, 1, h.txid, opts);
          snapshotted.add(h.txid);
        }
        break;
      case "compact":
        try {
          await compactLevel(client, op.level);
        } catch (err) {
          // Only a lost file can leave a gap no snapshot covers.
          if (!(lost && isReplicaError(err, "non-contiguous"))) throw err;
        }
        break;
      case "lose": {
        const files = (await listAll(client)).filter((f) => f.level < 9);
        const victim = files[op.pick % Math.max(1, files.length)];
        if (victim !== undefined) {
          await client.deleteLtxFiles([victim]);
          lost = true;
        }
        break;
      }
      case "retention": {
        if (h.txid === 0) break;
        const now = h.timestamp(h.txid);
        const before = await listAll(client);
        const { deleted } = await enforceRetention(client, { snapshotRetention: op.window, l0Retention: op.l0, levels: [1, 2], now: new Date(now) });
        if (deleted.length === 0 || lost) break;
        const after = await listAll(client);
        // Every time inside the window that planned before still plans, never later than the target.
        for (let t = 1; t <= h.txid; t++) {
          for (const time of [h.timestamp(t), h.timestamp(t) + 1]) {
            if (time < now - op.window || time > now || newestAt(before, time) === undefined) continue;
            const plan = planFromFiles(after, { timestamp: new Date(time) });
            expect(h.timestamp(plan.txid)).toBeLessThanOrEqual(time);
          }
        }
        break;
      }
    }
  }
}

describe("restore over random histories (seeded)", () => {
  it("restores every reachable TXID and time to exactly the model database, and reports the rest", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ seed, checksums, ops }) => {
        using dir = tempDir("sqlrep-prop-");
        const client = createFileReplicaClient(dir.join("replica"));
        const h = new History(new Rng(seed), { pageSize: 512 });
        await play(client, h, ops, checksums);
        const files = await listAll(client);
        if (files.length === 0) {
          expect(await failureCode(planRestore(client))).toBe("no-backup");
          return;
        }
        const reach = reachableTXIDs(files);
        let n = 0;
        const check = async (target: RestoreTarget | undefined, expected: number | undefined, otherwise: ReplicaErrorCode) => {
          if (expected === undefined) {
            expect(await failureCode(planRestore(client, target))).toBe(otherwise);
            return;
          }
          const output = dir.join(`db-${n++}`);
          const result = await restore(client, { output, target });
          expect(result.txid).toBe(expected);
          expect(Buffer.compare(readFileSync(output), h.db(expected)), `database at TXID ${expected}`).toBe(0);
          expect(result.checksumVerified).toBe(checksums);
          expect(result.databaseChecksum).toBe(h.checksum(expected));
        };
        for (let t = 1; t <= h.txid; t++) await check({ txid: t }, reach.has(t) ? t : undefined, "txid-not-available");
        const times = new Set<number>([h.timestamp(1) - 1]);
        for (let t = 1; t <= h.txid; t++) times.add(h.timestamp(t)).add(h.timestamp(t) + 1);
        for (const time of times) {
          await check({ timestamp: new Date(time) }, newestAt(files, time), "txid-not-available");
        }
        const highest = Math.max(...files.map((f) => f.maxTXID));
        await check(undefined, reach.has(highest) ? highest : undefined, "non-contiguous");
      }),
      { seed: Number(process.env.PROP_SEED ?? 20250101), numRuns: Number(process.env.PROP_RUNS ?? 25) },
    );
  }, 120_000);
});
