// Three `litefs mount` daemons on a real etcd lease (the issue's config shape): kill -9 of
// the primary under write load moves the primary, the old node rejoins as a replica and
// converges; SIGINT of a primary hands its lease to a candidate and unmounts cleanly; a
// primary cut off from its peers commits a tail they never get, which it keeps on rejoining.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { formatFilename, formatTxid } from "@sqlrep/ltx";
import {
  etcdAvailable,
  etcdUnavailableReason,
  freePort,
  fuseUnavailableReason,
  isMounted,
  startEtcd,
  startTcpForwarder,
  tempMountDir,
  waitFor,
  type EtcdServer,
  type TcpForwarder,
} from "@sqlrep/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { currentPrimary, firstWrite, isPrimary, metric, primaryFile } from "./testing/failover.js";
import { litefs } from "./testing/in-process-nodes.js";
import { nodeScript, readPos, sqlite3, startScript, startNode, waitConverged, type TestNode } from "./testing/nodes.js";
import { READER, WRITER } from "./testing/scripts.js";

const skip = fuseUnavailableReason() ?? (etcdAvailable() ? undefined : etcdUnavailableReason());
const TTL_MS = 3000;

describe.skipIf(skip)(`three nodes on etcd${skip ? ` (skipped: ${skip})` : ""}`, () => {
  const root = tempMountDir("litefs-etcd-");
  let etcd: EtcdServer;
  const nodes: TestNode[] = [];
  /** Each node reaches etcd through its own forwarder, so one can be cut off. */
  const links: TcpForwarder[] = [];
  /** Each node's advertise-url is a forwarder to its HTTP port, so its peers can be cut off from it. */
  const peers: TcpForwarder[] = [];

  beforeAll(async () => {
    etcd = await startEtcd();
    const etcdPort = Number(new URL(etcd.clientUrl).port);
    for (let i = 0; i < 3; i++) links.push(await startTcpForwarder(etcdPort));
    const lease = (name: string, link: TcpForwarder, peer: TcpForwarder) => () =>
      `lease:\n  type: etcd\n  hostname: ${name}\n  advertise-url: ${peer.url}\n  candidate: true\n  etcd: {endpoints: ["${link.url}"], key: /litefs/failover, ttl: 3s}`;
    for (const [i, name] of ["node1", "node2", "node3"].entries()) {
      const port = await freePort();
      peers.push(await startTcpForwarder(port));
      nodes.push(await startNode(root.path, name, lease(name, links[i]!, peers[i]!), { port }));
    }
  }, 60_000);
  afterAll(async () => {
    for (const node of nodes) await node.stop();
    for (const link of [...links, ...peers]) await link.close();
    await etcd?.stop();
    root.remove();
  });

  it("fails over on kill -9 of the primary under write load; the old primary rejoins as a replica and converges", async () => {
    const primary = nodes[0]!;
    expect(await isPrimary(primary)).toBe(true);
    await nodeScript(WRITER, [join(primary.mnt, "app.db"), "wal", "normal", "20", "0"]);
    await waitConverged(
      nodes.map((n) => n.mnt),
      "app.db",
    );
    // write load: a writer on the primary's mount, killed with it
    const load = nodeScript(WRITER, [join(primary.mnt, "app.db"), "wal", "normal", "100000", "2"], 30_000).catch((err: Error) => err);
    const base = readPos(primary.mnt, "app.db")!.txid;
    await waitFor(() => readPos(primary.mnt, "app.db")!.txid >= base + 50, { timeoutMs: 20_000 });
    primary.process.kill();
    const { node: next, ms } = await firstWrite(nodes.slice(1), "app.db", "after kill -9", 20_000);
    console.log(`kill -9 of the primary → first write accepted on ${next.name} after ${Math.round(ms)} ms (TTL ${TTL_MS} ms; target TTL + 1 s)`);
    expect(await load).toBeInstanceOf(Error);
    expect(ms).toBeLessThan(TTL_MS + 10_000);

    await primary.restart();
    expect(await isPrimary(primary)).toBe(false);
    await sqlite3(join(next.mnt, "app.db"), "INSERT INTO t (v) VALUES ('after rejoin');");
    const pos = await waitConverged(
      nodes.map((n) => n.mnt),
      "app.db",
      20_000,
    );
    expect(pos).toMatch(/^[0-9a-f]{16}\/[0-9a-f]{16}\n$/);
    const rows = await sqlite3(join(next.mnt, "app.db"), "SELECT count(*) FROM t;");
    console.log(`${rows} rows on every node after the failover and the rejoin`);
    for (const node of nodes) {
      const got = await sqlite3(join(node.mnt, "app.db"), "SELECT count(*) FROM t; PRAGMA integrity_check;");
      if (got !== `${rows}\nok` && process.env["LITEFS_TEST_DEBUG"]) console.log(node.name, got, node.process.output().join("\n"));
      expect(got, `${node.name}: rows and integrity_check`).toBe(`${rows}\nok`);
    }
  });

  it("a primary cut off from etcd steps down, folds its WAL, and follows the new primary without serving old pages", async () => {
    const primary = await currentPrimary(nodes);
    const link = links[nodes.indexOf(primary)]!;
    const db = join(primary.mnt, "cut.db"); // its own database: the others got rows without the counter
    // a reader keeps the database open so the writer's close leaves its frames in the WAL
    await nodeScript(WRITER, [db, "wal", "normal", "5", "0"]);
    const reader = await startScript(READER, [db, `${db}-pos`, "8000"], /^reading/);
    await nodeScript(WRITER, [db, "wal", "normal", "30", "0"]);
    await waitConverged(
      nodes.map((n) => n.mnt),
      "cut.db",
    );
    const lines = primary.process.output().length;
    link.setTarget(undefined);
    const others = nodes.filter((n) => n !== primary);
    const { node: next, ms } = await firstWrite(others, "cut.db", "after the cut", 20_000);
    console.log(`primary cut off from etcd → first write on ${next.name} after ${Math.round(ms)} ms`);
    await primary.process.waitForLine(/WAL folded into the database after losing the primary role/, 15_000, lines);
    await reader.exited;
    const seen = JSON.parse(reader.output().at(-1)!) as { torn: number; bad: number };
    link.setTarget(Number(new URL(etcd.clientUrl).port));
    if (process.env["LITEFS_TEST_DEBUG"]) console.log(seen, primary.process.output().slice(lines).join("\n"));
    expect(seen).toMatchObject({ torn: 0, bad: 0 });
    await sqlite3(join(next.mnt, "cut.db"), "INSERT INTO t (v) VALUES ('after the reconnect');");
    await waitConverged(
      nodes.map((n) => n.mnt),
      "cut.db",
      20_000,
    );
    const rows = await sqlite3(join(next.mnt, "cut.db"), "SELECT count(*) FROM t;");
    expect(await sqlite3(db, "SELECT count(*) FROM t; PRAGMA integrity_check;")).toBe(`${rows}\nok`);
  });

  it("hands the lease to a candidate on SIGINT of the primary and unmounts cleanly", async () => {
    const primary = await currentPrimary(nodes);
    const others = nodes.filter((n) => n !== primary);
    const started = performance.now();
    primary.process.signal("SIGINT");
    const { node: next, ms } = await firstWrite(others, "app.db", "after SIGINT", 20_000);
    console.log(`SIGINT of the primary → first write accepted on ${next.name} after ${Math.round(ms)} ms`);
    expect(await primary.process.exited).toEqual({ code: 0, signal: null });
    expect(primary.process.output().join("\n")).toMatch(/lease handed off before stopping/);
    expect(isMounted(primary.mnt)).toBe(false);
    expect(performance.now() - started).toBeLessThan(TTL_MS + 10_000);
    await primary.restart();
    await waitConverged(
      nodes.map((n) => n.mnt),
      "app.db",
      20_000,
    );
  });

  /**
   * The split: the primary's peers lose their streams from it (its advertise-url forwarder
   * cut) while it still holds the lease, and it commits TAIL transactions alone. Then it
   * loses the lease — cut from etcd (it stays up and steps down) or killed with kill -9 —
   * and a peer takes over and commits more than the tail, so the old node's TXIDs end
   * below the new primary's with other checksums (not merely ahead). It comes back.
   * Both SQLite journal modes: the demotion and the restart settle WAL and journal apart.
   */
  async function splitBrain(db: string, how: "etcd cut" | "kill -9", mode: "wal" | "delete") {
    const TAIL = 3;
    const old = await currentPrimary(nodes);
    const i = nodes.indexOf(old);
    const others = nodes.filter((n) => n !== old);
    await sqlite3(join(old.mnt, db), `PRAGMA journal_mode=${mode}; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('shared 1'), ('shared 2');`);
    await waitConverged(
      nodes.map((n) => n.mnt),
      db,
    );
    const common = readPos(old.mnt, db)!;
    const base = root.join(`${db}.at-common`);
    expect((await litefs(["export", "-url", old.url, "-name", db, base])).code).toBe(0);

    peers[i]!.setTarget(undefined);
    for (let k = 1; k <= TAIL; k++) await sqlite3(join(old.mnt, db), `INSERT INTO t (v) VALUES ('only on ${old.name} ${k}');`);
    const cutAt = readPos(old.mnt, db)!;
    const cutRows = await sqlite3(join(old.mnt, db), "SELECT group_concat(v, ',') FROM t;");
    expect(cutAt.txid).toBe(common.txid + TAIL);
    for (const n of others) expect(readPos(n.mnt, db)?.txid, `${n.name} never got the tail`).toBe(common.txid);

    let lines = old.process.output().length;
    if (how === "kill -9") old.process.kill();
    else links[i]!.setTarget(undefined);
    const { node: next } = await firstWrite(others, db, "new primary 1", 20_000);
    for (let k = 2; k <= TAIL + 2; k++) await sqlite3(join(next.mnt, db), `INSERT INTO t (v) VALUES ('new primary ${k}');`);
    if (how === "kill -9") {
      await old.restart();
      lines = 0;
    } else {
      await waitFor(async () => !(await isPrimary(old)), { timeoutMs: 10_000, message: `${old.name} stepped down` });
      links[i]!.setTarget(Number(new URL(etcd.clientUrl).port));
    }
    // its peers still cannot reach it: as a replica it needs only to reach the primary
    const pos = await waitConverged(
      nodes.map((n) => n.mnt),
      db,
      20_000,
    );
    peers[i]!.setTarget(old.port);
    if (process.env["LITEFS_TEST_DEBUG"]) console.log(old.process.output().slice(lines).join("\n"));

    // it follows the new primary and has its database
    expect(parseInt(pos.slice(0, 16), 16)).toBe(common.txid + TAIL + 2);
    expect(await isPrimary(old)).toBe(false);
    // `.primary` exists only while the stream is connected: read once, it must be there (the
    // resumed etcd watch once replayed the old key's delete here and the stream was dropped).
    expect(primaryFile(old)).toBe(`${next.name}\n`);
    const rows = await sqlite3(join(next.mnt, db), "SELECT group_concat(v, ',') FROM t;");
    expect(rows).not.toMatch(/only on/);
    expect(await sqlite3(join(old.mnt, db), "SELECT group_concat(v, ',') FROM t; PRAGMA integrity_check;")).toBe(`${rows}\nok`);

    // its tail, kept: one set, the LTX files of exactly the TXIDs the others never got
    const sets = join(old.data, "diverged", db);
    expect(existsSync(sets), `${sets} exists`).toBe(true);
    const [set, ...more] = readdirSync(sets);
    expect(more).toEqual([]);
    const dir = join(sets, set!);
    const tail = Array.from({ length: TAIL }, (_, k) => common.txid + 1 + k);
    expect(readdirSync(dir).sort()).toEqual([...tail.map((t) => formatFilename(t, t)), "info.json"].sort());
    const info = JSON.parse(readFileSync(join(dir, "info.json"), "utf8")) as { node: { txid: string; checksum: string }; lastCommon: { txid: string } | null; missing: string[] };
    expect(info.node).toMatchObject({ txid: formatTxid(cutAt.txid), checksum: cutAt.checksum });
    expect(info.lastCommon?.txid).toBe(formatTxid(common.txid));
    expect(info.missing).toEqual([]);
    // logged and counted by the process that kept it
    const log = old.process.output().slice(lines).join("\n");
    expect(log).toMatch(/this node had transactions the primary never received/);
    expect(log).toContain(dir);
    expect(await metric(old, `litefs_diverged_total{db="${db}"}`)).toBe(1);
    expect(await metric(old, `litefs_diverged_transactions_total{db="${db}"}`)).toBe(TAIL);
    for (const n of others) expect(existsSync(join(n.data, "diverged", db)), `${n.name} kept nothing`).toBe(false);
    // and it gives back the database the old primary had when it was cut off
    const out = root.join(`${db}.extracted`);
    const extracted = await litefs(["diverged", "-data-dir", old.data, "extract", "-base", base, "-o", out, db]);
    expect(extracted.stderr).toBe("");
    expect(await sqlite3(out, "SELECT group_concat(v, ',') FROM t;")).toBe(cutRows);
  }

  it("keeps the tail a primary cut off from its peers and then from etcd committed alone (WAL): it follows the new primary, equals it, and has the tail in diverged/, logged and counted", async () => {
    await splitBrain("split.db", "etcd cut", "wal");
  });

  it("keeps the tail after kill -9 of a primary that committed it alone (DELETE journal): restarted, it follows the new primary and has the tail in diverged/", async () => {
    await splitBrain("split-killed.db", "kill -9", "delete");
  });
});
