/** A primary knows which of its streaming replicas may become primary (`Litefs-Candidate`): the ones a stopping primary can hand off to. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEtcdLeaser } from "@sqlrep/lease-etcd";
import { etcdAvailable, etcdUnavailableReason, startEtcd, tempDir, waitFor, type EtcdServer } from "@sqlrep/testkit";
import { startTestNode, type TestNode } from "../testing/in-process.js";

const tmp = tempDir("sqlrep-cluster-candidates-");

describe.skipIf(!etcdAvailable())(`candidate replicas${etcdAvailable() ? "" : ` (skipped: ${etcdUnavailableReason()})`}`, () => {
  let etcd: EtcdServer;
  const nodes: TestNode[] = [];
  beforeAll(async () => {
    etcd = await startEtcd();
  }, 30_000);
  afterAll(async () => {
    for (const n of nodes.reverse()) await n.close();
    await etcd?.stop();
    tmp.remove();
  });

  it("lists only the caught-up replicas that are candidates", async () => {
    const lease = { endpoints: etcd.endpoints, key: "/litefs/candidates", ttl: 5000 };
    const start = (name: string, candidate: boolean) => startTestNode({ dataDir: tmp.join(name), hostname: name, candidate, leaser: (id) => openEtcdLeaser(lease, id) });
    const primary = await start("a", true);
    nodes.push(primary);
    await waitFor(() => primary.node.isPrimary, { timeoutMs: 10_000 });
    const follower = await start("b", false);
    const candidate = await start("c", true);
    nodes.push(follower, candidate);
    await Promise.all([follower.node.whenReady, candidate.node.whenReady]);
    await waitFor(() => primary.node.primary?.replicas.length === 2, { timeoutMs: 10_000 });
    await waitFor(() => primary.node.primary?.candidateReplicas.length === 1, { timeoutMs: 10_000 });
    expect(primary.node.primary!.candidateReplicas).toEqual([candidate.node.nodeId]);
    expect(primary.node.primary!.replicas.sort()).toEqual([follower.node.nodeId, candidate.node.nodeId].sort());
  });
});
