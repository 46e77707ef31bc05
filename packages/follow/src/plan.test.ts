/** Tests of which LTX files a follow applies next, on a directory replica: level 0, bridges from higher levels, gaps and new lineages. */
import { createFileReplicaClient, type ReplicaClient } from "@sqlrep/replica";
import { tempDir } from "@sqlrep/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { isFollowError } from "./errors.js";
import { listSnapshots, planFollow, snapshotKey } from "./plan.js";

const tmp = tempDir("sqlrep-follow-plan-");
afterAll(() => tmp.remove());

let replicas = 0;
/** A directory replica holding files named `level:min-max` (the plan reads names only). */
async function replica(files: readonly string[]): Promise<ReplicaClient> {
  const client = createFileReplicaClient(tmp.join(`r${++replicas}`));
  for (const f of files) await put(client, f);
  return client;
}

async function put(client: ReplicaClient, spec: string, at = new Date(2024, 0, 1)): Promise<void> {
  const [level, min, max] = spec.split(/[:-]/).map(Number) as [number, number, number];
  await client.writeLtxFile({ level, minTXID: min, maxTXID: max }, new Uint8Array(100 + level), { timestamp: at });
}

const signal = new AbortController().signal;
const names = (files: readonly { level: number; minTXID: number; maxTXID: number }[]) => files.map((f) => `${f.level}:${f.minTXID}-${f.maxTXID}`);
const seenOf = async (client: ReplicaClient) => new Set((await listSnapshots(client, signal)).map(snapshotKey));

describe("planFollow", () => {
  it("takes level 0 after the copy's TXID while it follows on, and nothing when nothing is new", async () => {
    const client = await replica(["9:1-5", "0:4-5", "0:6-6", "0:7-9", "0:10-10"]);
    const seen = await seenOf(client);
    expect(names((await planFollow(client, 5, seen, signal)).files)).toEqual(["0:6-6", "0:7-9", "0:10-10"]);
    const idle = await planFollow(client, 10, seen, signal);
    expect(idle).toEqual({ files: [], newest: 10 });
  });

  it("bridges a stretch compacted away from level 0 with the longest higher-level file starting right after", async () => {
    const client = await replica(["9:1-5", "1:6-8", "2:6-12", "1:9-12", "0:13-13", "0:14-15"]);
    const plan = await planFollow(client, 5, await seenOf(client), signal);
    expect(names(plan.files)).toEqual(["2:6-12", "0:13-13", "0:14-15"]);
    expect(plan.newest).toBe(15);
  });

  it("calls a gap no file can bridge a gap", async () => {
    const client = await replica(["9:1-5", "1:1-8", "0:9-9"]);
    const err = await planFollow(client, 5, await seenOf(client), signal).catch((e: unknown) => e);
    expect(isFollowError(err, "gap")).toBe(true);
    expect((err as Error).message).toMatch(/no LTX file starts at TXID 0000000000000006 \(level 0 continues at 0000000000000009/);
  });

  it("calls a snapshot newer than the copy that level 0 cannot reach a gap", async () => {
    const client = await replica(["9:1-5"]);
    const seen = await seenOf(client);
    await put(client, "9:1-20", new Date(2024, 0, 2));
    const err = await planFollow(client, 5, seen, signal).catch((e: unknown) => e);
    expect(isFollowError(err, "gap")).toBe(true);
  });

  it("calls a new snapshot behind the copy a new lineage, even under an old snapshot's name", async () => {
    const client = await replica(["9:1-3", "0:4-9"]);
    const seen = await seenOf(client);
    expect(names((await planFollow(client, 3, seen, signal)).files)).toEqual(["0:4-9"]);
    // The replica wiped and started again: TXID 1-3 once more, written later.
    await client.deleteAll();
    await put(client, "9:1-3", new Date(2024, 0, 3));
    const err = await planFollow(client, 9, seen, signal).catch((e: unknown) => e);
    expect(isFollowError(err, "lineage")).toBe(true);
    expect((err as Error).message).toMatch(/new snapshot at TXID 0000000000000003, behind this copy's 0000000000000009/);
  });
});
