/**
 * `mcp-addr`: a Model Context Protocol server over streamable HTTP (JSON-RPC 2.0 POSTed to
 * one endpoint, JSON answers) inside `replicate`, serving {@link MCP_TOOLS}. No auth, as v0.5.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { listenAddress } from "./config.js";
import { checkArgs, describeTool, MCP_TOOLS, type McpTool } from "./mcp-tools.js";

/** Protocol revisions this server speaks, newest first (it answers an unknown one with the newest). */
export const MCP_PROTOCOL_VERSIONS = ["2025-06-18", "2025-03-26", "2024-11-05"] as const;

/** JSON-RPC 2.0 error codes used here. */
export const RPC = { parseError: -32700, invalidRequest: -32600, methodNotFound: -32601, invalidParams: -32602, internalError: -32603 } as const;

/** A request body may not exceed this (tool arguments are a few short strings). */
const MAX_BODY = 1 << 20;

/** What a tool call runs: a litestream command line in this process, with its output captured. */
export type RunCommand = (argv: readonly string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

/** Options of {@link startMcpServer}. */
export interface McpServerOptions {
  /** The config file replicate runs with: the tools' default `-config`. */
  config: string | undefined;
  version: string;
  run: RunCommand;
  /** Told of each tool call (name, exit code, ms). */
  onCall?: ((tool: string, code: number, ms: number) => void) | undefined;
}

/** A running MCP server. */
export interface McpServer {
  /** `http://host:port` as bound. */
  readonly url: string;
  close(): Promise<void>;
}

interface RpcMessage {
  jsonrpc?: unknown;
  id?: unknown;
  method?: unknown;
  params?: unknown;
}

type RpcReply = { jsonrpc: "2.0"; id: unknown; result: unknown } | { jsonrpc: "2.0"; id: unknown; error: { code: number; message: string } };

const rpcError = (id: unknown, code: number, message: string): RpcReply => ({ jsonrpc: "2.0", id: id ?? null, error: { code, message } });

/** Starts the server on `addr` (`:port` binds 127.0.0.1 only; bind it to loopback: there is no authentication). */
export async function startMcpServer(addr: string, options: McpServerOptions): Promise<McpServer> {
  const { host, port } = listenAddress(addr);
  const server = createServer((req, res) => {
    handle(req, res, options).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, rpcError(null, RPC.internalError, err instanceof Error ? err.message : String(err)));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const shown = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${shown}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers });
  res.end(text);
}

/** A browser page must not drive this server (DNS rebinding): only loopback origins, or none (non-browser clients). */
function originAllowed(origin: string | undefined): boolean {
  if (origin === undefined) return true;
  try {
    const { hostname } = new URL(origin);
    return hostname === "localhost" || hostname === "127.0.0.1" || hostname === "[::1]";
  } catch {
    return false;
  }
}

async function handle(req: IncomingMessage, res: ServerResponse, options: McpServerOptions): Promise<void> {
  if (!originAllowed(req.headers.origin)) return send(res, 403, rpcError(null, RPC.invalidRequest, `origin ${req.headers.origin} is not allowed`));
  // No server-initiated stream (GET) and no sessions to end (DELETE): POST only.
  if (req.method !== "POST") return send(res, 405, rpcError(null, RPC.invalidRequest, `method ${req.method} not allowed: POST JSON-RPC messages`), { allow: "POST" });
  const version = req.headers["mcp-protocol-version"];
  if (typeof version === "string" && !(MCP_PROTOCOL_VERSIONS as readonly string[]).includes(version)) {
    return send(res, 400, rpcError(null, RPC.invalidRequest, `unsupported MCP-Protocol-Version ${version}`));
  }
  if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) {
    return send(res, 415, rpcError(null, RPC.invalidRequest, "content-type must be application/json"));
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return send(res, 413, rpcError(null, RPC.invalidRequest, `request body over ${MAX_BODY} bytes`));
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (err) {
    return send(res, 400, rpcError(null, RPC.parseError, `parse error: ${(err as Error).message}`));
  }
  const batch = Array.isArray(body);
  const messages = batch ? (body as unknown[]) : [body];
  if (batch && messages.length === 0) return send(res, 400, rpcError(null, RPC.invalidRequest, "empty batch"));
  const replies: RpcReply[] = [];
  for (const message of messages) {
    const reply = await dispatch(message, options);
    if (reply !== undefined) replies.push(reply);
  }
  // Only notifications and responses: accepted, nothing to answer.
  if (replies.length === 0) return send(res, 202, undefined);
  send(res, 200, batch ? replies : replies[0]);
}

