/**
 * The proxy on real nodes in this process (static lease; the replica reaches its primary
 * through a TCP forwarder the tests cut), a real HTTP app behind each proxy, Node's client.
 */
import { createHash } from "node:crypto";
import { createServer, request, type Server } from "node:http";
import { connect } from "node:net";
import { createStaticLeaser } from "@sqlrep/lease";
import { silentLogger } from "@sqlrep/shipper";
import { deadPort, freePort, startTcpForwarder, tempDir, waitFor, type TcpForwarder } from "@sqlrep/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isClusterError } from "../errors.js";
import { ClusterNode } from "../roles/node.js";
import { Store } from "../store/store.js";
import { startTestNode, type TestNode } from "../testing/in-process.js";
import { decodeFrame, encodeFrame, send, startTestApp, type TestApp } from "../testing/proxy-app.js";
import { compilePathPattern } from "./options.js";
import { health, parseTxidCookie } from "./consistency.js";
import { proxyAdvertiseURL, startProxyServer, type ProxyServer } from "./server.js";

const tmp = tempDir("sqlrep-proxy-");
let a: TestNode;
let b: TestNode;
let link: TcpForwarder;
let appA: TestApp;
let appB: TestApp;
let proxyA: ProxyServer;
let proxyB: ProxyServer;
const common = { db: "app.db", passthrough: ["/static/*"], alwaysForward: ["/session/*"], primaryRedirectTimeout: 4_000, maxLag: 1_500 };

beforeAll(async () => {
  const port = await freePort();
  a = await startTestNode({ dataDir: tmp.join("a"), hostname: "node-a", port, leaser: (id) => createStaticLeaser({ ...id, candidate: true }) });
  link = await startTcpForwarder(port);
  b = await startTestNode({
    dataDir: tmp.join("b"),
    hostname: "node-b",
    candidate: false,
    leaser: () => createStaticLeaser({ hostname: "node-a", advertiseURL: link.url, candidate: false }),
  });
  await a.node.whenReady;
  await b.node.whenReady;
  appA = await startTestApp("a", a.node, tmp.path);
  appB = await startTestApp("b", b.node, tmp.path);
  proxyA = await startProxyServer(a.node, { ...common, addr: "127.0.0.1:0", target: `127.0.0.1:${appA.port}` });
  proxyB = await startProxyServer(b.node, { ...common, addr: "127.0.0.1:0", target: appB.port });
}, 30_000);

afterAll(async () => {
  for (const closer of [proxyB, proxyA, appB, appA, b, a, link]) await closer?.close();
  tmp.remove();
});

const cut = async () => {
  link.setTarget(undefined);
  await waitFor(() => b.node.primaryHostname() === null, { timeoutMs: 5_000 });
};
const restore = () => link.setTarget(a.server.port);
const cookieOf = (headers: Record<string, unknown>) => {
  const set = headers["set-cookie"] as string[] | undefined;
  return set?.find((c) => c.startsWith("__txid="));
};
const txidNow = (node: TestNode) => node.store.get("app.db")?.position.txid ?? 0;

