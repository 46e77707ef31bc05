/** Three candidates on a real etcd lease, in this process: election, replication, handoff under load, release on close, a foreign cluster. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEtcdLeaser } from "@sqlrep/lease-etcd";
import { etcdAvailable, etcdUnavailableReason, startEtcd, tempDir, waitFor, type EtcdServer } from "@sqlrep/testkit";
import { isClusterError } from "../errors.js";
import { printLogger, startTestNode, type TestNode } from "../testing/in-process.js";
import { Writer } from "../testing/writer.js";

const tmp = tempDir("sqlrep-cluster-etcd-");
let etcd: EtcdServer;
let key = 0;

describe.skipIf(!etcdAvailable())(`three candidates on etcd${etcdAvailable() ? "" : ` (skipped: ${etcdUnavailableReason()})`}`, () => {
  beforeAll(async () => {
    etcd = await startEtcd();
  }, 30_000);
  afterAll(async () => {
    await etcd?.stop();
    tmp.remove();
  });

  // 5 s: in one process on a loaded 2-core machine a 2 s lease (renewed every second,
  // dropped half a second early) can miss a renewal while three nodes and a writer run.
  async function cluster(n: number, prefix: string, ttl = 5000): Promise<TestNode[]> {
    const lease = { endpoints: etcd.endpoints, key: `/litefs/test-${key++}`, ttl };
    const nodes: TestNode[] = [];
    for (let i = 0; i < n; i++)
      nodes.push(
        await startTestNode({
          dataDir: tmp.join(`${prefix}-${i}`),
          hostname: `${prefix}-${i}`,
          leaser: (id) => openEtcdLeaser(lease, id),
          logger: process.env.DEBUG_CLUSTER ? printLogger(`${prefix}-${i}`) : undefined,
        }),
      );
    await waitFor(() => nodes.filter((t) => t.node.isPrimary).length === 1, { timeoutMs: 10_000 });
    await Promise.all(nodes.map((t) => t.node.whenReady));
    return nodes;
  }

  const caughtUp = (nodes: TestNode[], db: string) => () => {
    const positions = nodes.map((t) => t.store.get(db)?.position);
    return positions.every((p) => p !== undefined && p.txid > 0 && p.txid === positions[0]!.txid && p.checksum === positions[0]!.checksum);
  };

  it("hands the lease over under load: no acknowledged commit lost, every node converges, the write gap is printed", async () => {
    const nodes = await cluster(3, "h");
    const writer = new Writer(
      () => nodes.map((t) => ({ name: t.node.leaser.hostname, commit: (db: string, p: { pgno: number; data: Uint8Array }[], c: number) => t.node.commit(db, p, c) })),
      "app.db",
      32,
      5,
    );
    writer.start();
    await waitFor(() => writer.count > 50, { timeoutMs: 10_000 });
    const target = nodes.find((t) => !t.node.isPrimary)!;
    const started = performance.now();
    await target.node.promote();
    const promotedMs = performance.now() - started;
    const report0 = writer.count;
    await waitFor(() => writer.count > report0 + 50, { timeoutMs: 10_000 });
    const report = await writer.stop();
    expect(target.node.isPrimary).toBe(true);
    expect(nodes.filter((t) => t.node.isPrimary)).toHaveLength(1);
    await waitFor(caughtUp(nodes, "app.db"), { timeoutMs: 10_000 });
    // Every acknowledged commit is in every node's history: nothing acknowledged was lost.
    for (const t of nodes) {
      const db = t.store.get("app.db")!;
      for (const ack of report.acks.slice(-100)) expect(db.checksumAt(ack.position.txid), `${t.node.leaser.hostname} TXID ${ack.position.txid}`).toBe(ack.position.checksum);
    }
    const txids = report.acks.map((a) => a.position.txid);
    expect(txids).toEqual([...txids].sort((a, b) => a - b));
    expect(new Set(txids).size).toBe(txids.length);
    console.log(
      `handoff: promote() took ${promotedMs.toFixed(1)} ms; longest write gap ${report.maxGap.ms.toFixed(1)} ms over ${report.acks.length} commits (${report.refusals} refusals)`,
    );
    for (const t of nodes) await t.close();
  }, 60_000);

  it("a primary that closes releases the lease: another candidate takes over well within the TTL (10 s) and continues the databases", async () => {
    const nodes = await cluster(3, "r", 10_000);
    const primary = nodes.find((t) => t.node.isPrimary)!;
    for (let i = 0; i < 5; i++) await primary.node.commit("app.db", [{ pgno: 1, data: new Uint8Array(4096).fill(i + 1) }], 1);
    await waitFor(caughtUp(nodes, "app.db"), { timeoutMs: 10_000 });
    const before = primary.store.get("app.db")!.position;
    const started = performance.now();
    const closing = primary.close();
    const rest = nodes.filter((t) => t !== primary);
    // Released, not expired: a new primary long before the 10 s TTL could have run out.
    await waitFor(() => rest.some((t) => t.node.isPrimary), { timeoutMs: 5_000, intervalMs: 5 });
    console.log(`release on close: a new primary after ${(performance.now() - started).toFixed(0)} ms`);
    await closing;
    const next = rest.find((t) => t.node.isPrimary)!;
    const pos = await next.node.commit("app.db", [{ pgno: 1, data: new Uint8Array(4096).fill(99) }], 1);
    expect(pos.txid).toBe(before.txid + 1);
    await waitFor(caughtUp(rest, "app.db"), { timeoutMs: 10_000 });
    for (const t of rest) await t.close();
  }, 60_000);

  it("refuses a node of another cluster, naming both cluster IDs", async () => {
    const nodes = await cluster(1, "c");
    const other = await cluster(1, "d");
    const a = nodes[0]!;
    const b = other[0]!;
    // b's data directory belongs to its own cluster; pointed at a's lease it must refuse to join.
    const idA = a.store.dataDir.clusterId!;
    const idB = b.store.dataDir.clusterId!;
    await b.close();
    const lease = { endpoints: etcd.endpoints, key: `/litefs/test-${key - 2}`, ttl: 2000 };
    const joined = await startTestNode({ dataDir: tmp.join("d-0"), hostname: "d-0", candidate: true, leaser: (id) => openEtcdLeaser(lease, id) });
    await waitFor(() => joined.node.refused !== undefined, { timeoutMs: 10_000 });
    expect(isClusterError(joined.node.refused, "cluster-id-mismatch")).toBe(true);
    expect(joined.node.refused!.message).toContain(idA);
    expect(joined.node.refused!.message).toContain(idB);
    expect(joined.node.isPrimary).toBe(false);
    expect(joined.store.databases()).toEqual([]);
    await joined.close();
    await a.close();
  }, 60_000);
});
