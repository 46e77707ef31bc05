/**
 * Heartbeats and the shutdown sync's retry interval: the Heartbeat class against a real
 * HTTP server on 127.0.0.1, then both through `litestream replicate` with real SQLite.
 */
import { once } from "node:events";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { DatabaseStatus } from "@sqlrep/backup";
import { createLogger } from "@sqlrep/runtime";
import { spawnProcess, stopAllProcesses, tempDir } from "@sqlrep/testkit";
import Database from "better-sqlite3";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { allReplicated, Heartbeat } from "./heartbeat.js";
import { CLI } from "./testing/seed.js";

const built = existsSync(CLI);
const tmp = tempDir("sqlrep-litestream-heartbeat-");
afterAll(async () => {
  await stopAllProcesses();
  tmp.remove();
});

/** An HTTP server on 127.0.0.1 that answers `status` and records each request's time and method. */
let server: Server;
let url: string;
let requests: { method: string; path: string; at: number }[];
let status = 200;
beforeEach(async () => {
  requests = [];
  status = 200;
  server = createServer((req, res) => {
    requests.push({ method: req.method ?? "", path: req.url ?? "", at: Date.now() });
    res.statusCode = status;
    res.end("ok");
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ping/abc`;
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const quiet = createLogger({ level: "error", format: "text", stream: { write: () => true } as unknown as NodeJS.WritableStream });

function db(state: DatabaseStatus["state"], replica: { lagMs: number; lastError?: string }): DatabaseStatus {
  return {
    path: "/a.db",
    state,
    pageSize: 4096,
    dbSize: 0,
    walSize: 0,
    localTXID: 1,
    localLogBytes: 0,
    replicas: [{ name: "r", type: "file", location: "/r", txid: 1, pendingTXIDs: 0, ...replica }],
  };
}

describe("Heartbeat", () => {
  it("all replicated: databases replicating, no replica error, nothing older than the interval missing", () => {
    expect(allReplicated([db("replicating", { lagMs: 0 })], 60_000)).toBe(true);
    expect(allReplicated([db("replicating", { lagMs: 59_000 })], 60_000)).toBe(true);
    expect(allReplicated([db("replicating", { lagMs: 60_000 })], 60_000)).toBe(false);
    expect(allReplicated([db("replicating", { lagMs: 0, lastError: "down" })], 60_000)).toBe(false);
    expect(allReplicated([db("replicating", { lagMs: 0 }), db("waiting", { lagMs: 0 })], 60_000)).toBe(false);
    expect(allReplicated([db("missing", { lagMs: 0 })], 60_000)).toBe(false);
    expect(allReplicated([], 60_000)).toBe(false);
  });

  it("GETs the URL at once when healthy, then at most once per interval; never while unhealthy", async () => {
    let healthy = true;
    const hb = new Heartbeat({ url, intervalMs: 300, checkMs: 20, status: () => [db("replicating", healthy ? { lagMs: 0 } : { lagMs: 0, lastError: "down" })], logger: quiet });
    // The first fetch of a process pays for its client's start-up (up to ~200 ms here): paid before timing.
    await (await fetch(url)).text();
    requests = [];
    hb.start();
    await sleep(100);
    expect(requests).toMatchObject([{ method: "GET", path: "/ping/abc" }]);
    for (let i = 0; i < 100 && requests.length < 2; i++) await sleep(10);
    healthy = false;
    expect(requests).toHaveLength(2);
    // Not at every 20 ms check: an interval apart.
    expect(requests[1]!.at - requests[0]!.at).toBeGreaterThanOrEqual(200);
    await sleep(700);
    expect(requests).toHaveLength(2);
    healthy = true;
    await sleep(100);
    expect(requests).toHaveLength(3);
    await hb.stop();
    await sleep(400);
    expect(requests).toHaveLength(3);
  });

  it("a failing endpoint is logged and not retried before the interval", async () => {
    status = 503;
    const lines: string[] = [];
    const logger = createLogger({ level: "info", format: "text", stream: { write: (l: string) => lines.push(l) > 0 } as unknown as NodeJS.WritableStream });
    const hb = new Heartbeat({ url, intervalMs: 10_000, checkMs: 20, status: () => [db("replicating", { lagMs: 0 })], logger });
    hb.start();
    await sleep(300);
    await hb.stop();
    expect(requests).toHaveLength(1);
    expect(lines.join("")).toMatch(/level=ERROR msg="heartbeat ping failed" url=\S+ error="unexpected status code: 503"/);
  });
});

/** A WAL-mode database with a table, in its own directory. */
function walDatabase(name: string): string {
  mkdirSync(tmp.join(name));
  const path = tmp.join(name, "app.db");
  const d = new Database(path);
  d.pragma("journal_mode = WAL");
  d.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL); INSERT INTO t (v) VALUES ('a');");
  d.close();
  return path;
}

function configFile(name: string, lines: string[]): string {
  const path = tmp.join(`${name}.yml`);
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

function replicate(config: string) {
  return spawnProcess(process.execPath, [CLI, "replicate", "-config", config], {
    name: "litestream",
    env: { LOG_LEVEL: "" },
    ready: /msg="replication started"/,
    readyTimeoutMs: 30_000,
  });
}

describe.skipIf(!built)(`heartbeat-url and shutdown-sync-interval through replicate${built ? "" : " — needs a build"}`, () => {
  it("pings heartbeat-url once replication runs; not while a replica fails", async () => {
    const path = walDatabase("hb");
    const good = configFile("hb", [`heartbeat-url: ${url}`, "heartbeat-interval: 1m", "dbs:", `  - path: ${path}`, "    replica:", `      path: ${tmp.join("hb-replica")}`]);
    const proc = await replicate(good);
    for (let i = 0; i < 100 && requests.length === 0; i++) await sleep(50);
    expect(requests).toMatchObject([{ method: "GET", path: "/ping/abc" }]);
    proc.signal("SIGTERM");
    expect((await proc.exited).code).toBe(0);

    requests = [];
    writeFileSync(tmp.join("blocker"), "x");
    const bad = configFile("hb-bad", [
      `heartbeat-url: ${url}`,
      "shutdown-sync-timeout: 1s",
      "dbs:",
      `  - path: ${path}`,
      "    replica:",
      `      path: ${tmp.join("blocker", "replica")}`,
    ]);
    const failing = await replicate(bad);
    await failing.waitForLine(/msg="sync error"/);
    await sleep(500);
    expect(requests).toEqual([]);
    failing.signal("SIGTERM");
    expect((await failing.exited).code).toBe(1);
  }, 30_000);

  it("on SIGTERM the final sync is retried every shutdown-sync-interval until shutdown-sync-timeout", async () => {
    const path = walDatabase("shutdown");
    writeFileSync(tmp.join("blocker2"), "x");
    const config = configFile("shutdown", [
      "shutdown-sync-timeout: 2s",
      "shutdown-sync-interval: 100ms",
      "dbs:",
      `  - path: ${path}`,
      "    replica:",
      `      path: ${tmp.join("blocker2", "replica")}`,
    ]);
    const proc = await replicate(config);
    await proc.waitForLine(/msg="sync error"/);
    const before = proc.output().length;
    const stopping = Date.now();
    proc.signal("SIGTERM");
    expect((await proc.exited).code).toBe(1);
    const took = Date.now() - stopping;
    const retries = proc
      .output()
      .slice(before)
      .filter((l) => l.includes('msg="sync failed, will retry"'));
    // About one try per 100 ms over 2 s; the back-off alone (1 s, 2 s, …) would make 1 or 2.
    expect(retries.length, retries.join("\n")).toBeGreaterThanOrEqual(6);
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(8000);
    expect(proc.output().join("\n")).toMatch(/did not reach replica "file" within the shutdown sync timeout \(2s\)/);
  }, 30_000);
});