describe("the proxy on a primary and a replica", () => {
  it("publishes each proxy's URL in its node's /info", async () => {
    const info = (await (await fetch(`${a.url}/info`)).json()) as { proxyURL?: string };
    expect(info.proxyURL).toBe(proxyA.advertiseURL);
    expect(proxyA.advertiseURL).toBe(proxyA.url);
  });

  it("a write on the primary goes to its app and answers with __txid set to the TXID after it", async () => {
    const res = await send(proxyA.port, "POST", "/items", { body: "one" });
    expect(res.status).toBe(201);
    expect(JSON.parse(res.text)).toMatchObject({ node: "a" });
    const cookie = cookieOf(res.headers);
    expect(cookie).toMatch(/^__txid=[0-9a-f]{16}; Path=\/; Expires=\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT; HttpOnly$/);
    const txid = parseTxidCookie(cookie!.split(";")[0]);
    expect(txid).toBe(JSON.parse(res.text).txid);
    expect(txid).toBe(txidNow(a));
    const expires = Date.parse(/Expires=([^;]+)/.exec(cookie!)![1]!);
    expect(expires - Date.now()).toBeGreaterThan(4 * 60_000);
  });

  it("a write on a replica is forwarded to the primary's proxy and its cookie comes back", async () => {
    const res = await send(proxyB.port, "POST", "/items", { body: "two" });
    expect(res.status, res.text).toBe(201);
    expect(JSON.parse(res.text)).toMatchObject({ node: "a" });
    const cookie = cookieOf(res.headers)!.split(";")[0]!;
    expect(parseTxidCookie(cookie)).toBe(txidNow(a));
    const read = await send(proxyB.port, "GET", "/items", { headers: { cookie } });
    expect(read.status).toBe(200);
    expect(JSON.parse(read.text)).toEqual({ node: "b", rows: ["one", "two"] });
  });

  it("a read carrying __txid waits until the replica has applied that TXID; without it, the replica answers at once", async () => {
    await cut();
    const write = await send(proxyA.port, "POST", "/items", { body: "three" });
    const cookie = cookieOf(write.headers)!.split(";")[0]!;
    expect(parseTxidCookie(cookie)).toBeGreaterThan(txidNow(b));
    const stale = await send(proxyB.port, "GET", "/items");
    expect(JSON.parse(stale.text).rows).toEqual(["one", "two"]);
    let answered = false;
    const waiting = send(proxyB.port, "GET", "/items", { headers: { cookie: `theme=dark; ${cookie}` } }).finally(() => (answered = true));
    try {
      await new Promise((r) => setTimeout(r, 400));
      expect(answered, "the read waited for the replica").toBe(false);
    } finally {
      restore();
    }
    const fresh = await waiting;
    expect(fresh.status).toBe(200);
    expect(JSON.parse(fresh.text)).toEqual({ node: "b", rows: ["one", "two", "three"] });
  });

  it("a read whose TXID never comes answers 504 after the wait", async () => {
    const short = await startProxyServer(b.node, { ...common, addr: "127.0.0.1:0", target: appB.port, txidTimeout: 300, advertiseURL: proxyB.advertiseURL });
    try {
      const ahead = (txidNow(a) + 100).toString(16).padStart(16, "0");
      const res = await send(short.port, "GET", "/items", { headers: { cookie: `__txid=${ahead}` } });
      expect(res.status).toBe(504);
      expect(res.text).toBe("Proxy timeout\n");
    } finally {
      await short.close();
      b.node.advertiseProxy(proxyB.advertiseURL);
    }
  });

  it("passthrough paths go straight to the local app (no forwarding, no wait, no cookie); always-forward GETs go to the primary", async () => {
    const post = await send(proxyB.port, "POST", "/static/a/b.css");
    expect(post.status).toBe(201);
    expect(JSON.parse(post.text)).toMatchObject({ node: "b", method: "POST", path: "/static/a/b.css" });
    expect(cookieOf(post.headers)).toBeUndefined();
    const ahead = (txidNow(a) + 100).toString(16).padStart(16, "0");
    const get = await send(proxyB.port, "GET", "/static/x", { headers: { cookie: `__txid=${ahead}` } });
    expect(get.status).toBe(200);
    expect(JSON.parse(get.text).node).toBe("b");
    const session = await send(proxyB.port, "GET", "/session/touch");
    expect(JSON.parse(session.text)).toMatchObject({ node: "a", method: "GET" });
    expect(cookieOf(session.headers)).toMatch(/^__txid=/);
    const notPassthrough = await send(proxyB.port, "POST", "/staticx");
    expect(JSON.parse(notPassthrough.text).node).toBe("a");
  });

  it("/litefs/health: 200 while caught up, 503 once the replica's lag passes max-lag, 200 again after", async () => {
    expect((await send(proxyA.port, "GET", "/litefs/health")).status).toBe(200);
    expect((await send(proxyB.port, "GET", "/litefs/health")).text).toBe("OK\n");
    await cut();
    try {
      await waitFor(async () => (await send(proxyB.port, "GET", "/litefs/health")).status === 503, { timeoutMs: 8_000, intervalMs: 100 });
      const res = await send(proxyB.port, "GET", "/litefs/health");
      expect(res.text).toMatch(/^Replication lag exceeded: \d+ ms since the primary was last heard from, max-lag 1500 ms\n$/);
      expect((await send(proxyA.port, "GET", "/litefs/health")).status).toBe(200);
      expect(health(b.node, 0).ok, "max-lag 0 turns the lag check off").toBe(true);
    } finally {
      restore();
    }
    await waitFor(async () => (await send(proxyB.port, "GET", "/litefs/health")).status === 200, { timeoutMs: 8_000, intervalMs: 100 });
  });

  it("a write on a replica cut off from its primary waits for it (primary-redirect-timeout), then goes through", async () => {
    await cut();
    const started = Date.now();
    const pending = send(proxyB.port, "POST", "/items", { body: "four" });
    setTimeout(restore, 300);
    const res = await pending;
    expect(res.status, res.text).toBe(201);
    expect(JSON.parse(res.text).node).toBe("a");
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it("streams a large chunked upload (replica → primary's proxy → app) and a large download without buffering them", async () => {
    const chunk = Buffer.alloc(1 << 20, 3);
    const total = 24;
    const hash = createHash("sha256");
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: proxyB.port, method: "POST", path: "/upload", agent: false }, (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on("error", reject);
      void (async () => {
        req.write(chunk);
        hash.update(chunk);
        // The app sees the first MiB before the rest is even sent: nothing held the body back.
        await appA.firstUploadChunk();
        for (let i = 1; i < total; i++) {
          hash.update(chunk);
          if (!req.write(chunk)) await new Promise((r) => req.once("drain", r));
        }
        req.end();
      })();
    });
    const up = await answer;
    expect(up.status).toBe(200);
    expect(JSON.parse(up.text)).toEqual({ node: "a", bytes: total << 20, sha256: hash.digest("hex") });

    const down = await new Promise<{ bytes: number; node: string | undefined }>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: proxyB.port, path: `/download?size=${total << 20}`, agent: false }, (res) => {
        let bytes = 0;
        res.on("data", (c: Buffer) => {
          // The first MiB arrives while the app still holds the rest back.
          if (bytes === 0) appB.releaseDownload();
          bytes += c.length;
        });
        res.on("end", () => resolve({ bytes, node: res.headers["x-app-node"] as string | undefined }));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end();
    });
    expect(down).toEqual({ bytes: total << 20, node: "b" });
  });

  it("passes a WebSocket upgrade through to the app (handshake, then frames both ways)", async () => {
    const socket = connect({ host: "127.0.0.1", port: proxyB.port });
    try {
      const key = Buffer.from("sqlrep-proxy-key").toString("base64");
      socket.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`);
      let buffered = Buffer.alloc(0);
      const readUntil = (done: (b: Buffer) => number) =>
        new Promise<Buffer>((resolve, reject) => {
          const check = () => {
            const end = done(buffered);
            if (end < 0) return;
            socket.off("data", onData);
            const out = buffered.subarray(0, end);
            buffered = buffered.subarray(end);
            resolve(out);
          };
          const onData = (c: Buffer) => {
            buffered = Buffer.concat([buffered, c]);
            check();
          };
          socket.on("data", onData);
          socket.once("error", reject);
          check();
        });
      const head = (await readUntil((b) => (b.indexOf("\r\n\r\n") < 0 ? -1 : b.indexOf("\r\n\r\n") + 4))).toString();
      expect(head).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
      const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
      expect(head).toContain(`Sec-WebSocket-Accept: ${accept}\r\n`);
      const frame = (b: Buffer) => (b.length >= 2 && b.length >= 2 + (b[1]! & 0x7f) ? 2 + (b[1]! & 0x7f) : -1);
      for (const text of ["hello", "again"]) {
        socket.write(encodeFrame(text, true));
        expect(Buffer.from(decodeFrame(await readUntil(frame))).toString()).toBe(`b:${text}`);
      }
    } finally {
      socket.destroy();
    }
  });
});

describe("the proxy when a hop is missing", () => {
  it("retries an app that is not listening yet (connection refused) until it is", async () => {
    const port = await freePort();
    const late = await startProxyServer(a.node, { ...common, addr: "127.0.0.1:0", target: port, advertiseURL: proxyA.advertiseURL });
    let server: Server | undefined;
    try {
      const pending = send(late.port, "GET", "/hello");
      await new Promise((r) => setTimeout(r, 300));
      server = createServer((_req, res) => res.end("late app")).listen(port, "127.0.0.1");
      const res = await pending;
      expect(res.status).toBe(200);
      expect(res.text).toBe("late app");
    } finally {
      await late.close();
      a.node.advertiseProxy(proxyA.advertiseURL);
      server?.closeAllConnections();
      server?.close();
    }
  });

  it("a replica whose primary's proxy does not answer says so (502), and never forwards a forwarded write again (503)", async () => {
    const deadProxy = `http://127.0.0.1:${await deadPort()}`;
    const lost = await startProxyServer(b.node, { ...common, addr: "127.0.0.1:0", target: appB.port, primaryProxyURL: () => deadProxy, advertiseURL: proxyB.advertiseURL });
    try {
      const res = await send(lost.port, "POST", "/items", { body: "lost" });
      expect(res.status).toBe(502);
      expect(res.text).toMatch(/^Proxy error: .*ECONNREFUSED/);
      const loop = await send(proxyB.port, "POST", "/items", { body: "loop", headers: { "litefs-proxy-forwarded-by": "0123456789ABCDEF" } });
      expect(loop.status).toBe(503);
      expect(loop.text).toBe(`Proxy error: a write forwarded by node 0123456789ABCDEF reached node ${b.node.nodeId}, which is not the primary (node-a is)\n`);
    } finally {
      await lost.close();
      b.node.advertiseProxy(proxyB.advertiseURL);
    }
  });
});

