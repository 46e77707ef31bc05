// Three `litefs mount` daemons on a real etcd lease (the issue's config shape): kill -9 of
// the primary under write load moves the primary, the old node rejoins as a replica and
// converges; SIGINT of a primary hands its lease to a candidate and unmounts cleanly.
import { join } from "node:path";
import {
  etcdAvailable,
  etcdUnavailableReason,
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
import { currentPrimary, firstWrite, isPrimary } from "./testing/failover.js";
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

  beforeAll(async () => {
    etcd = await startEtcd();
    const etcdPort = Number(new URL(etcd.clientUrl).port);
    for (let i = 0; i < 3; i++) links.push(await startTcpForwarder(etcdPort));
    const lease =
      (name: string, link: TcpForwarder) =>
      ({ url }: { url: string }) =>
        `lease:\n  type: etcd\n  hostname: ${name}\n  advertise-url: ${url}\n  candidate: true\n  etcd: {endpoints: ["${link.url}"], key: /litefs/failover, ttl: 3s}`;
    for (const [i, name] of ["node1", "node2", "node3"].entries()) nodes.push(await startNode(root.path, name, lease(name, links[i]!)));
  }, 60_000);
  afterAll(async () => {
    for (const node of nodes) await node.stop();
    for (const link of links) await link.close();
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
});
