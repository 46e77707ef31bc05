/**
 * Issue 10 §7's single faults, on a static-lease pair in this process: a replica behind
 * retention, a replica whose database file was corrupted while it was down, and an LTX
 * frame corrupted on the wire. Each must end in a snapshot or a refusal and a retry —
 * never in a replica serving a state the primary did not commit.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { createStaticLeaser } from "@sqlrep/lease";
import { formatChecksum } from "@sqlrep/ltx";
import type { Logger } from "@sqlrep/shipper";
import { freePort, tempDir, waitFor } from "@sqlrep/testkit";
import type { NodeEvent } from "../events.js";
import { allPages, fileChecksum, pages } from "../testing/pages.js";
import { startTestNode, type TestNode } from "../testing/in-process.js";

const tmp = tempDir("sqlrep-cluster-faults-");
const DB = "app.db";
const open: { close(): Promise<void> }[] = [];
afterAll(async () => {
  for (const n of open.reverse()) await n.close();
  tmp.remove();
});

/** A logger keeping every line (to find what a node said about a fault). */
function keepingLogger(lines: string[]): Logger {
  const line = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    void lines.push(`${level} ${message} ${JSON.stringify(fields ?? {}, (_, v) => (typeof v === "bigint" ? v.toString(16) : v))}`);
  return { debug: () => undefined, info: line("info"), warn: line("warn"), error: line("error") };
}

async function primaryNode(name: string, store: Parameters<typeof startTestNode>[0]["store"] = {}): Promise<TestNode> {
  const port = await freePort();
  const node = await startTestNode({ dataDir: tmp.join(name), hostname: name, port, store, leaser: (id) => createStaticLeaser({ ...id, candidate: true }) });
  open.push(node);
  await node.node.whenReady;
  return node;
}

/** A replica of `primaryURL`; `events` gets every event from its start. */
async function replicaNode(name: string, primaryURL: string, events: NodeEvent[], options: { verify?: boolean; logger?: Logger } = {}): Promise<TestNode> {
  const node = await startTestNode({
    dataDir: tmp.join(name),
    hostname: name,
    candidate: false,
    logger: options.logger,
    store: { verifyOnOpen: options.verify ?? false },
    leaser: () => createStaticLeaser({ hostname: "primary", advertiseURL: primaryURL, candidate: false }),
  });
  node.node.events.subscribe((e) => events.push(e));
  open.push(node);
  return node;
}

const same = (a: TestNode, b: TestNode) => () => {
  const p = a.store.get(DB)?.position;
  const r = b.store.get(DB)?.position;
  return p !== undefined && r !== undefined && r.txid === p.txid && r.checksum === p.checksum && b.store.get(DB)?.failed === undefined;
};

/** Every state the primary reached (TXID → checksum). */
function committedStates(primary: TestNode): Map<number, string> {
  const states = new Map<number, string>();
  primary.node.events.subscribe((e) => {
    if (e.type === "tx") states.set(e.position.txid, formatChecksum(e.position.checksum));
  });
  return states;
}

function servedStates(events: NodeEvent[]): { txid: number; checksum: string }[] {
  return events.flatMap((e) => (e.type === "tx" ? [{ txid: e.position.txid, checksum: formatChecksum(e.position.checksum) }] : []));
}

