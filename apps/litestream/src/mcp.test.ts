/**
 * Tests of `mcp-addr`: the built `litestream replicate` serving MCP on a free 127.0.0.1 port,
 * driven by a plain-fetch client through initialize, tools/list, every tool, and bad requests.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePort, spawnProcess, stopAllProcesses, tempDir, type ProcessHandle } from "@sqlrep/testkit";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VERSION } from "./version.js";
import { CLI, readDatabase } from "./testing/seed.js";

const built = existsSync(CLI);
const WRITER = fileURLToPath(new URL("./testing/writer.mjs", import.meta.url));
const tmp = tempDir("sqlrep-litestream-mcp-");
let url: string;
let proc: ProcessHandle;
let dbPath: string;
let configPath: string;

interface RpcAnswer {
  status: number;
  body: any;
  headers: Headers;
}

async function post(body: unknown, headers: Record<string, string> = {}): Promise<RpcAnswer> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === "" ? undefined : JSON.parse(text), headers: res.headers };
}

let ids = 0;
const rpc = (method: string, params?: unknown) => post({ jsonrpc: "2.0", id: ++ids, method, ...(params === undefined ? {} : { params }) });
/** tools/call, expecting a JSON-RPC result: its text and isError. */
async function call(name: string, args?: Record<string, unknown>): Promise<{ text: string; isError: boolean }> {
  const { status, body } = await rpc("tools/call", { name, ...(args ? { arguments: args } : {}) });
  expect(status).toBe(200);
  expect(body.error).toBeUndefined();
  expect(body.result.content).toHaveLength(1);
  expect(body.result.content[0].type).toBe("text");
  return { text: body.result.content[0].text, isError: body.result.isError === true };
}

