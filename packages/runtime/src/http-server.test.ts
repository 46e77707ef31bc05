// The HTTP server and its common routes over real sockets: routing, 404/405/500, headers on
// every response, /metrics from a prom-client registry, status JSON, and a graceful close.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Gauge } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { isRuntimeError } from "./errors.js";
import { metricsRoute, statusRoute } from "./http-routes.js";
import { serveHttp, type HttpService } from "./http-server.js";
import { createMetricsRegistry } from "./metrics.js";
import type { StatusReportJson } from "./status.js";

const services: HttpService[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close({ timeoutMs: 100 })));
});

async function serve(options: Omit<Parameters<typeof serveHttp>[0], "host" | "port">): Promise<HttpService> {
  const service = await serveHttp({ host: "127.0.0.1", port: 0, ...options });
  services.push(service);
  return service;
}

interface DbStatus {
  path: string;
  txid: number;
  lastSyncAt?: Date | undefined;
  replicas: { name: string; lastVerifiedAt?: Date | undefined; error?: Error }[];
}

describe("serveHttp", () => {
  it("routes by path and method: 404 names the routes, 405 says what is allowed, headers go on every response", async () => {
    const { url } = await serve({
      routes: { "/a": (_req, res) => void res.end("a"), "/b": { methods: ["POST"], handle: (_req, res) => void res.end("posted") } },
      headers: () => ({ "litefs-id": "ABCDEF0123456789" }),
    });
    const a = await fetch(`${url}/a?x=1`);
    expect([a.status, await a.text(), a.headers.get("litefs-id")]).toEqual([200, "a", "ABCDEF0123456789"]);
    expect(await (await fetch(`${url}/b`, { method: "POST" })).text()).toBe("posted");
    const wrong = await fetch(`${url}/b`);
    expect([wrong.status, wrong.headers.get("allow")]).toEqual([405, "POST"]);
    const missing = await fetch(`${url}/c`);
    expect([missing.status, await missing.text(), missing.headers.get("litefs-id")]).toEqual([404, "not found: try /a or /b\n", "ABCDEF0123456789"]);
    expect((await fetch(`${url}/c`, { method: "DELETE" })).status).toBe(405); // no route takes DELETE
  });

  it("answers 500 with the message when a handler throws", async () => {
    const { url } = await serve({ routes: { "/boom": () => Promise.reject(new Error("store is closed")) } });
    const r = await fetch(`${url}/boom`);
    expect([r.status, await r.text()]).toEqual([500, "store is closed\n"]);
  });

  it("serves a prom-client registry on /metrics with the process's own metrics", async () => {
    const registry = createMetricsRegistry();
    const txid = new Gauge({ name: "litefs_db_txid", help: "Current transaction ID.", labelNames: ["db"], registers: [registry] });
    txid.set({ db: "app.db" }, 42);
    const { url } = await serve({ routes: { "/metrics": metricsRoute(registry) } });
    const r = await fetch(`${url}/metrics`);
    expect(r.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await r.text();
    expect(text).toContain('# HELP litefs_db_txid Current transaction ID.\n# TYPE litefs_db_txid gauge\nlitefs_db_txid{db="app.db"} 42\n');
    for (const name of [
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
      "process_start_time_seconds",
      "process_open_fds",
      "nodejs_eventloop_lag_seconds",
      "nodejs_heap_size_used_bytes",
    ]) {
      expect(text, name).toMatch(new RegExp(`^${name} [0-9.e+-]+$`, "m"));
    }
    const bare = createMetricsRegistry({ processMetrics: false, labels: { instance: "node1" } });
    new Gauge({ name: "up_gauge", help: "h", registers: [bare] }).set(1);
    expect(await bare.metrics()).toBe('# HELP up_gauge h\n# TYPE up_gauge gauge\nup_gauge{instance="node1"} 1\n');
  });

  it("serves the engine's own status type as JSON, read back as StatusReportJson", async () => {
    const at = new Date("2024-05-01T10:00:00.5Z");
    const databases: DbStatus[] = [{ path: "/data/app.db", txid: 7, lastSyncAt: at, replicas: [{ name: "s3", lastVerifiedAt: undefined, error: new Error("timeout") }] }];
    const { url } = await serve({ routes: { "/status": statusRoute("1.2.3", () => databases) } });
    const r = await fetch(`${url}/status`);
    expect(r.headers.get("content-type")).toBe("application/json");
    const text = await r.text();
    expect(text.endsWith("}\n")).toBe(true);
    const body = JSON.parse(text) as StatusReportJson<DbStatus>;
    expect(body).toEqual({
      version: "1.2.3",
      pid: process.pid,
      databases: [{ path: "/data/app.db", txid: 7, lastSyncAt: "2024-05-01T10:00:00.500Z", replicas: [{ name: "s3", error: "timeout" }] }],
    });
    const when: string | undefined = body.databases[0]?.lastSyncAt; // typed as the wire has it
    expect(when).toBe("2024-05-01T10:00:00.500Z");
  });

  it("close lets a request in flight finish, then stops listening", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    const service = await serve({ routes: { "/slow": async (_req, res) => (entered(), await gate, void res.end("done")) } });
    const pending = fetch(`${service.url}/slow`).then((r) => r.text());
    await inHandler;
    const closed = service.close({ timeoutMs: 10_000 });
    release();
    expect(await pending).toBe("done");
    await closed;
    await expect(fetch(`${service.url}/slow`)).rejects.toThrow();
  });

  it("listens on a Unix socket with socketPath, and removes it on close", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sqlrep-runtime-sock-"));
    const socketPath = join(dir, "control.sock");
    try {
      const service = await serveHttp({ socketPath, routes: { "/ping": (_req, res) => void res.end("pong") } });
      expect(service.url).toBe(`unix:${socketPath}`);
      const body = await new Promise<string>((resolve, reject) => {
        get({ socketPath, path: "/ping" }, (res) => {
          let text = "";
          res.on("data", (c: Buffer) => (text += c.toString()));
          res.on("end", () => resolve(text));
        }).on("error", reject);
      });
      expect(body).toBe("pong");
      await service.close();
      expect(existsSync(socketPath)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses an address in use with RuntimeError listen", async () => {
    const first = await serve({ routes: {} });
    const err = await serveHttp({ host: "127.0.0.1", port: Number(new URL(first.url).port), routes: {} }).catch((e: unknown) => e);
    expect(isRuntimeError(err, "listen")).toBe(true);
    expect((err as Error).message).toMatch(/EADDRINUSE.*127\.0\.0\.1/);
  });
});
