// Write forwarding on two `litefs mount` daemons (static lease, real FUSE) through
// `litefs run -with-halt-lock-on`: the lock holder SIGKILLed inside its transaction
// leaves nothing on either node and the primary writes again; a committed one is there.
import { join } from "node:path";
import { fuseUnavailableReason, spawnProcess, tempMountDir } from "@sqlrep/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP_DIR, CLI, nodeScript, readPos, sqlite3, startNode, waitConverged, type TestNode } from "./testing/nodes.js";
import { WRITER } from "./testing/scripts.js";

const skip = fuseUnavailableReason();

/** Begins one large write transaction (small cache: pages spill to the files before commit), says so, then waits to be killed. */
const HOLD_TX = `
import Database from "better-sqlite3";
const db = new Database(process.argv[1], { timeout: 10000 });
db.pragma("cache_size = 5");
db.exec("BEGIN IMMEDIATE");
const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
for (let i = 0; i < 400; i++) insert.run("partial " + i + " " + "y".repeat(1000));
console.log("in transaction");
setInterval(() => {}, 1000);
`;

describe.skipIf(skip)(`halt-lock write forwarding with the holder killed${skip ? ` (skipped: ${skip})` : ""}`, () => {
  const root = tempMountDir("litefs-halt-");
  let primary: TestNode;
  let replica: TestNode;

  beforeAll(async () => {
    primary = await startNode(root.path, "primary", ({ url }) => `lease: {type: static, hostname: primary-host, advertise-url: "${url}", candidate: true}`);
    replica = await startNode(root.path, "replica", () => `lease: {type: static, hostname: primary-host, advertise-url: "${primary.url}", candidate: false}`);
  });
  afterAll(async () => {
    await replica?.stop();
    await primary?.stop();
    root.remove();
  });

  for (const mode of ["wal", "delete"] as const) {
    it(`${mode.toUpperCase()}: SIGKILL inside the forwarded transaction leaves no trace; the primary writes again, both converge`, async () => {
      const name = `killed-${mode}.db`;
      await nodeScript(WRITER, [join(primary.mnt, name), mode, "full", "10", "0"]);
      await waitConverged([primary.mnt, replica.mnt], name);
      const before = readPos(primary.mnt, name)!;
      const holder = await spawnProcess(
        process.execPath,
        [CLI, "run", "-with-halt-lock-on", join(replica.mnt, name), "--", process.execPath, "--input-type=module", "-e", HOLD_TX, join(replica.mnt, name)],
        { name: "holder", cwd: APP_DIR, ready: /^in transaction/, readyTimeoutMs: 30_000 },
      );
      // the primary is halted: its own writer waits in its commit while the replica holds the lock
      let done = false;
      const onPrimary = sqlite3(join(primary.mnt, name), "PRAGMA busy_timeout=25000; INSERT INTO t (v) VALUES ('after the kill');").finally(() => (done = true));
      await new Promise((r) => setTimeout(r, 500));
      expect(done, "the primary's writer waited for the halt").toBe(false);
      const killedAt = performance.now();
      holder.kill(); // SIGKILL to litefs run, the halt-lock helper and the SQLite process
      await holder.exited;
      await onPrimary;
      const resumedMs = performance.now() - killedAt;
      // LiteFS's halt TTL is 30 s: well below it means the holder's death released the lock
      console.log(`${mode}: halt-lock holder SIGKILLed → the waiting write on the primary committed after ${Math.round(resumedMs)} ms (halt TTL 30,000 ms)`);
      expect(resumedMs).toBeLessThan(10_000);
      expect(readPos(primary.mnt, name)!.txid).toBe(before.txid + 1);
      await waitConverged([primary.mnt, replica.mnt], name);
      // rollback journal: the dead writer's journal and pages were left on the replica and rolled back there
      if (mode === "delete") expect(replica.process.output().join("\n")).toMatch(/rolled back a forwarded transaction whose writer left it unfinished/);
      for (const node of [primary, replica]) {
        const got = await sqlite3(join(node.mnt, name), "SELECT count(*) FROM t; SELECT count(*) FROM t WHERE v LIKE 'partial%'; PRAGMA integrity_check;");
        expect(got, node.name).toBe("11\n0\nok");
      }
      // the replica is read-only again and its database is whole for a new reader
      await expect(sqlite3(join(replica.mnt, name), "INSERT INTO t (v) VALUES ('x');")).rejects.toThrow(/readonly/);
    });
  }

  it("a forwarded transaction that committed is on the primary when `litefs run` returns", async () => {
    const name = "killed-wal.db";
    const before = readPos(primary.mnt, name)!.txid;
    const run = await spawnProcess(
      process.execPath,
      [CLI, "run", "-with-halt-lock-on", join(replica.mnt, name), "--", "sqlite3", join(replica.mnt, name), "INSERT INTO t (v) VALUES ('forwarded and committed');"],
      {
        name: "run",
        cwd: APP_DIR,
      },
    );
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(await sqlite3(join(primary.mnt, name), "SELECT count(*) FROM t WHERE v = 'forwarded and committed'; PRAGMA integrity_check;")).toBe("1\nok");
    expect(readPos(primary.mnt, name)!.txid).toBe(before + 1);
    await waitConverged([primary.mnt, replica.mnt], name);
    expect(await sqlite3(join(replica.mnt, name), "SELECT count(*) FROM t; PRAGMA integrity_check;")).toBe("12\nok");
  });
});
