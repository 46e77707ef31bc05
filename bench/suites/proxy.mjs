// @sqlrep/cluster's HTTP proxy (startProxyServer): requests/s through the proxy next to the
// same requests sent straight to the app, in the same run — reads, reads carrying __txid,
// writes on the primary (cookie set), writes on a replica (forwarded to the primary's proxy)
// — and a large upload's MB/s straight and through two proxies. The app and the load
// generator are child processes; the two nodes and their proxies run in this process.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ClusterNode, Store, startHttpServer, startProxyServer } from "@sqlrep/cluster";
import { createStaticLeaser } from "@sqlrep/lease";
import { freePort } from "@sqlrep/testkit";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const CONCURRENCY = 16;

const APP = `
import { createServer } from "node:http";
const body = JSON.stringify({ ok: true, items: [1, 2, 3] });
const server = createServer((req, res) => {
  let bytes = 0;
  req.on("data", (c) => (bytes += c.length));
  req.on("end", () => {
    const text = req.method === "GET" ? body : JSON.stringify({ bytes });
    res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
    res.end(text);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => process.stdout.write(String(server.address().port) + "\\n"));
`;

// argv: port method path concurrency seconds cookie uploadMiB
const LOAD = `
import { Agent, request } from "node:http";
const [port, method, path, conc, seconds, cookie, uploadMiB] = process.argv.slice(2);
const agent = new Agent({ keepAlive: true, maxSockets: Number(conc) });
const headers = cookie === "-" ? {} : { cookie };
const chunk = Buffer.alloc(1 << 20, 5);
const one = () => new Promise((resolve) => {
  const req = request({ host: "127.0.0.1", port: Number(port), method, path, headers, agent }, (res) => {
    res.resume();
    res.on("end", () => resolve(res.statusCode));
  });
  req.on("error", () => resolve(0));
  if (Number(uploadMiB) > 0) {
    let sent = 0;
    const pump = () => {
      while (sent < Number(uploadMiB)) {
        sent++;
        if (!req.write(chunk)) return req.once("drain", pump);
      }
      req.end();
    };
    pump();
  } else req.end(method === "GET" ? undefined : '{"v":1}');
});
const counts = {};
let n = 0;
const start = performance.now();
const deadline = start + Number(seconds) * 1000;
if (Number(uploadMiB) > 0) {
  const status = await one();
  counts[status] = 1;
  n = 1;
} else {
  await Promise.all(Array.from({ length: Number(conc) }, async () => {
    while (performance.now() < deadline) {
      const status = await one();
      counts[status] = (counts[status] ?? 0) + 1;
      n++;
    }
  }));
}
process.stdout.write(JSON.stringify({ n, ms: performance.now() - start, counts }) + "\\n");
agent.destroy();
`;