beforeAll(async () => {
  if (!built) return;
  const dir = tmp.join("app");
  mkdirSync(dir);
  dbPath = `${dir}/app.db`;
  const db = new Database(dbPath);
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  db.close();
  const port = await freePort();
  configPath = tmp.join("litestream.yml");
  const socket = tmp.join("control.sock");
  writeFileSync(
    configPath,
    `mcp-addr: "127.0.0.1:${port}"\nsocket:\n  enabled: true\n  path: ${socket}\ndbs:\n  - path: ${dbPath}\n    replica:\n      name: backup\n      url: file://${tmp.join("replica")}\n      sync-interval: 100ms\n`,
  );
  proc = await spawnProcess(process.execPath, [CLI, "replicate", "-config", configPath], {
    name: "replicate",
    env: { LOG_LEVEL: "" },
    ready: /msg="replication started"/,
    readyTimeoutMs: 30_000,
  });
  const line = await proc.waitForLine(/msg="serving MCP/);
  url = /url=(\S+)/.exec(line)![1]!;
  await proc.waitForLine(/msg="control socket listening"/);
  await promisify(execFile)(process.execPath, [WRITER, dbPath, "25"], { timeout: 60_000 });
  // Every row on the replica before the tools are asked: a "replica sync" line could be
  // one from before the writer's last commit (a CI run restored 21 of 25 rows).
  await promisify(execFile)(process.execPath, [CLI, "sync", "-socket", socket, "-wait", dbPath], { timeout: 30_000 });
}, 60_000);

afterAll(async () => {
  await stopAllProcesses();
  tmp.remove();
});

describe.skipIf(!built)(`replicate with mcp-addr${built ? "" : " (skipped: needs a build: pnpm turbo run build)"}`, () => {
  it("listens on the configured 127.0.0.1 port and initializes, echoing a protocol version it speaks", async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const { status, body } = await rpc("initialize", { protocolVersion: "2025-03-26", capabilities: {}, clientInfo: { name: "test", version: "1" } });
    expect(status).toBe(200);
    expect(body).toEqual({
      jsonrpc: "2.0",
      id: ids,
      result: { protocolVersion: "2025-03-26", capabilities: { tools: { listChanged: false } }, serverInfo: { name: "Litestream MCP Server", version: `v${VERSION}` } },
    });
    const newer = await rpc("initialize", { protocolVersion: "2099-01-01", capabilities: {}, clientInfo: { name: "test", version: "1" } });
    expect(newer.body.result.protocolVersion).toBe("2025-06-18");
    const note = await post({ jsonrpc: "2.0", method: "notifications/initialized" });
    expect(note.status).toBe(202);
    expect(note.body).toBeUndefined();
    expect((await rpc("ping")).body.result).toEqual({});
  });

  it("lists v0.5's tools with their arguments and hints", async () => {
    const { body } = await rpc("tools/list", {});
    const tools = body.result.tools as { name: string; inputSchema: { properties: Record<string, { type: string }>; required?: string[] }; annotations: Record<string, boolean> }[];
    expect(tools.map((t) => t.name).sort()).toEqual([
      "litestream_databases",
      "litestream_info",
      "litestream_ltx",
      "litestream_reset",
      "litestream_restore",
      "litestream_status",
      "litestream_version",
    ]);
    const restore = tools.find((t) => t.name === "litestream_restore")!;
    expect(Object.keys(restore.inputSchema.properties).sort()).toEqual(["config", "if_db_not_exists", "if_replica_exists", "o", "parallelism", "path", "timestamp", "txid"]);
    expect(restore.inputSchema.required).toEqual(["path"]);
    expect(restore.inputSchema.properties["if_db_not_exists"]!.type).toBe("boolean");
    expect(restore.annotations).toEqual({ readOnlyHint: false, destructiveHint: true });
    expect(tools.find((t) => t.name === "litestream_ltx")!.annotations).toEqual({ readOnlyHint: true });
  });

  it("answers each tool from the running replication", async () => {
    expect((await call("litestream_version")).text).toBe(`v${VERSION}\n`);

    const databases = await call("litestream_databases");
    expect(databases.text).toMatch(new RegExp(`^path\\s+replicas\\n${dbPath}\\s+backup\\n$`));

    const status = await call("litestream_status", { path: dbPath });
    expect(status.isError).toBe(false);
    expect(status.text).toContain(dbPath);
    expect(status.text).toMatch(/backup\s+.*[0-9a-f]{16}/);

    const info = await call("litestream_info");
    expect(info.text).toContain(`v${VERSION}`);
    expect(info.text).toContain(dbPath);

    const ltx = await call("litestream_ltx", { path: dbPath });
    expect(ltx.text).toMatch(/^level\s+min_txid\s+max_txid\s+size\s+created\n/);
    expect(ltx.text).toMatch(/\n0\s+[0-9a-f]{16}\s+[0-9a-f]{16}\s+\d+/);

    const out = tmp.join("restored.db");
    const restore = await call("litestream_restore", { path: dbPath, o: out, if_db_not_exists: true });
    expect(restore.isError).toBe(false);
    expect(restore.text).toMatch(/^restored .*database checksum verified/);
    expect(readDatabase(out).rows.length).toBe(25);
    expect(readDatabase(out).integrity).toBe("ok");
    // -if-db-not-exists: the second call leaves the file and says so.
    expect((await call("litestream_restore", { path: dbPath, o: out, if_db_not_exists: true })).text).toMatch(/already exists, skipping/);
  });

  it("reports a failed command as a tool error with the command's message", async () => {
    const beyond = await call("litestream_restore", { path: dbPath, o: tmp.join("never.db"), txid: "00000000000fffff" });
    expect(beyond.isError).toBe(true);
    expect(beyond.text).toMatch(/error: /);
    expect(existsSync(tmp.join("never.db"))).toBe(false);
    // reset is refused while this replicate holds the database, as the CLI refuses it.
    const reset = await call("litestream_reset", { path: dbPath });
    expect(reset.isError).toBe(true);
    expect(reset.text).toMatch(/already being replicated/);
  });

  it("answers bad requests with JSON-RPC errors", async () => {
    const parse = await post("{not json");
    expect(parse.status).toBe(400);
    expect(parse.body.error.code).toBe(-32700);
    expect(parse.body.id).toBeNull();

    expect((await post({ id: 1, method: "ping" })).body.error.code).toBe(-32600);
    expect((await post({ jsonrpc: "2.0", id: {}, method: "ping" })).body.error.code).toBe(-32600);
    expect((await rpc("resources/list")).body.error).toEqual({ code: -32601, message: "method not found: resources/list" });
    expect((await rpc("tools/call", { name: "litestream_nope" })).body.error.code).toBe(-32602);
    expect((await rpc("tools/call", { name: "litestream_ltx", arguments: {} })).body.error).toEqual({ code: -32602, message: 'argument "path" of litestream_ltx is required' });
    expect((await rpc("tools/call", { name: "litestream_restore", arguments: { path: dbPath, if_db_not_exists: "yes" } })).body.error.message).toMatch(/must be a boolean/);
    expect((await rpc("tools/call", { name: "litestream_status", arguments: { path: "-json" } })).body.error.code).toBe(-32602);
    expect((await rpc("tools/call", { name: "litestream_status", arguments: { verbose: true } })).body.error.message).toMatch(/unknown argument "verbose"/);

    const batch = await post([
      { jsonrpc: "2.0", id: "a", method: "ping" },
      { jsonrpc: "2.0", method: "notifications/initialized" },
      { jsonrpc: "2.0", id: "b", method: "nope" },
    ]);
    expect(batch.body).toEqual([
      { jsonrpc: "2.0", id: "a", result: {} },
      { jsonrpc: "2.0", id: "b", error: { code: -32601, message: "method not found: nope" } },
    ]);

    expect((await fetch(url)).status).toBe(405);
    expect((await post({ jsonrpc: "2.0", id: 1, method: "ping" }, { "content-type": "text/plain" })).status).toBe(415);
    expect((await post({ jsonrpc: "2.0", id: 1, method: "ping" }, { origin: "https://evil.example" })).status).toBe(403);
    expect((await post({ jsonrpc: "2.0", id: 1, method: "ping" }, { origin: "http://localhost:5173" })).status).toBe(200);
    expect((await post({ jsonrpc: "2.0", id: 1, method: "ping" }, { "mcp-protocol-version": "1999-01-01" })).status).toBe(400);
  });

  it("stops with replicate", async () => {
    proc.signal("SIGTERM");
    expect((await proc.exited).code).toBe(0);
    await expect(fetch(url)).rejects.toThrow();
  });
});
