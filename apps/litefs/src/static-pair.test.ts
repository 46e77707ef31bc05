// Two `litefs mount` daemons on the static lease, real FUSE mounts: what SQLite commits on
// the primary (sqlite3 shell and better-sqlite3, rollback and WAL journals) reaches the
// replica with the same checksum, open readers there never see a torn state, writes
// on the replica fail as read-only, and litefs-js reads both nodes as on LiteFS.
import { execFile } from "node:child_process";
import { hostname } from "node:os";
import { promisify } from "node:util";
import { join } from "node:path";
import { fuseUnavailableReason, tempMountDir } from "@sqlrep/testkit";
import { getInstanceInfo, getTxNumber } from "litefs-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lockProcess, nodeScript, readPos, sqlite3, startNode, waitConverged, type TestNode } from "./testing/nodes.js";
import { READER, TRY_WRITE, WRITER } from "./testing/scripts.js";

const skip = fuseUnavailableReason();
const run = promisify(execFile);

describe.skipIf(skip)(`two nodes on the static lease${skip ? ` (skipped: ${skip})` : ""}`, () => {
  const root = tempMountDir("litefs-pair-");
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

  it("replicates the sqlite3 shell's transactions in DELETE and then WAL mode, same checksum", async () => {
    const db = join(primary.mnt, "shell.db");
    const inserts = Array.from({ length: 30 }, (_, i) => `INSERT INTO t VALUES (${i}, 'row ${i}');`).join(" ");
    await sqlite3(db, `PRAGMA journal_mode=delete; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); ${inserts}`);
    const pos = await waitConverged([primary.mnt, replica.mnt], "shell.db");
    expect(readPos(primary.mnt, "shell.db")!.txid).toBe(31);
    expect(await sqlite3(join(replica.mnt, "shell.db"), "SELECT count(*) FROM t; PRAGMA integrity_check;")).toBe("30\nok");
    await sqlite3(db, "PRAGMA journal_mode=wal; INSERT INTO t VALUES (100, 'wal'); INSERT INTO t VALUES (101, 'wal');");
    const after = await waitConverged([primary.mnt, replica.mnt], "shell.db");
    expect(after).not.toBe(pos);
    expect(await sqlite3(join(replica.mnt, "shell.db"), "PRAGMA journal_mode; SELECT count(*) FROM t; PRAGMA integrity_check;")).toBe("wal\n32\nok");
  });

  for (const [mode, sync] of [
    ["wal", "normal"],
    ["wal", "full"],
    ["delete", "full"],
    ["delete", "normal"],
  ] as const) {
    it(`streams better-sqlite3's ${mode.toUpperCase()}+${sync.toUpperCase()} transactions to a long-open reader whole`, async () => {
      const name = `${mode}-${sync}.db`;
      await nodeScript(WRITER, [join(primary.mnt, name), mode, sync, "1", "0"]);
      await waitConverged([primary.mnt, replica.mnt], name);
      const reading = nodeScript(READER, [join(replica.mnt, name), join(replica.mnt, `${name}-pos`), "4000"]);
      await new Promise((r) => setTimeout(r, 300));
      const written = await nodeScript(WRITER, [join(primary.mnt, name), mode, sync, "150", "10"]);
      expect(written).toBe("151");
      const seen = JSON.parse(await reading) as { reads: number; torn: number; bad: number; backwards: number; txids: number; last: number };
      await waitConverged([primary.mnt, replica.mnt], name);
      expect(seen.torn).toBe(0);
      expect(seen.bad).toBe(0);
      expect(seen.backwards).toBe(0);
      expect(seen.txids).toBeGreaterThan(10);
      expect(seen.reads).toBeGreaterThan(20);
      expect(await sqlite3(join(replica.mnt, name), "SELECT count(*) FROM t; PRAGMA integrity_check;")).toBe("151\nok");
    });
  }

  it("brings a replica started later up to date with a snapshot of the WAL primary's uncheckpointed state", async () => {
    const late = await startNode(root.path, "late", () => `lease: {type: static, hostname: primary-host, advertise-url: "${primary.url}", candidate: false}`);
    try {
      for (const name of ["shell.db", "wal-normal.db", "delete-full.db"]) {
        await waitConverged([primary.mnt, late.mnt], name);
        const rows = await sqlite3(join(primary.mnt, name), "SELECT count(*) FROM t;");
        expect(await sqlite3(join(late.mnt, name), "SELECT count(*) FROM t; PRAGMA integrity_check;")).toBe(`${rows}\nok`);
      }
      expect(late.process.output().join("\n")).toMatch(/snapshot applied/);
    } finally {
      await late.stop();
    }
  });

  it("replicates a database copied into the mount with cp", async () => {
    const source = join(root.path, "source.db");
    await sqlite3(source, "CREATE TABLE t (x); INSERT INTO t VALUES (1), (2), (3);");
    await run("cp", [source, join(primary.mnt, "copied.db")]);
    await waitConverged([primary.mnt, replica.mnt], "copied.db");
    expect(await sqlite3(join(replica.mnt, "copied.db"), "SELECT count(*) FROM t; PRAGMA integrity_check;")).toBe("3\nok");
  });

  for (const name of ["delete-full.db", "wal-normal.db"]) {
    it(`lets the replica write ${name} while it holds the halt lock (write forwarding), then read-only again`, async () => {
      const lock = await lockProcess(join(replica.mnt, `${name}-lock`));
      try {
        expect(await lock.run("open append")).toBe("ok");
        expect(await lock.run("F_OFD_SETLKW w 72 1")).toBe("ok");
        await sqlite3(join(replica.mnt, name), "INSERT INTO t (v) VALUES ('forwarded from the replica');");
        expect(await lock.run("F_OFD_SETLKW u 72 1")).toBe("ok");
      } finally {
        await lock.stop();
      }
      await waitConverged([primary.mnt, replica.mnt], name);
      expect(await sqlite3(join(primary.mnt, name), "SELECT count(*) FROM t WHERE v = 'forwarded from the replica'; PRAGMA integrity_check;")).toBe("1\nok");
      // the primary goes on writing after it
      await sqlite3(join(primary.mnt, name), "INSERT INTO t (v) VALUES ('after the forwarded one');");
      await waitConverged([primary.mnt, replica.mnt], name);
      const rows = await sqlite3(join(primary.mnt, name), "SELECT count(*) FROM t;");
      expect(await sqlite3(join(replica.mnt, name), "SELECT count(*) FROM t; PRAGMA integrity_check;")).toBe(`${rows}\nok`);
      await expect(sqlite3(join(replica.mnt, name), "INSERT INTO t (v) VALUES ('x');")).rejects.toThrow(/attempt to write a readonly database/);
    });
  }

  it("refuses writes on the replica as SQLite's read-only error, in both journal modes", async () => {
    // SQLite's extended code says where it met the refusal: the WAL opened read-only
    // (SQLITE_READONLY) or the journal it could not create (SQLITE_READONLY_DIRECTORY).
    for (const [name, code] of [
      ["wal-normal.db", "SQLITE_READONLY"],
      ["delete-full.db", "SQLITE_READONLY_DIRECTORY"],
    ] as const) {
      const out = JSON.parse(await nodeScript(TRY_WRITE, [join(replica.mnt, name)])) as { code: string; message: string };
      expect(out).toEqual({ code, message: "attempt to write a readonly database" });
      await expect(sqlite3(join(replica.mnt, name), "INSERT INTO t (v) VALUES ('x');")).rejects.toThrow(/attempt to write a readonly database/);
    }
    expect(replica.process.output().join("\n")).toMatch(/write refused on replica: pid \d+/);
  });

  it("answers litefs-js on the primary and on the replica as LiteFS does", async () => {
    expect(await getInstanceInfo(primary.mnt)).toEqual({ primaryInstance: hostname(), currentInstance: hostname(), currentIsPrimary: true });
    expect(await getInstanceInfo(replica.mnt)).toEqual({ primaryInstance: "primary-host", currentInstance: hostname(), currentIsPrimary: false });
    const txid = readPos(primary.mnt, "wal-normal.db")!.txid;
    expect(txid).toBeGreaterThan(150);
    expect(await getTxNumber(primary.mnt, "wal-normal.db")).toBe(txid);
    expect(await getTxNumber(replica.mnt, "wal-normal.db")).toBe(txid);
  });
});
