/** resetLocalState: the local log removed (refused while a replicator holds the lock), and replication continues correctly after it. */
import { existsSync, readdirSync } from "node:fs";
import { createFileReplicaClient } from "@sqlrep/replica";
import { tempDir } from "@sqlrep/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { BackupEngine, defaultMetaDir, resetLocalState } from "./index.js";
import { memoryLogger } from "./testing/harness.js";
import { restoreLatest, sourceImage } from "./testing/replica-check.js";
import { Writer } from "./testing/writer.js";

const tmp = tempDir("sqlrep-backup-reset-");
afterAll(() => tmp.remove());

describe("resetLocalState", () => {
  it("removes the local log (not while replicating); the next start still replicates every commit", async () => {
    const path = tmp.join("reset.db");
    expect(resetLocalState(path)).toMatchObject({ existed: false, files: [] });
    const writer = await Writer.open(path);
    await writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    const client = createFileReplicaClient(tmp.join("reset-replica"));
    const options = { databases: [{ path, replicas: [{ name: "dir", client }] }], logger: memoryLogger() };
    const engine = new BackupEngine(options);
    await engine.start();
    await writer.insert(1, { rows: 3 });
    await engine.sync();
    expect(() => resetLocalState(path)).toThrow(expect.objectContaining({ code: "locked", message: expect.stringContaining(`by process ${process.pid}`) }));
    await engine.stop();

    const logDir = `${defaultMetaDir(path)}/ltx`;
    const files = readdirSync(logDir).sort();
    expect(files.length).toBeGreaterThan(0);
    expect(resetLocalState(path, { dryRun: true })).toEqual({ metaDir: defaultMetaDir(path), logDir, files, existed: true });
    expect(readdirSync(logDir).sort()).toEqual(files);
    expect(resetLocalState(path).files).toEqual(files);
    expect(existsSync(logDir)).toBe(false);

    // Committed while stopped, then replicated after the reset.
    await writer.insert(2, { rows: 2 });
    const again = new BackupEngine(options);
    await again.start();
    await writer.insert(3, { rows: 2 });
    await again.sync();
    await again.stop();
    await writer.close();
    expect((await restoreLatest(client)).checksum).toBe(sourceImage(path).checksum);
  }, 30_000);
});
