// litefs.yml's `proxy:` section on two `litefs mount` daemons (static lease, real FUSE):
// each node's proxy fronts an app reading and writing that node's mount; a write sent to
// the replica's proxy is forwarded to the primary and comes back with the __txid cookie,
// and a read on the replica carrying it sees the write.
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import Database from "better-sqlite3";
import { freePort, fuseUnavailableReason, tempMountDir } from "@sqlrep/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNode, waitConverged, type TestNode } from "./testing/nodes.js";

const skip = fuseUnavailableReason();

/** The user's app on one node: POST /orders inserts through the mount, GET /orders counts. */
function startApp(mnt: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const db = new Database(join(mnt, "app.db"), { timeout: 5000 });
    try {
      if (req.method === "POST") db.prepare("INSERT INTO orders (item) VALUES ('via proxy')").run();
      const { n } = db.prepare("SELECT count(*) AS n FROM orders").get() as { n: number };
      res.end(String(n));
    } catch (err) {
      res.statusCode = 500;
      res.end((err as Error).message);
    } finally {
      db.close();
    }
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

describe.skipIf(skip)(`litefs mount with proxy: on both nodes${skip ? ` (skipped: ${skip})` : ""}`, () => {
  const root = tempMountDir("litefs-proxy-");
  const apps: Server[] = [];
  let primary: TestNode;
  let replica: TestNode;
  let primaryProxy = "";
  let replicaProxy = "";

  beforeAll(async () => {
    const [pp, pa, rp, ra] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const proxy = (port: number, app: number) => `proxy: {addr: "127.0.0.1:${port}", target: "127.0.0.1:${app}", db: app.db, max-lag: 5s}`;
    primary = await startNode(root.path, "primary", ({ url }) => `lease: {type: static, hostname: primary-host, advertise-url: "${url}", candidate: true}`, {
      extra: proxy(pp, pa),
    });
    replica = await startNode(root.path, "replica", () => `lease: {type: static, hostname: primary-host, advertise-url: "${primary.url}", candidate: false}`, {
      extra: proxy(rp, ra),
    });
    primaryProxy = `http://127.0.0.1:${pp}`;
    replicaProxy = `http://127.0.0.1:${rp}`;
    const db = new Database(join(primary.mnt, "app.db"));
    db.pragma("journal_mode = WAL");
    db.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT)");
    db.close();
    await waitConverged([primary.mnt, replica.mnt], "app.db");
    apps.push(await startApp(primary.mnt, pa), await startApp(replica.mnt, ra));
  });
  afterAll(async () => {
    for (const app of apps) await new Promise((r) => app.close(r));
    await replica?.stop();
    await primary?.stop();
    root.remove();
  });

  it("forwards a replica's write to the primary, and a read carrying its cookie sees it", async () => {
    const write = await fetch(`${replicaProxy}/orders`, { method: "POST" });
    expect(write.status).toBe(200);
    expect(await write.text()).toBe("1"); // the primary's app answered: the row is there
    const cookie = write.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^__txid=[0-9a-f]{16};/);
    const read = await fetch(`${replicaProxy}/orders`, { headers: { cookie: cookie.split(";")[0]! } });
    expect(await read.text()).toBe("1"); // the replica's own app, after it applied that TXID
    const again = await fetch(`${primaryProxy}/orders`, { method: "POST" });
    expect(await again.text()).toBe("2");
    expect((await fetch(`${replicaProxy}/litefs/health`)).status).toBe(200);
  });
});
