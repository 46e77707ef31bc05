// Three `litefs mount` daemons on a Consul lease (`lease.type: consul` with LiteFS's
// `lease.consul` keys) against the testkit's Consul DOUBLE, not Consul (no server can be
// installed here): one primary, replicas serving its writes, kill -9 → a new primary,
// SIGINT → the session handed to a candidate, Consul unreachable → the primary steps down
// and a primary is elected once it is back. The URL has Fly's shape (token, key prefix).
import { join } from "node:path";
import { fuseUnavailableReason, isMounted, startConsulDouble, tempMountDir, waitFor, type ConsulDouble } from "@sqlrep/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { currentPrimary, firstWrite, isPrimary, primaryFile } from "./testing/failover.js";
import { sqlite3, startNode, waitConverged, type TestNode } from "./testing/nodes.js";

const skip = fuseUnavailableReason();
const TTL_MS = 2000;
const LOCK_DELAY_MS = 1000;
/**
 * Consul (and the double) keeps a session up to 2 × TTL after its last renew, then holds
 * the key back for the lock-delay (packages/lease-consul/README.md, "Limits"); the margin
 * covers a replica's retry and the first write through the new primary's mount.
 */
const FAILOVER_BOUND_MS = 2 * TTL_MS + LOCK_DELAY_MS + 3000;
/** `FLY_CONSUL_URL` style: an ACL token as the password, a key prefix as the path. */
const TOKEN = "s3cr3t-acl-token";
const PREFIX = "sqlrep-app";
const KEY = "litefs/failover";

/** A key of the double as LiteFS would read it (undefined: no such key). */
async function kvRaw(consul: ConsulDouble, key: string): Promise<string | undefined> {
  const res = await fetch(`${consul.url}/v1/kv/${key}?raw`, { headers: { "X-Consul-Token": TOKEN } });
  return res.status === 404 ? undefined : res.text();
}

