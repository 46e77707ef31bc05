import { readFileSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir, type TempDir } from "@sqlrep/testkit";
import { isReplicaError } from "./errors.js";
import { createFileReplicaClient } from "./file-replica.js";
import type { ReplicaClient } from "./replica-client.js";
import { chooseRestoreSource, restoreNewest, restoreSources } from "./restore-select.js";
import { History, Rng } from "./testing/history.js";

let dir: TempDir;
beforeEach(() => {
  dir = tempDir("sqlrep-restore-select-");
});
afterEach(() => dir.remove());

/** One history; replica `name` holds a snapshot at 1…`upTo` and nothing else. */
async function replica(h: History, name: string, upTo: number): Promise<{ name: string; client: ReplicaClient }> {
  const client = createFileReplicaClient(dir.join(name));
  await h.write(client, 9, 1, upTo);
  return { name, client };
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (err: unknown) => err,
  );
}

describe("restore selection", () => {
  it("restores from the replica reaching furthest, skipping (and telling of) one that cannot be read", async () => {
    const h = new History(new Rng(3));
    for (let t = 1; t <= 12; t++) h.commitRandom();
    const behind = await replica(h, "behind", 7);
    const ahead = await replica(h, "ahead", 12);
    // A "replica" whose directory is a file: it cannot be listed.
    writeFileSync(dir.join("broken"), "not a directory");
    const broken = { name: "broken", client: createFileReplicaClient(dir.join("broken")) };
    const skipped: string[] = [];
    const output = dir.join("out", "nested", "db.sqlite");
    const result = await restoreNewest([behind, broken, ahead], { target: {} }, { output, onSkip: (s) => skipped.push(s.name) });
    expect(result?.source.name).toBe("ahead");
    expect(result?.summary).toMatchObject({ txid: 12, checksumVerified: true });
    expect(Buffer.compare(readFileSync(output), h.db(12))).toBe(0);
    expect(skipped).toEqual(["broken"]);
  });

  it("a TXID target picks a replica that reaches it exactly; a time target the newest state at or before it", async () => {
    const h = new History(new Rng(4));
    for (let t = 1; t <= 10; t++) h.commitRandom();
    const a = await replica(h, "a", 6);
    const b = await replica(h, "b", 10);
    const sources = restoreSources({ target: { txid: 6 } }, [a, b]);
    const choice = await chooseRestoreSource(sources, { target: { txid: 6 } });
    expect(choice.best).toMatchObject({ txid: 6 });
    expect(choice.best?.source.name).toBe("a");
    expect(choice.failures.map((f) => f.source.name)).toEqual(["b"]);
  });

  it("resolves undefined when no replica holds a backup, and rejects with the failure when none can be planned", async () => {
    const empty = { name: "empty", client: createFileReplicaClient(dir.join("empty")) };
    expect(await restoreNewest([empty], { target: {} }, { output: dir.join("x.db") })).toBeUndefined();
    const h = new History(new Rng(5));
    for (let t = 1; t <= 3; t++) h.commitRandom();
    const short = await replica(h, "short", 3);
    const err = await caught(restoreNewest([short], { target: { txid: 9 } }, { output: dir.join("y.db") }));
    expect(isReplicaError(err, "txid-not-available")).toBe(true);
  });

  it("refuses a request mixing a TXID with v0.3 selectors, and names an output path that runs through a file", async () => {
    const h = new History(new Rng(6));
    h.commitRandom();
    const one = await replica(h, "one", 1);
    expect(isReplicaError(await caught(restoreNewest([one], { target: { txid: 1 }, generation: "0123456789abcdef" }, { output: dir.join("z.db") })), "invalid-config")).toBe(true);
    writeFileSync(dir.join("file"), "x");
    const err = await caught(restoreNewest([one], { target: {} }, { output: dir.join("file", "db.sqlite") }));
    expect((err as Error).message).toBe(`cannot write ${dir.join("file", "db.sqlite")}: ${dir.join("file")} is a file, not a directory`);
  });
});
