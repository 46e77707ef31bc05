// A small HTTP server for an app's endpoints (`/metrics`, `/status`, `/events`, …): routes by
// path and method, headers on every response, 404/405/500 answers, and a graceful close.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { RuntimeError } from "./errors.js";

/** Answers one request; `url` is parsed against the server's own address. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

/** One path's handler, the methods it takes, and what to end when the server closes. */
export interface Route {
  /** Methods answered (default GET and HEAD); others get 405 with `Allow`. */
  methods?: readonly string[];
  handle: RouteHandler;
  /** Ends what the route keeps open (event streams) when the server closes. */
  close?(): void;
}

/** Options of {@link serveHttp}. */
export interface HttpServerOptions {
  /** The interface to listen on (`127.0.0.1`, `::`, …); ignored with `socketPath`. */
  host?: string;
  /** The port; 0 picks a free one; ignored with `socketPath`. */
  port?: number;
  /** Listen on this Unix socket instead of `host:port` (Node removes the file when the server closes). */
  socketPath?: string;
  /** Routes by exact path. A bare handler answers GET and HEAD. */
  routes: Record<string, Route | RouteHandler>;
  /** Headers set on every response (LiteFS sets `Litefs-Id` on all of them). */
  headers?: () => Record<string, string>;
}

/** A listening server. */
export interface HttpService {
  readonly server: Server;
  /** `http://host:port` as bound (IPv6 hosts in brackets), or `unix:PATH` for a Unix socket. */
  readonly url: string;
  /**
   * Stops accepting connections, ends every event stream and idle connection, lets
   * requests in flight finish for up to `timeoutMs` (default 5000), then cuts the rest.
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

const DEFAULT_METHODS = ["GET", "HEAD"] as const;

/** Starts an HTTP server with `routes` on `host:port`; rejects with RuntimeError("listen") when the address cannot be bound. */
export async function serveHttp(options: HttpServerOptions): Promise<HttpService> {
  const routes = new Map(Object.entries(options.routes).map(([path, r]) => [path, typeof r === "function" ? { handle: r } : r]));
  const anyMethods = new Set([...routes.values()].flatMap((r) => r.methods ?? DEFAULT_METHODS));
  const inFlight = new Set<ServerResponse>();
  let closing: Promise<void> | undefined;
  const server = createServer((req, res) => {
    inFlight.add(res);
    res.once("close", () => inFlight.delete(res));
    void answer(req, res);
  });

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", "http://localhost");
    for (const [name, value] of Object.entries(options.headers?.() ?? {})) res.setHeader(name, value);
    if (closing) res.setHeader("connection", "close");
    const route = routes.get(url.pathname);
    const allowed = route ? (route.methods ?? DEFAULT_METHODS) : undefined;
    // A method no route takes is a 405 anywhere (so a POST to a GET-only server says so, not 404).
    if ((allowed && !allowed.includes(method)) || (!route && !anyMethods.has(method))) {
      res.writeHead(405, { allow: [...(allowed ?? anyMethods)].join(", ") }).end();
      return;
    }
    if (!route) {
      res.writeHead(404, { "content-type": "text/plain" }).end(`not found: try ${listPaths([...routes.keys()])}\n`);
      return;
    }
    try {
      await route.handle(req, res, url);
    } catch (err) {
      const message = `${err instanceof Error ? err.message : String(err)}\n`;
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" }).end(message);
      else res.destroy(err instanceof Error ? err : undefined);
    }
  }

  await new Promise<void>((resolve, reject) => {
    // Node's message names the address already ("listen EADDRINUSE: address already in use 127.0.0.1:9090").
    const fail = (err: Error) => reject(new RuntimeError("listen", err.message, { cause: err }));
    server.once("error", fail);
    const listening = () => {
      server.off("error", fail);
      resolve();
    };
    if (options.socketPath !== undefined) server.listen(options.socketPath, listening);
    else server.listen(options.port ?? 0, options.host ?? "127.0.0.1", listening);
  });
  const bound = server.address();
  let url: string;
  if (typeof bound === "string" || bound === null) url = `unix:${options.socketPath ?? ""}`;
  else url = `http://${(bound as AddressInfo).family === "IPv6" ? `[${bound.address}]` : bound.address}:${bound.port}`;
  return {
    server,
    url,
    close({ timeoutMs = 5000 } = {}) {
      closing ??= new Promise<void>((resolve) => {
        for (const route of routes.values()) route.close?.();
        // A keep-alive connection answering now would stay open after its answer: close it then.
        for (const res of inFlight) if (!res.headersSent) res.setHeader("connection", "close");
        const cut = setTimeout(() => server.closeAllConnections(), timeoutMs);
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

/** `/a`, `/a or /b`, `/a, /b or /c`. */
function listPaths(paths: readonly string[]): string {
  return paths.length <= 1 ? (paths[0] ?? "nothing") : `${paths.slice(0, -1).join(", ")} or ${paths.at(-1)}`;
}
