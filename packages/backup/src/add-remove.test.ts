// Databases added to and removed from a running engine (directory mode, the control
// socket's register/unregister/start/stop): real SQLite files, directory replicas.
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { createFileReplicaClient, restore } from "@sqlrep/replica";
import { tempDir, waitFor } from "@sqlrep/testkit";
import { BackupEngine, isBackupError } from "./index.js";

const tmp = tempDir("sqlrep-backup-add-remove-");
afterAll(() => tmp.remove());

function walDb(path: string): Database.Database {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE IF NOT EXISTS t (x)");
  return db;
}

async function restoredCount(replica: string, name: string): Promise<number> {
  const output = tmp.join(`${name}-restored-${Date.now()}.db`);
  await restore(createFileReplicaClient(replica), { output });
  const copy = new Database(output, { readonly: true });
  const { n } = copy.prepare("SELECT count(*) AS n FROM t").get() as { n: number };
  copy.close();
  return n;
}

describe("addDatabase / removeDatabase while the engine runs", () => {
  it("a database added later is replicated; a removed one gets a final sync, then nothing more", async () => {
    const [aPath, bPath] = [tmp.join("a.db"), tmp.join("b.db")];
    const [aReplica, bReplica] = [tmp.join("ra"), tmp.join("rb")];
    const a = walDb(aPath);
    const b = walDb(bPath);
    const engine = new BackupEngine({ databases: [{ path: aPath, replicas: [{ name: "dir", client: createFileReplicaClient(aReplica) }] }] });
    await engine.start();
    try {
      b.exec("INSERT INTO t VALUES (1)");
      await engine.addDatabase({ path: bPath, replicas: [{ name: "dir", client: createFileReplicaClient(bReplica) }] });
      await expect(engine.addDatabase({ path: bPath, replicas: [{ name: "dir", client: createFileReplicaClient(tmp.join("rb2")) }] })).rejects.toMatchObject({
        code: "invalid-config",
      });
      b.exec("INSERT INTO t VALUES (2)");
      await engine.sync(bPath);
      expect(engine.status().map((s) => s.path)).toEqual([aPath, bPath]);
      expect(await engine.metrics()).toContain(`litestream_db_size{db="${bPath}"}`);

      // Committed just before the removal: the final sync carries it.
      a.exec("INSERT INTO t VALUES (1), (2), (3)");
      expect(await engine.removeDatabase(aPath)).toEqual([]);
      expect(engine.status().map((s) => s.path)).toEqual([bPath]);
      expect(await engine.metrics()).not.toContain(`litestream_db_size{db="${aPath}"}`);
      const err = await engine.sync(aPath).catch((e: unknown) => e);
      expect(isBackupError(err, "not-found")).toBe(true);
      await expect(engine.removeDatabase(aPath)).rejects.toMatchObject({ code: "not-found" });
      // No longer replicated: this row never reaches the replica, and the lock is free again.
      a.exec("INSERT INTO t VALUES (4)");
      await engine.sync();
      expect(await restoredCount(aReplica, "a")).toBe(3);

      // Added back: it resumes from its replica and the lock is taken again.
      await engine.addDatabase({ path: aPath, replicas: [{ name: "dir", client: createFileReplicaClient(aReplica) }] });
      await engine.sync(aPath);
      expect(await restoredCount(aReplica, "a")).toBe(4);
    } finally {
      await engine.stop();
      a.close();
      b.close();
    }
    expect(await restoredCount(bReplica, "b")).toBe(2);
  }, 30_000);

  it("a database added before it exists is waited for; before start it joins the start", async () => {
    const [early, late] = [tmp.join("early.db"), tmp.join("late.db")];
    const e = walDb(early);
    e.exec("INSERT INTO t VALUES (1)");
    const engine = new BackupEngine({ databases: [] });
    await engine.addDatabase({ path: early, replicas: [{ name: "dir", client: createFileReplicaClient(tmp.join("r-early")) }] });
    await engine.start();
    try {
      await engine.addDatabase({ path: late, monitorInterval: 50, replicas: [{ name: "dir", client: createFileReplicaClient(tmp.join("r-late")) }] });
      expect(engine.status().map((s) => [s.path, s.state])).toEqual([
        [early, "replicating"],
        [late, "waiting"],
      ]);
      const l = walDb(late);
      l.exec("INSERT INTO t VALUES (1)");
      await waitFor(() => engine.status().find((s) => s.path === late)?.state === "replicating", { timeoutMs: 5000 });
      await engine.sync(late);
      l.close();
      expect(await restoredCount(tmp.join("r-late"), "late")).toBe(1);
    } finally {
      await engine.stop();
      e.close();
    }
    await expect(engine.addDatabase({ path: tmp.join("x.db"), replicas: [{ name: "dir", client: createFileReplicaClient(tmp.join("r-x")) }] })).rejects.toMatchObject({
      code: "closed",
    });
  }, 20_000);
});
