/** Tests of the copies the engine keeps for compaction (`<metaDir>/recent`): written while it runs, left alone by a second engine the lock refuses, removed at stop. */
import { existsSync, readdirSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { createFileReplicaClient } from "@sqlrep/replica";
import { tempDir } from "@sqlrep/testkit";
import { BackupEngine } from "./index.js";
import { memoryLogger } from "./testing/harness.js";
import { Writer } from "./testing/writer.js";

const tmp = tempDir("sqlrep-backup-recent-");
afterAll(() => tmp.remove());

describe("the copies kept for compaction", () => {
  it("are written under <metaDir>/recent/<replica index> while the engine runs, survive a second engine the lock refuses, and are removed at stop", async () => {
    const path = tmp.join("app.db");
    const metaDir = tmp.join("meta");
    const writer = await Writer.open(path);
    try {
      await writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
      const options = {
        path,
        metaDir,
        replicas: [
          { name: "a", client: createFileReplicaClient(tmp.join("a")) },
          { name: "b", client: createFileReplicaClient(tmp.join("b")) },
        ],
      };
      const engine = new BackupEngine({ databases: [options], logger: memoryLogger() });
      await engine.start();
      try {
        await writer.insert(3);
        await engine.sync();
        const copies = (i: number) => readdirSync(`${metaDir}/recent/${i}`);
        expect(copies(0).length).toBeGreaterThan(0);
        expect(copies(1).length).toBeGreaterThan(0);
        const before = copies(0);

        const second = new BackupEngine({ databases: [options], logger: memoryLogger() });
        await expect(second.start()).rejects.toThrow();
        await second.stop().catch(() => {});
        expect(copies(0)).toEqual(before);
      } finally {
        await engine.stop();
      }
      expect(existsSync(`${metaDir}/recent`)).toBe(false);
    } finally {
      await writer.close();
    }
  });
});
