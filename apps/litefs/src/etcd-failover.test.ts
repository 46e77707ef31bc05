// Three `litefs mount` daemons on a real etcd lease (the issue's config shape): kill -9 of
// the primary under write load moves the primary, the old node rejoins as a replica and
// converges; SIGINT of a primary hands its lease to a candidate and unmounts cleanly.
import { join } from "node:path";
import { etcdAvailable, etcdUnavailableReason, fuseUnavailableReason, isMounted, startEtcd, tempMountDir, waitFor, type EtcdServer } from "@sqlrep/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeScript, readPos, sqlite3, startNode, waitConverged, type TestNode } from "./testing/nodes.js";
import { WRITER } from "./testing/scripts.js";

const skip = fuseUnavailableReason() ?? (etcdAvailable() ? undefined : etcdUnavailableReason());
const TTL_MS = 3000;

async function isPrimary(node: TestNode): Promise<boolean> {
  try {
    const info = (await (await fetch(`${node.url}/info`, { signal: AbortSignal.timeout(1000) })).json()) as { isPrimary: boolean };
    return info.isPrimary;
  } catch {
    return false;
  }
}

/** Tries one write on each node until one takes it; resolves with that node and the ms it took. */
async function firstWrite(nodes: readonly TestNode[], db: string, value: string, timeoutMs: number): Promise<{ node: TestNode; ms: number }> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    for (const node of nodes) {
      if (!(await isPrimary(node))) continue;
      try {
        await sqlite3(join(node.mnt, db), `PRAGMA busy_timeout=200; INSERT INTO t (v) VALUES ('${value}');`);
        return { node, ms: performance.now() - started };
      } catch {
        // not primary any more, or the lease is not ours yet
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no node took a write within ${timeoutMs} ms`);
}

describe.skipIf(skip)(`three nodes on etcd${skip ? ` (skipped: ${skip})` : ""}`, () => {
  const root = tempMountDir("litefs-etcd-");
  let etcd: EtcdServer;
  const nodes: TestNode[] = [];

  beforeAll(async () => {
    etcd = await startEtcd();
    const lease =
      (name: string) =>
      ({ url }: { url: string }) =>
        `lease:\n  type: etcd\n  hostname: ${name}\n  advertise-url: ${url}\n  candidate: true\n  etcd: {endpoints: ["${etcd.endpoints[0]}"], key: /litefs/failover, ttl: 3s}`;
    for (const name of ["node1", "node2", "node3"]) nodes.push(await startNode(root.path, name, lease(name)));
  }, 60_000);
  afterAll(async () => {
    for (const node of nodes) await node.stop();
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

  it("hands the lease to a candidate on SIGINT of the primary and unmounts cleanly", async () => {
    const primary = await waitFor(async () => {
      for (const node of nodes) if (await isPrimary(node)) return node;
      return undefined;
    });
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