describe("the proxy's server timeouts", () => {
  it("read-header-timeout closes a connection whose headers never finish; write-timeout cuts a slow answer", async () => {
    const strict = await startProxyServer(b.node, {
      ...common,
      addr: "127.0.0.1:0",
      target: appB.port,
      readHeaderTimeout: 300,
      writeTimeout: 300,
      advertiseURL: proxyB.advertiseURL,
    });
    try {
      const socket = connect({ host: "127.0.0.1", port: strict.port });
      socket.write("GET /items HTTP/1.1\r\nHost: x\r\n");
      const started = Date.now();
      const answer = await new Promise<string>((resolve) => {
        let text = "";
        socket.on("data", (c: Buffer) => (text += c.toString()));
        socket.on("close", () => resolve(text));
        socket.on("error", () => undefined);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect((await send(strict.port, "GET", "/slow?ms=0")).status).toBe(200);
      const cut = await send(strict.port, "GET", "/slow?ms=3000").catch((err: Error) => err);
      expect(cut).toBeInstanceOf(Error);
      expect((cut as NodeJS.ErrnoException).code).toBe("ECONNRESET");
    } finally {
      await strict.close();
      b.node.advertiseProxy(proxyB.advertiseURL);
    }
  });
});

describe("the proxy on a node that has no primary", () => {
  it("answers health 503 (not ready) and, after primary-redirect-timeout, 503 to writes", async () => {
    const deadURL = `http://127.0.0.1:${await deadPort()}`;
    const store = await Store.open({ dataDir: tmp.join("c"), logger: silentLogger, verifyOnOpen: false });
    const node = new ClusterNode({ store, leaser: createStaticLeaser({ hostname: "gone", advertiseURL: deadURL, candidate: false }), logger: silentLogger, reconnectDelay: 100 });
    node.start();
    const app = await startTestApp("c", node, tmp.path);
    const proxy = await startProxyServer(node, { ...common, addr: "127.0.0.1:0", target: app.port, primaryRedirectTimeout: 600 });
    try {
      const health = await send(proxy.port, "GET", "/litefs/health");
      expect(health.status).toBe(503);
      expect(health.text).toMatch(/^Not ready/);
      const started = Date.now();
      const res = await send(proxy.port, "POST", "/items", { body: "x" });
      expect(res.status).toBe(503);
      expect(res.text).toBe("Proxy error: no primary available\n");
      expect(Date.now() - started).toBeGreaterThanOrEqual(550);
      // Reads still reach the local app.
      expect(JSON.parse((await send(proxy.port, "GET", "/items")).text)).toEqual({ node: "c", rows: [] });
    } finally {
      await proxy.close();
      await app.close();
      await node.close();
      await store.close();
    }
  });
});

describe("options", () => {
  it("are validated with errors naming the key", async () => {
    const bad: [Record<string, unknown>, string, RegExp][] = [
      [{ addr: "127.0.0.1:0", db: "app.db" }, "proxy.target", /proxy.target is required/],
      [{ addr: "127.0.0.1:0", target: "127.0.0.1:1" }, "proxy.db", /proxy.db is required/],
      [{ target: "127.0.0.1:1", db: "app.db" }, "proxy.addr", /proxy.addr is required/],
      [{ addr: "127.0.0.1:0", target: "http://127.0.0.1:3000", db: "app.db" }, "proxy.target", /give host:port, not a URL/],
      [{ addr: ":99999", target: 3000, db: "app.db" }, "proxy.addr", /not host:port/],
      [{ addr: "127.0.0.1:0", target: 3000, db: "app.db", maxLag: -1 }, "proxy.max-lag", /duration in ms/],
      [{ addr: "127.0.0.1:0", target: 3000, db: "app.db", passthrough: [""] }, "proxy.passthrough", /not a path pattern/],
      [{ addr: "127.0.0.1:0", target: 3000, db: "app.db", replicaWrites: "redirect" }, "replicaWrites", /"forward" or "fly-replay"/],
    ];
    for (const [options, key, message] of bad) {
      const err = await startProxyServer(a.node, options as never).catch((e: unknown) => e);
      expect(isClusterError(err, "invalid-argument"), String(err)).toBe(true);
      expect((err as { key?: string }).key).toBe(key);
      expect((err as Error).message).toMatch(message);
    }
  });

  it("the URL a proxy publishes: its listen host, or for every interface the node's advertise-url host with the proxy's port", () => {
    expect(proxyAdvertiseURL("127.0.0.1", 8081, "http://node1.internal:20202")).toBe("http://127.0.0.1:8081");
    expect(proxyAdvertiseURL(undefined, 8080, "http://node1.internal:20202")).toBe("http://node1.internal:8080");
    expect(proxyAdvertiseURL("0.0.0.0", 8080, "http://[fdaa::3]:20202")).toBe("http://[fdaa::3]:8080");
    expect(proxyAdvertiseURL("::1", 8080, "http://x:1")).toBe("http://[::1]:8080");
  });

  it("path patterns: * is the only wildcard and the whole path must match; a RegExp is used as given", () => {
    const glob = compilePathPattern("/static/*.css");
    expect(glob.test("/static/a/b.css")).toBe(true);
    expect(glob.test("/static/a.cssx")).toBe(false);
    expect(glob.test("/x/static/a.css")).toBe(false);
    expect(compilePathPattern("/a.b").test("/aXb")).toBe(false);
    expect(compilePathPattern(/^\/api\//).test("/api/x")).toBe(true);
  });

  it("fly-replay, when asked for, answers a replica's write with the primary's hostname instead of forwarding", async () => {
    const replay = await startProxyServer(b.node, { ...common, addr: "127.0.0.1:0", target: appB.port, replicaWrites: "fly-replay", advertiseURL: proxyB.advertiseURL });
    try {
      const before = txidNow(a);
      const res = await send(replay.port, "POST", "/items", { body: "never" });
      expect(res.status).toBe(200);
      expect(res.headers["fly-replay"]).toBe("instance=node-a");
      expect(res.text).toBe("");
      expect(txidNow(a)).toBe(before);
    } finally {
      await replay.close();
      b.node.advertiseProxy(proxyB.advertiseURL);
    }
  });
});
