/** A primary and a replica on the static lease, in this process: streaming, read-only replicas, the API, auth, halt and forwarding. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStaticLeaser } from "@sqlrep/lease";
import { tempDir, waitFor } from "@sqlrep/testkit";
import { isClusterError } from "../errors.js";
import { allPages, fileChecksum, PageModel, pages } from "../testing/pages.js";
import { startTestNode, type TestNode } from "../testing/in-process.js";
import { freePort } from "@sqlrep/testkit";

const tmp = tempDir("sqlrep-cluster-static-");
let primary: TestNode;
let replica: TestNode;
const TOKEN = "s3cret-token";

beforeAll(async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  primary = await startTestNode({ dataDir: tmp.join("a"), hostname: "node-a", port, authToken: TOKEN, leaser: (id) => createStaticLeaser({ ...id, candidate: true }) });
  replica = await startTestNode({
    dataDir: tmp.join("b"),
    hostname: "node-b",
    authToken: TOKEN,
    candidate: false,
    leaser: () => createStaticLeaser({ hostname: "node-a", advertiseURL: url, candidate: false }),
  });
  await primary.node.whenReady;
  await replica.node.whenReady;
}, 30_000);

afterAll(async () => {
  await replica?.close();
  await primary?.close();
  tmp.remove();
});

const sameAs = (name: string) => () => {
  const a = primary.store.get(name)?.position;
  const b = replica.store.get(name)?.position;
  return a !== undefined && b !== undefined && a.txid === b.txid && a.checksum === b.checksum && a.txid > 0;
};

describe("static lease: a primary and a replica", () => {
  it("streams every transaction; the replica's file is the primary's, its position the same, and it is read-only", async () => {
    const model = new PageModel();
    model.apply(allPages(30, 1), 30);
    await primary.node.commit("app.db", allPages(30, 1), 30);
    for (let v = 2; v <= 40; v++) {
      const tx = pages(
        [(v % 30) + 1, ((v * 7) % 30) + 1].sort((x, y) => x - y).filter((p, i, a) => a.indexOf(p) === i),
        v,
      );
      model.apply(tx, 30);
      await primary.node.commit("app.db", tx, 30);
    }
    await waitFor(sameAs("app.db"), { timeoutMs: 10_000 });
    expect(replica.store.get("app.db")!.position.checksum).toBe(model.checksum());
    expect(fileChecksum(replica.store.get("app.db")!.files.database)).toBe(model.checksum());
    expect(replica.node.primaryHostname()).toBe("node-a");
    expect(primary.node.primaryHostname()).toBeNull();
    expect(replica.node.lag().kind).toBe("since");
    const err = await replica.node.commit("app.db", pages([1], 99), 30).catch((e: unknown) => e);
    expect(isClusterError(err, "read-only")).toBe(true);
    // Subdirectories are databases too.
    await primary.node.commit("tenants/acme.db", allPages(2, 1), 2);
    await waitFor(sameAs("tenants/acme.db"), { timeoutMs: 10_000 });
  });

  it("answers /info and /metrics, and refuses node-to-node and mutating calls without the token (401, nothing changes)", async () => {
    const info = (await (await fetch(`${replica.url}/info`)).json()) as Record<string, unknown>;
    expect(info).toMatchObject({ isPrimary: false, candidate: false, primary: { hostname: "node-a" } });
    expect(info.clusterID).toMatch(/^LFSC[0-9A-F]{16}$/);
    const res = await fetch(`${primary.url}/info`);
    expect(res.headers.get("litefs-id")).toBe(primary.node.nodeId);
    expect(res.headers.get("litefs-cluster-id")).toBe(info.clusterID);
    const metrics = await (await fetch(`${primary.url}/metrics`)).text();
    expect(metrics).toMatch(/litefs_is_primary 1/);
    expect(metrics).toMatch(/litefs_db_txid\{db="app.db"\} \d+/);
    expect(metrics).toMatch(/litefs_subscriber_count 1/);
    const before = primary.store.get("app.db")!.position;
    for (const [path, method] of [
      ["/stream", "POST"],
      ["/halt?name=app.db&id=1", "POST"],
      ["/tx?name=app.db&lockID=1", "POST"],
      ["/import?name=app.db", "POST"],
      ["/promote", "POST"],
      ["/handoff?nodeID=0000000000000000", "POST"],
      ["/checksums?name=app.db", "GET"],
    ] as const) {
      const r = await fetch(`${primary.url}${path}`, { method, headers: { authorization: "Bearer wrong" }, body: method === "POST" ? new Uint8Array(8) : undefined });
      expect(r.status, path).toBe(401);
      const r2 = await fetch(`${primary.url}${path}`, { method, body: method === "POST" ? new Uint8Array(8) : undefined });
      expect(r2.status, path).toBe(401);
    }
    expect(primary.store.get("app.db")!.position).toEqual(before);
  });

  it("exports a consistent copy from the replica and imports a file on the primary as one new TXID", async () => {
    const exported = new Uint8Array(await (await fetch(`${replica.url}/export?name=app.db`)).arrayBuffer());
    expect(exported.length).toBe(30 * 4096);
    const image = new Uint8Array(4 * 4096);
    image.set(Buffer.from("SQLite format 3\0", "latin1"));
    new DataView(image.buffer).setUint16(16, 4096);
    image.fill(7, 100);
    const before = primary.store.get("app.db")!.position.txid;
    const res = await fetch(`${primary.url}/import?name=app.db`, { method: "POST", body: image, headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(primary.store.get("app.db")!.position.txid).toBe(before + 1);
    await waitFor(sameAs("app.db"), { timeoutMs: 10_000 });
    expect(fileChecksum(replica.store.get("app.db")!.files.database)).toBe(primary.store.get("app.db")!.position.checksum);
    const notSqlite = await fetch(`${primary.url}/import?name=x.db`, { method: "POST", body: new Uint8Array(4096), headers: { authorization: `Bearer ${TOKEN}` } });
    expect(notSqlite.status).toBe(400);
  });

  it("a replica holding the halt lock writes through the primary: forwarded, committed on both at the same TXID", async () => {
    await replica.node.halt("app.db");
    expect(replica.node.writable("app.db")).toBe(true);
    const pos = await replica.node.commit("app.db", pages([2], 500), 4);
    expect(primary.store.get("app.db")!.position).toMatchObject({ txid: pos.txid, checksum: pos.checksum });
    // A primary commit waits for the halt: it lands after the unhalt.
    const pending = primary.node.commit("app.db", pages([3], 501), 4);
    await new Promise((r) => setTimeout(r, 100));
    expect(primary.store.get("app.db")!.position.txid).toBe(pos.txid);
    await replica.node.unhalt("app.db");
    const after = await pending;
    expect(after.txid).toBe(pos.txid + 1);
    await waitFor(sameAs("app.db"), { timeoutMs: 10_000 });
    expect(replica.node.writable("app.db")).toBe(false);
  });

  it("/events streams init, then tx events as LiteFS writes them", async () => {
    const controller = new AbortController();
    const res = await fetch(`${replica.url}/events`, { signal: controller.signal });
    const reader = res.body!.getReader();
    const lines: string[] = [];
    let buf = "";
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += Buffer.from(value).toString("utf8");
        let i: number;
        while ((i = buf.indexOf("\n")) >= 0) {
          lines.push(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      }
    })().catch(() => undefined);
    await waitFor(() => lines.length >= 1);
    await primary.node.commit("app.db", pages([1], 777), 4);
    await waitFor(() => lines.length >= 2, { timeoutMs: 10_000 });
    controller.abort();
    await reading;
    expect(JSON.parse(lines[0]!)).toEqual({ type: "init", data: { isPrimary: false, hostname: "node-a" } });
    const tx = JSON.parse(lines[1]!);
    expect(tx).toMatchObject({ type: "tx", db: "app.db", data: { pageSize: 4096, commit: 4 } });
    expect(tx.data.txID).toMatch(/^[0-9a-f]{16}$/);
    expect(tx.data.postApplyChecksum).toBe(primary.store.get("app.db")!.position.checksum.toString(16));
  });
});