/** One JSON-RPC message; undefined for a notification (no `id`) or a client's response. */
async function dispatch(raw: unknown, options: McpServerOptions): Promise<RpcReply | undefined> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return rpcError(null, RPC.invalidRequest, "a JSON-RPC message must be an object");
  const msg = raw as RpcMessage;
  const hasId = "id" in msg;
  if (msg.jsonrpc !== "2.0") return rpcError(hasId ? msg.id : null, RPC.invalidRequest, 'jsonrpc must be "2.0"');
  if (hasId && msg.id !== null && typeof msg.id !== "string" && typeof msg.id !== "number") return rpcError(null, RPC.invalidRequest, "id must be a string or a number");
  if (msg.method === undefined && hasId) return undefined; // a response to us: we send no requests
  if (typeof msg.method !== "string") return rpcError(hasId ? msg.id : null, RPC.invalidRequest, "method must be a string");
  if (!hasId) return undefined; // notifications (notifications/initialized, cancelled…) need no answer
  const params = msg.params ?? {};
  if (typeof params !== "object" || params === null) return rpcError(msg.id, RPC.invalidParams, "params must be an object");
  const p = params as Record<string, unknown>;
  switch (msg.method) {
    case "initialize": {
      const asked = p["protocolVersion"];
      const protocolVersion = typeof asked === "string" && (MCP_PROTOCOL_VERSIONS as readonly string[]).includes(asked) ? asked : MCP_PROTOCOL_VERSIONS[0];
      return {
        jsonrpc: "2.0",
        id: msg.id,
        result: { protocolVersion, capabilities: { tools: { listChanged: false } }, serverInfo: { name: "Litestream MCP Server", version: options.version } },
      };
    }
    case "ping":
      return { jsonrpc: "2.0", id: msg.id, result: {} };
    case "tools/list":
      return { jsonrpc: "2.0", id: msg.id, result: { tools: MCP_TOOLS.map(describeTool) } };
    case "tools/call":
      return callTool(msg.id, p, options);
    default:
      return rpcError(msg.id, RPC.methodNotFound, `method not found: ${msg.method}`);
  }
}

async function callTool(id: unknown, params: Record<string, unknown>, options: McpServerOptions): Promise<RpcReply> {
  const tool: McpTool | undefined = MCP_TOOLS.find((t) => t.name === params["name"]);
  if (tool === undefined) return rpcError(id, RPC.invalidParams, `unknown tool: ${JSON.stringify(params["name"])}`);
  const args = checkArgs(tool, params["arguments"]);
  if (typeof args === "string") return rpcError(id, RPC.invalidParams, args);
  const started = performance.now();
  let text = "";
  let failed = false;
  let last = 0;
  for (const argv of tool.argv(args, options.config)) {
    const out = await options.run(argv);
    last = out.code;
    text += out.stdout + (out.code !== 0 || argv[0] === "restore" ? out.stderr : "");
    if (out.code !== 0) {
      failed = true;
      break;
    }
  }
  options.onCall?.(tool.name, last, performance.now() - started);
  // A failed command is a tool result with isError (the model reads why), not a protocol error.
  return { jsonrpc: "2.0", id, result: { content: [{ type: "text", text }], ...(failed ? { isError: true } : {}) } };
}