describe("single faults on a static-lease pair", () => {
  it("a replica behind retention gets a snapshot, then streams again", async () => {
    const a = await primaryNode("ret-a", { retention: 1, retentionMonitorInterval: 3_600_000 });
    await a.node.commit(DB, allPages(20, 1), 20);
    for (let v = 2; v <= 5; v++) await a.node.commit(DB, pages([v], v), 20);
    const events: NodeEvent[] = [];
    let b = await replicaNode("ret-b", a.url, events);
    await waitFor(same(a, b), { timeoutMs: 10_000 });
    await b.close();
    for (let v = 6; v <= 15; v++) await a.node.commit(DB, pages([v], v), 20);
    await a.store.require(DB).sync();
    a.store.runRetention(Date.now() + 1000);
    expect(a.store.require(DB).log.entries[0]!.minTXID).toBeGreaterThan(6); // TXID 6, the replica's next, is gone

    events.length = 0;
    b = await replicaNode("ret-b", a.url, events);
    await waitFor(same(a, b), { timeoutMs: 10_000 });
    expect(events.some((e) => e.type === "snapshot" && e.txid === 15)).toBe(true);
    expect(fileChecksum(b.store.require(DB).files.database, 4096, 20)).toBe(a.store.require(DB).position.checksum);
    // And it streams transactions again after the snapshot.
    await a.node.commit(DB, pages([1], 99), 20);
    await waitFor(same(a, b), { timeoutMs: 10_000 });
    await b.close();
  });

  it("a replica whose database file was corrupted while it was down refuses it, naming the file, and takes a snapshot", async () => {
    const a = await primaryNode("cor-a");
    await a.node.commit(DB, allPages(20, 1), 20);
    for (let v = 2; v <= 5; v++) await a.node.commit(DB, pages([v], v), 20);
    const events: NodeEvent[] = [];
    let b = await replicaNode("cor-b", a.url, events);
    await waitFor(same(a, b), { timeoutMs: 10_000 });
    const file = b.store.require(DB).files.database;
    await b.close();
    const bytes = readFileSync(file);
    bytes[2 * 4096 + 100] = bytes[2 * 4096 + 100]! ^ 0xff; // page 3
    writeFileSync(file, bytes);

    events.length = 0;
    b = await replicaNode("cor-b", a.url, events, { verify: true });
    await waitFor(() => events.some((e) => e.type === "refused"), { timeoutMs: 10_000 });
    const refused = events.find((e): e is Extract<NodeEvent, { type: "refused" }> => e.type === "refused")!;
    expect(refused.error.message).toContain(file);
    await a.node.commit(DB, pages([7], 77), 20); // a change the replica must get right too
    await waitFor(same(a, b), { timeoutMs: 15_000 });
    expect(events.some((e) => e.type === "snapshot")).toBe(true);
    expect(fileChecksum(file, 4096, 20)).toBe(a.store.require(DB).position.checksum);
    await b.close();
  });

  it("an LTX frame corrupted on the wire is refused before anything is applied; the replica reconnects and converges", async () => {
    const a = await primaryNode("wire-a");
    const committed = committedStates(a);
    await a.node.commit(DB, allPages(20, 1), 20);
    const proxy = await corruptingProxy(a.server.port);
    const lines: string[] = [];
    const events: NodeEvent[] = [];
    const b = await replicaNode("wire-b", proxy.url, events, { logger: keepingLogger(lines) });
    await waitFor(same(a, b), { timeoutMs: 10_000 });
    proxy.corruptNext(); // the next block of stream bytes large enough to hold a page
    for (let v = 2; v <= 30; v++) await a.node.commit(DB, pages([(v % 20) + 1], v), 20);
    await waitFor(same(a, b), { timeoutMs: 15_000 });
    expect(proxy.corrupted).toBe(1);
    const said = lines.filter((l) => /checksum|corrupt|CRC|protocol/i.test(l));
    expect(said, lines.join("\n")).not.toEqual([]);
    if (process.env.DEBUG_CLUSTER) console.log(said.join("\n"));
    for (const s of servedStates(events)) expect(committed.get(s.txid), `replica served TXID ${s.txid}`).toBe(s.checksum);
    expect(fileChecksum(b.store.require(DB).files.database, 4096, 20)).toBe(a.store.require(DB).position.checksum);
    await b.close();
    await proxy.close();
  });
});

/** A TCP proxy in front of `port` that can flip one byte of the next large server→client block. */
async function corruptingProxy(port: number): Promise<{ url: string; corruptNext(): void; readonly corrupted: number; close(): Promise<void> }> {
  let armed = false;
  let corrupted = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, "127.0.0.1");
    sockets.add(client).add(upstream);
    client.on("data", (d) => upstream.write(d));
    upstream.on("data", (d: Buffer) => {
      if (armed && d.length >= 4096) {
        armed = false;
        corrupted++;
        d[d.length >> 1] = d[d.length >> 1]! ^ 0x55;
      }
      client.write(d);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${addr.port}`,
    corruptNext: () => void (armed = true),
    get corrupted() {
      return corrupted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