describe.skipIf(skip)(`three nodes on a Consul lease, against the testkit's Consul double (not Consul)${skip ? ` (skipped: ${skip})` : ""}`, () => {
  const root = tempMountDir("litefs-consul-");
  let consul: ConsulDouble;
  const nodes: TestNode[] = [];

  beforeAll(async () => {
    // short TTLs are accepted by the double only (Consul's floor is 10 s)
    consul = await startConsulDouble({ minSessionTtlMs: 1000, aclToken: TOKEN });
    const consulUrl = `http://:${TOKEN}@127.0.0.1:${consul.port}/${PREFIX}/`;
    const lease =
      (name: string) =>
      ({ url }: { url: string }) =>
        `lease:\n  type: consul\n  hostname: ${name}\n  advertise-url: ${url}\n  candidate: true\n  consul:\n    url: "${consulUrl}"\n    key: ${KEY}\n    ttl: 2s\n    lock-delay: 1s`;
    // node1 first, so it is the one that takes the free key
    for (const name of ["node1", "node2", "node3"]) nodes.push(await startNode(root.path, name, lease(name)));
  }, 60_000);
  afterAll(async () => {
    for (const node of nodes) await node.stop();
    await consul?.close();
    root.remove();
  });

  it("elects one primary whose writes the replicas serve through their mounts, with .primary naming it", async () => {
    const [node1, node2, node3] = nodes as [TestNode, TestNode, TestNode];
    expect(await isPrimary(node1)).toBe(true);
    expect([await isPrimary(node2), await isPrimary(node3)]).toEqual([false, false]);
    // one session holds the key, under the URL's prefix, with LiteFS's value; the cluster ID beside it
    expect(consul.sessions()).toHaveLength(1);
    expect(consul.sessions()[0]).toMatchObject({ Name: "litefs", Behavior: "delete", Node: `${PREFIX}/litefs` });
    expect(JSON.parse((await kvRaw(consul, `${PREFIX}/${KEY}`)) ?? "null")).toEqual({ hostname: "node1", "advertise-url": node1.url });
    const clusterId = (await fetch(`${node1.url}/info`)).headers.get("litefs-cluster-id");
    expect(clusterId).toMatch(/^LFSC[0-9A-F]{16}$/);
    expect(await kvRaw(consul, `${PREFIX}/${KEY}/clusterid`)).toBe(clusterId);

    await sqlite3(join(node1.mnt, "app.db"), "PRAGMA journal_mode=wal; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('a'), ('b'), ('c');");
    await sqlite3(join(node1.mnt, "app.db"), "INSERT INTO t (v) VALUES ('d');");
    await waitConverged(
      nodes.map((n) => n.mnt),
      "app.db",
    );
    for (const replica of [node2, node3]) {
      expect(await sqlite3(join(replica.mnt, "app.db"), "SELECT group_concat(v, '') FROM t; PRAGMA integrity_check;"), replica.name).toBe("abcd\nok");
      expect(primaryFile(replica), `${replica.name}/.primary`).toBe("node1\n");
      await expect(sqlite3(join(replica.mnt, "app.db"), "INSERT INTO t (v) VALUES ('x');")).rejects.toThrow(/readonly/);
    }
    expect(primaryFile(node1), "no .primary on the primary").toBeUndefined();
  });

  it("moves the primary on kill -9 within 2 × TTL + lock-delay + a margin; the cluster converges and .primary names the new primary", async () => {
    const old = nodes[0]!;
    expect(await isPrimary(old)).toBe(true);
    old.process.kill();
    const others = nodes.slice(1);
    const { node: next, ms } = await firstWrite(others, "app.db", "after kill -9", FAILOVER_BOUND_MS + 5000);
    console.log(`Consul double (TTL ${TTL_MS} ms, lock-delay ${LOCK_DELAY_MS} ms): kill -9 of the primary → first write on ${next.name} after ${Math.round(ms)} ms`);
    expect(ms).toBeLessThan(FAILOVER_BOUND_MS);
    const follower = others.find((n) => n !== next)!;
    await waitConverged(
      others.map((n) => n.mnt),
      "app.db",
    );
    expect(primaryFile(follower), `${follower.name}/.primary`).toBe(`${next.name}\n`);

    // the old primary comes back as a replica of the new one
    await old.restart();
    expect(await isPrimary(old)).toBe(false);
    expect(await currentPrimary(nodes)).toBe(next);
    await sqlite3(join(next.mnt, "app.db"), "INSERT INTO t (v) VALUES ('after rejoin');");
    await waitConverged(
      nodes.map((n) => n.mnt),
      "app.db",
    );
    const rows = await sqlite3(join(next.mnt, "app.db"), "SELECT group_concat(v, ',') FROM t;");
    expect(rows).toBe("a,b,c,d,after kill -9,after rejoin");
    for (const node of nodes) {
      expect(await sqlite3(join(node.mnt, "app.db"), "SELECT group_concat(v, ',') FROM t; PRAGMA integrity_check;"), node.name).toBe(`${rows}\nok`);
      if (node !== next) expect(primaryFile(node), `${node.name}/.primary`).toBe(`${next.name}\n`);
    }
    expect(primaryFile(next), "no .primary on the new primary").toBeUndefined();
    for (const node of nodes) expect(node.process.output().join("\n"), `${node.name} never logs the ACL token`).not.toContain(TOKEN);
  });

  it("hands the Consul session to a candidate on SIGINT of the primary and unmounts cleanly", async () => {
    const primary = await currentPrimary(nodes);
    const session = consul.sessions().map((s) => s.ID);
    const others = nodes.filter((n) => n !== primary);
    primary.process.signal("SIGINT");
    const { node: next, ms } = await firstWrite(others, "app.db", "after SIGINT", 10_000);
    console.log(`Consul double: SIGINT of the primary → first write on ${next.name} after ${Math.round(ms)} ms`);
    expect(await primary.process.exited).toEqual({ code: 0, signal: null });
    expect(primary.process.output().join("\n")).toMatch(/lease handed off before stopping/);
    expect(isMounted(primary.mnt)).toBe(false);
    // the handoff passes the session itself: no lock-delay, no new session
    expect(consul.sessions().map((s) => s.ID)).toEqual(session);
    expect(JSON.parse((await kvRaw(consul, `${PREFIX}/${KEY}`)) ?? "null")).toEqual({ hostname: next.name, "advertise-url": next.url });
    await primary.restart();
    await waitConverged(
      nodes.map((n) => n.mnt),
      "app.db",
    );
    expect(primaryFile(primary)).toBe(`${next.name}\n`);
  });

  it("steps the primary down while Consul is unreachable (writes refused); once it answers again a primary is elected and the cluster converges", async () => {
    const primary = await currentPrimary(nodes);
    await consul.stop();
    const started = performance.now();
    await waitFor(async () => !(await isPrimary(primary)), { timeoutMs: TTL_MS + 5000, message: `${primary.name} stepped down` });
    console.log(`Consul double stopped → ${primary.name} stepped down after ${Math.round(performance.now() - started)} ms (TTL ${TTL_MS} ms)`);
    await expect(sqlite3(join(primary.mnt, "app.db"), "INSERT INTO t (v) VALUES ('during the outage');")).rejects.toThrow(/readonly/);
    await consul.start();
    const { node: next, ms } = await firstWrite(nodes, "app.db", "after the outage", FAILOVER_BOUND_MS + 5000);
    console.log(`Consul double back → first write on ${next.name} after ${Math.round(ms)} ms`);
    await waitConverged(
      nodes.map((n) => n.mnt),
      "app.db",
    );
    const rows = await sqlite3(join(next.mnt, "app.db"), "SELECT group_concat(v, ',') FROM t;");
    expect(rows).toMatch(/,after the outage$/);
    expect(rows).not.toMatch(/during the outage/);
    for (const node of nodes) {
      expect(await sqlite3(join(node.mnt, "app.db"), "SELECT group_concat(v, ',') FROM t; PRAGMA integrity_check;"), node.name).toBe(`${rows}\nok`);
      if (node !== next) await waitFor(() => primaryFile(node) === `${next.name}\n`, { timeoutMs: 5000, message: `${node.name}/.primary names ${next.name}` });
    }
    expect(consul.sessions()).toHaveLength(1);
  });
});
