/**
 * The node's HTTP API on `http.addr` (default `:20202`), HTTP/1.1: routing, the
 * `Litefs-Id` / `Litefs-Cluster-Id` headers on every answer, the auth token on
 * node-to-node and mutating endpoints, errors as JSON with the status their code maps to.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ClusterError, describeError, httpStatusOf } from "../errors.js";
import { NodeCounters } from "../metrics.js";
import type { ClusterNode } from "../roles/node.js";
import { authorized, resolveAuthToken } from "./auth.js";
import { routes, type Route } from "./endpoints.js";
import { HEADER_CLUSTER_ID, HEADER_NODE_ID } from "./peer.js";
import { sendError } from "./respond.js";

/** Options of {@link startHttpServer}. */
export interface HttpServerOptions {
  /** `host:port`, `:port` (every interface, as LiteFS) or a port; default `:20202`. */
  addr?: string | number | undefined;
  /** `http.auth-token`; `LITEFS_AUTH_TOKEN` when not given. */
  authToken?: string | undefined;
}

/** A running API server. */
export interface HttpServer {
  /** `http://host:port` it answers on. */
  readonly url: string;
  readonly port: number;
  /** Counters behind `/metrics`. */
  readonly counters: NodeCounters;
  /** Stops accepting, ends open streams. */
  close(): Promise<void>;
}

/** Starts the API of `node`. */
export async function startHttpServer(node: ClusterNode, options: HttpServerOptions = {}): Promise<HttpServer> {
  const token = resolveAuthToken(options.authToken);
  const counters = new NodeCounters();
  const detach = counters.attach(node);
  const closing = new AbortController();
  const server: Server = createServer((req, res) => void handle(node, req, res, token, counters, closing.signal));
  // Streams and large imports outlive Node's default request timeouts.
  server.requestTimeout = 0;
  server.headersTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  const { host, port } = parseAddr(options.addr ?? ":20202");
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = host === undefined || host === "" || host === "0.0.0.0" ? "127.0.0.1" : host;
  return {
    url: `http://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${address.port}`,
    port: address.port,
    counters,
    close: async () => {
      detach();
      closing.abort(new ClusterError("closed", "the server is closing"));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** `host:port`, `:port`, or a port. */
export function parseAddr(addr: string | number): { host: string | undefined; port: number } {
  if (typeof addr === "number") return { host: undefined, port: addr };
  const i = addr.lastIndexOf(":");
  const host = i <= 0 ? undefined : addr.slice(0, i).replace(/^\[|\]$/g, "");
  const port = Number(i < 0 ? addr : addr.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ClusterError("invalid-argument", `http.addr ${JSON.stringify(addr)}: not host:port`);
  return { host, port };
}

async function handle(node: ClusterNode, req: IncomingMessage, res: ServerResponse, token: string | undefined, counters: NodeCounters, closing: AbortSignal): Promise<void> {
  res.setHeader("Litefs-Id", node.nodeId);
  const clusterId = node.store.dataDir.clusterId;
  if (clusterId !== undefined) res.setHeader("Litefs-Cluster-Id", clusterId);
  const url = new URL(req.url ?? "/", "http://localhost");
  const route: Route | undefined = routes[url.pathname];
  try {
    if (route === undefined) throw new ClusterError("not-found", `no endpoint ${url.pathname}`);
    const handler = route[req.method ?? "GET"];
    if (handler === undefined) {
      res.setHeader("Allow", Object.keys(route).join(", "));
      return sendError(res, 405, `${req.method} is not allowed on ${url.pathname}`);
    }
    if (handler.auth && !authorized(req, token)) {
      req.resume();
      return sendError(res, 401, `${url.pathname} requires the cluster's auth token (Authorization: Bearer …; http.auth-token or LITEFS_AUTH_TOKEN)`);
    }
    if (handler.node) {
      const peer = header(req.headers[HEADER_NODE_ID]);
      if (peer === node.nodeId) throw new ClusterError("self-connection", `a request from this node to itself (node ID ${peer}): check lease.advertise-url`);
      const peerCluster = header(req.headers[HEADER_CLUSTER_ID]);
      if (peerCluster !== undefined && clusterId !== undefined && peerCluster !== clusterId) {
        throw new ClusterError(
          "cluster-id-mismatch",
          `node ${peer ?? "?"} belongs to cluster ${peerCluster}, this node to cluster ${clusterId}: refusing a node of another cluster`,
        );
      }
    }
    const client = new AbortController();
    res.on("close", () => client.abort(new ClusterError("aborted", "the client went away")));
    await handler.run({ node, req, res, url, counters, signal: AbortSignal.any([client.signal, closing]) });
  } catch (err) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const status = httpStatusOf(err);
    if (status >= 500 && status !== 503) node.logger.warn("request failed", { path: url.pathname, error: describeError(err) });
    req.resume();
    sendError(res, status, describeError(err), err instanceof ClusterError ? err.code : undefined);
  }
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