export default async function run(bench) {
  const appFile = join(bench.scratch, "app.mjs");
  const loadFile = join(bench.scratch, "load.mjs");
  writeFileSync(appFile, APP);
  writeFileSync(loadFile, LOAD);
  const apps = [await startApp(appFile), await startApp(appFile)];
  const nodes = [];
  const proxies = [];
  try {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    for (const [name, candidate] of [
      ["a", true],
      ["b", false],
    ]) {
      const store = await Store.open({ dataDir: join(bench.scratch, name), logger: quiet });
      const node = new ClusterNode({ store, leaser: createStaticLeaser({ hostname: "a", advertiseURL: url, candidate }), logger: quiet, reconnectDelay: 200 });
      const server = await startHttpServer(node, { addr: candidate ? `127.0.0.1:${port}` : "127.0.0.1:0" });
      node.start();
      await node.whenReady;
      nodes.push({ store, node, server });
    }
    const [a, b] = nodes;
    await a.node.commit("app.db", [{ pgno: 1, data: new Uint8Array(4096).fill(1) }], 1);
    for (const [i, n] of nodes.entries()) proxies.push(await startProxyServer(n.node, { addr: "127.0.0.1:0", target: apps[i].port, db: "app.db" }));
    const cookie = `__txid=${"1".padStart(16, "0")}`;
    const runs = bench.quick ? 1 : 3;
    const seconds = bench.quick ? 1 : 2;
    const cases = [
      ["GET /items", "GET", "-", apps[0].port, proxies[0].port],
      ["GET /items with __txid (reached)", "GET", cookie, apps[1].port, proxies[1].port],
      ["POST /items on the primary (cookie set)", "POST", "-", apps[0].port, proxies[0].port],
      ["POST /items on the replica (forwarded to the primary's proxy)", "POST", "-", apps[0].port, proxies[1].port],
    ];
    for (const [title, method, ck, direct, viaProxy] of cases) {
      bench.log(title);
      await load(loadFile, direct, method, ck, 1, 0); // warm-up
      await load(loadFile, viaProxy, method, ck, 1, 0);
      const d = [];
      const p = [];
      for (let r = 0; r < runs; r++) {
        d.push(await load(loadFile, direct, method, ck, seconds, 0));
        p.push(await load(loadFile, viaProxy, method, ck, seconds, 0));
      }
      const rate = (x) => (x.n / x.ms) * 1000;
      const med = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
      const dr = d.map(rate);
      const pr = p.map(rate);
      const bad = [...d, ...p].reduce(
        (s, x) =>
          s +
          Object.entries(x.counts)
            .filter(([k]) => k !== "200")
            .reduce((t, [, v]) => t + v, 0),
        0,
      );
      bench.row(`requests/s, ${CONCURRENCY} keep-alive connections (higher is better)`, {
        case: title,
        "proxy median": med(pr),
        "proxy best": Math.max(...pr),
        "direct median": med(dr),
        "direct best": Math.max(...dr),
        "× direct (best)": Math.max(...pr) / Math.max(...dr),
        "non-200": bad,
        runs,
      });
    }
    const mib = bench.quick ? 64 : 256;
    bench.log(`upload ${mib} MiB`);
    const up = { direct: [], viaProxies: [] };
    for (let r = 0; r < runs; r++) {
      up.direct.push(await load(loadFile, apps[0].port, "POST", "-", 0, mib));
      up.viaProxies.push(await load(loadFile, proxies[1].port, "POST", "-", 0, mib));
    }
    const mbps = (x) => (mib * 1048576) / 1e6 / (x.ms / 1000);
    const best = (xs) => Math.max(...xs.map(mbps));
    bench.row("one streamed upload, MB/s (higher is better)", {
      case: `${mib} MiB chunked POST, replica's proxy → primary's proxy → app`,
      "proxy best": best(up.viaProxies),
      "direct best": best(up.direct),
      "× direct (best)": best(up.viaProxies) / best(up.direct),
      runs,
    });
    bench.note(
      "No LiteFS proxy runs here (it needs a LiteFS mount and a Go build); the reference is the same request sent straight to the app in the same run. LiteFS's proxy forwards writes on a replica with fly-replay only, so the forwarded-write row has no LiteFS counterpart off Fly. The nodes and proxies share this process; the app and the load generator are child processes, all on 2 shared cores.",
    );
  } finally {
    for (const p of proxies) await p.close();
    for (const n of nodes.reverse()) {
      await n.node.close();
      await n.server.close();
      await n.store.close();
    }
    for (const app of apps) app.child.kill();
  }
}

function startApp(file) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { stdio: ["ignore", "pipe", "inherit"] });
    child.once("error", reject);
    child.stdout.once("data", (d) => resolve({ child, port: Number(String(d).trim()) }));
  });
}

function load(file, port, method, cookie, seconds, uploadMiB) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, String(port), method, "/items", String(CONCURRENCY), String(seconds), cookie, String(uploadMiB)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load generator exited ${code}`))));
  });
}
