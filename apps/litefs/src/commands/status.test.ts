/** `litefs status` on a real primary and replica (static lease, HTTP on 127.0.0.1): text and -json, the auth token, a node that is down. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStaticLeaser } from "@sqlrep/lease";
import { formatChecksum } from "@sqlrep/ltx";
import { deadPort, tempDir, waitFor } from "@sqlrep/testkit";
import { litefs, makeDatabase, startNode, type TestNode } from "../testing/in-process-nodes.js";
import type { NodeStatus } from "./status.js";

const tmp = tempDir("sqlrep-litefs-cli-status-");
const TOKEN = "s3cret";
const env = { LITEFS_AUTH_TOKEN: TOKEN };
let primary: TestNode;
let replica: TestNode;

beforeAll(async () => {
  primary = await startNode({ dataDir: tmp.join("a"), hostname: "node-a", authToken: TOKEN, leaser: (id) => createStaticLeaser({ ...id, candidate: true }) });
  await primary.node.whenReady;
  replica = await startNode({
    dataDir: tmp.join("b"),
    hostname: "node-b",
    candidate: false,
    authToken: TOKEN,
    leaser: () => createStaticLeaser({ hostname: "node-a", advertiseURL: primary.url, candidate: false }),
  });
  await replica.node.whenReady;
  const src = tmp.join("src.db");
  makeDatabase(src, 50);
  for (const name of ["app.db", "tenants/acme.db"]) expect((await litefs(["import", "-url", primary.url, "-name", name, src], { env })).code).toBe(0);
  expect((await litefs(["import", "-url", primary.url, "-name", "app.db", src], { env })).code).toBe(0);
  await waitFor(() => replica.store.get("app.db")?.position.txid === 2 && replica.store.get("tenants/acme.db")?.position.txid === 1, { timeoutMs: 10_000 });
}, 30_000);

afterAll(async () => {
  await replica?.close();
  await primary?.close();
  tmp.remove();
});

describe("litefs status", () => {
  it("prints the primary's role, IDs and each database's TXID and checksum", async () => {
    const res = await litefs(["status", "-url", primary.url], { env });
    expect(res.code).toBe(0);
    const pos = primary.store.require("app.db").position;
    expect(res.stdout).toContain(`url        ${primary.url}\n`);
    expect(res.stdout).toContain("role       primary (1 replica streaming)\n");
    expect(res.stdout).toContain(`cluster    ${primary.store.dataDir.clusterId}\n`);
    expect(res.stdout).toContain(`node       ${primary.node.nodeId}\n`);
    expect(res.stdout).toMatch(new RegExp(`app\\.db\\s+0000000000000002\\s+${formatChecksum(pos.checksum)}\\s+0\\.000s\\s+\\d+\\s+0000000000000000\\s+ok`));
    expect(res.stdout).toMatch(/tenants\/acme\.db\s+0000000000000001\s+[0-9a-f]{16}/);
  });

  it("prints the replica's primary and the same positions, as text and as JSON", async () => {
    const text = await litefs(["status", "-url", replica.url], { env });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("role       replica of node-a\n");
    expect(text.stdout).toContain("candidate  false\n");
    const res = await litefs(["status", "-url", replica.url, "-json"], { env });
    expect(res.code).toBe(0);
    const status = JSON.parse(res.stdout) as NodeStatus;
    expect(status).toMatchObject({ url: replica.url, isPrimary: false, candidate: false, primary: "node-a", ready: true, dataDir: tmp.join("b"), replicas: null });
    expect(status.clusterID).toBe(primary.store.dataDir.clusterId);
    expect(status.lagSeconds).toBeGreaterThanOrEqual(0);
    const app = status.databases.find((d) => d.name === "app.db");
    expect(app).toMatchObject({ txid: "0000000000000002", checksum: formatChecksum(primary.store.require("app.db").position.checksum), refused: false });
    expect(status.databases.map((d) => d.name)).toEqual(["app.db", "tenants/acme.db"]);
  });

  it("without the auth token still shows the node but not the checksums it guards", async () => {
    const res = await litefs(["status", "-url", primary.url, "-json"]);
    expect(res.code).toBe(0);
    const status = JSON.parse(res.stdout) as NodeStatus;
    expect(status.isPrimary).toBe(true);
    expect(status.databases.find((d) => d.name === "app.db")).toMatchObject({ txid: "0000000000000002", checksum: null });
  });

  it("names the URL when the node is down", async () => {
    const port = await deadPort();
    const res = await litefs(["status", "-url", `http://127.0.0.1:${port}`]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`error: cannot reach the litefs node at http://127.0.0.1:${port} (GET /info): ECONNREFUSED`);
  });
});
