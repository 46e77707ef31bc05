/**
 * The HTTP proxy in front of the user's app on each node (LiteFS's `proxy:`), working off
 * Fly: passthrough paths straight to the app, `/litefs/health`, reads that wait for the
 * `__txid` cookie's TXID, writes sent to the app on the primary (answered with the cookie)
 * or, on a replica, to the primary's proxy; bodies streamed and upgrades tunnelled.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "@sqlrep/shipper";
import { ClusterError, describeError } from "../errors.js";
import type { ClusterNode } from "../roles/node.js";
import { health, parseTxidCookie, txidCookie, waitForTxid, waitForWriteTarget } from "./consistency.js";
import { forwardRequest, RetryingAgent, type Upstream } from "./forward.js";
import { matchesAny, resolveProxyOptions, type ProxyOptions, type ResolvedProxyOptions } from "./options.js";
import { PrimaryProxyLocator } from "./primary-proxy.js";
import { tunnelUpgrade } from "./upgrade.js";

/** The header a replica's proxy marks a forwarded write with (its node ID): a proxy never forwards such a request again. */
export const FORWARDED_BY_HEADER = "litefs-proxy-forwarded-by";

/** A running proxy. */
export interface ProxyServer {
  /** `http://host:port` it listens on (127.0.0.1 when it listens on every interface). */
  readonly url: string;
  readonly port: number;
  /** The URL published in the node's `/info` as `proxyURL` for other nodes' proxies. */
  readonly advertiseURL: string;
  /** Stops listening, cuts open connections and tunnels, withdraws `proxyURL` from `/info`. */
  close(): Promise<void>;
}

/**
 * Starts the proxy of `node` (options validated first: `ClusterError("invalid-argument")`
 * naming the key). LiteFS starts it once the node is ready; started earlier, reads pass
 * to the app without waiting and `/litefs/health` answers 503 until the node is ready.
 */
export async function startProxyServer(node: ClusterNode, options: ProxyOptions): Promise<ProxyServer> {
  const resolved = resolveProxyOptions(options);
  const logger = options.logger ?? node.logger;
  const proxy = new NodeProxy(node, resolved, logger);
  return proxy.listen();
}

class NodeProxy {
  private readonly server: Server;
  private readonly targetAgent: RetryingAgent;
  private readonly primaryAgent: RetryingAgent;
  private readonly locator: PrimaryProxyLocator;
  private readonly tunnels = new Set<Duplex>();
  private readonly closing = new AbortController();
  private port = 0;
  private advertised: string | undefined;

  constructor(
    private readonly node: ClusterNode,
    private readonly options: ResolvedProxyOptions,
    private readonly logger: Logger,
  ) {
    this.targetAgent = new RetryingAgent(options.targetDialTimeout);
    // The primary's proxy is up or it is not: no retrying for a booting app there.
    this.primaryAgent = new RetryingAgent(0);
    this.locator = new PrimaryProxyLocator(node, () => this.port, options.primaryProxyURL);
    // LiteFS's defaults: uploads and downloads may take as long as they take. Node refuses
    // a headers timeout above a request timeout (0 there means none).
    const headersTimeout = options.readTimeout > 0 ? Math.min(options.readHeaderTimeout, options.readTimeout) : options.readHeaderTimeout;
    this.server = createServer(
      { requestTimeout: options.readTimeout, headersTimeout, connectionsCheckingInterval: Math.min(1_000, headersTimeout || 1_000) },
      (req, res) => void this.handle(req, res),
    );
    this.server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.upgrade(req, socket, head));
    this.server.keepAliveTimeout = options.idleTimeout;
  }

  async listen(): Promise<ProxyServer> {
    const { host, port } = this.options.listen;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(new ClusterError("io", `proxy.addr ${host ?? ""}:${port}: cannot listen: ${err.message}`, { cause: err, key: "proxy.addr" }));
      this.server.once("error", onError);
      this.server.listen(port, host, () => {
        this.server.off("error", onError);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    const url = listenURL(host, this.port);
    const advertiseURL = this.options.advertiseURL ?? proxyAdvertiseURL(host, this.port, this.node.leaser.advertiseURL);
    this.node.advertiseProxy(advertiseURL);
    this.advertised = advertiseURL;
    this.logger.info("proxy listening", { addr: url, target: `${this.options.target.host}:${this.options.target.port}`, db: this.options.db, advertise: advertiseURL });
    return {
      url,
      port: this.port,
      advertiseURL,
      close: () => this.close(),
    };
  }

  private async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort(new ClusterError("closed", "the proxy is closing"));
    if (this.node.proxyURL === this.advertised) this.node.advertiseProxy(undefined);
    for (const socket of this.tunnels) socket.destroy();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.targetAgent.destroy();
    this.primaryAgent.destroy();
  }

  private log(message: string, fields: Record<string, unknown>): void {
    if (this.options.debug) this.logger.info(`proxy: ${message}`, fields);
    else this.logger.debug(`proxy: ${message}`, fields);
  }

  private get target(): Upstream {
    return this.options.target;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const path = pathOf(req.url);
    // Closing the server cuts every connection, so the client's signal covers that too
    // (and Node 20's AbortSignal.any per request would pile dependents on a long-lived signal).
    const client = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) client.abort(new ClusterError("aborted", "the client went away"));
    });
    const signal = client.signal;
    if (this.options.writeTimeout > 0) {
      const timer = setTimeout(() => {
        this.log("write-timeout: answer cut", { method, path, writeTimeout: this.options.writeTimeout });
        res.destroy();
      }, this.options.writeTimeout);
      res.on("close", () => clearTimeout(timer));
    }
    try {
      if (matchesAny(this.options.passthrough, path)) {
        this.log("passthrough", { method, path });
        return await this.toTarget(req, res, false);
      }
      if (path === "/litefs/health" && (method === "GET" || method === "HEAD")) return this.health(req, res);
      const read = (method === "GET" || method === "HEAD") && !matchesAny(this.options.alwaysForward, path);
      if (read) return await this.read(req, res, method, path, signal);
      return await this.write(req, res, method, path, signal);
    } catch (err) {
      this.logger.warn("proxy: request failed", { method, path, error: describeError(err) });
      if (!res.headersSent) plain(res, 502, `Proxy error: ${describeError(err)}`);
      else res.destroy();
      req.resume();
    }
  }

  private health(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    const verdict = health(this.node, this.options.maxLag);
    if (verdict.ok) plain(res, 200, "OK");
    else plain(res, 503, verdict.reason);
  }

  /** GET/HEAD: wait for the cookie's TXID (if any), then the local app. */
  private async read(req: IncomingMessage, res: ServerResponse, method: string, path: string, signal: AbortSignal): Promise<void> {
    const txid = parseTxidCookie(req.headers.cookie);
    if (txid > 0 && !(await waitForTxid(this.node, this.options.db, txid, this.options.txidTimeout, signal))) {
      if (signal.aborted) return;
      const at = this.node.store.get(this.options.db)?.position.txid ?? 0;
      this.log("read timed out waiting for its txid", { method, path, db: this.options.db, at, want: txid });
      req.resume();
      return plain(res, 504, "Proxy timeout");
    }
    this.log("read", { method, path, txid });
    await this.toTarget(req, res, false);
  }

  /** Anything else: the app on the primary; from a replica, the primary's proxy (or `fly-replay`). */
  private async write(req: IncomingMessage, res: ServerResponse, method: string, path: string, signal: AbortSignal): Promise<void> {
    const where = await waitForWriteTarget(this.node, this.options.primaryRedirectTimeout, signal);
    if (signal.aborted) return;
    if (where.kind === "self") {
      this.log("write on the primary", { method, path });
      return this.toTarget(req, res, true);
    }
    if (where.kind === "none") {
      this.log("write: no primary", { method, path, waited: this.options.primaryRedirectTimeout });
      req.resume();
      return plain(res, 503, "Proxy error: no primary available");
    }
    const primary = where.primary;
    const forwardedBy = header(req.headers[FORWARDED_BY_HEADER]);
    if (forwardedBy !== undefined) {
      // Another replica's proxy thought this node was the primary: the lease moved. The
      // client may retry; forwarding again could loop.
      req.resume();
      return plain(res, 503, `Proxy error: a write forwarded by node ${forwardedBy} reached node ${this.node.nodeId}, which is not the primary (${primary.hostname} is)`);
    }
    if (this.options.replicaWrites === "fly-replay") {
      this.log("write on a replica: fly-replay", { method, path, primary: primary.hostname });
      req.resume();
      res.writeHead(200, { "fly-replay": `instance=${primary.hostname}`, "Content-Length": 0 });
      res.end();
      return;
    }
    const to = await this.locator.locate(primary, signal);
    this.log("write on a replica: forwarded to the primary's proxy", { method, path, primary: primary.hostname, proxy: to.url, learnt: to.source });
    await forwardRequest(req, res, to.upstream, {
      agent: this.primaryAgent,
      addRequestHeaders: { [FORWARDED_BY_HEADER]: this.node.nodeId },
      onError: (err) => {
        this.locator.forget(primary);
        this.logger.warn("proxy: the primary's proxy did not answer", { primary: primary.hostname, proxy: to.url, learnt: to.source, error: describeError(err) });
      },
    });
  }

  /**
   * To the app; a write's answer gets the `__txid` cookie with the database's TXID once the
   * app has answered. An always-forward GET counts as a write here (LiteFS sets the cookie
   * on non-GET/HEAD methods only): such a GET writes, and the next read should see it.
   */
  private toTarget(req: IncomingMessage, res: ServerResponse, write: boolean): Promise<void> {
    return forwardRequest(req, res, this.target, {
      agent: this.targetAgent,
      onResponse: write
        ? () => {
            const db = this.node.store.get(this.options.db);
            return db === undefined ? undefined : { "Set-Cookie": txidCookie(db.position.txid, this.options.cookieExpiry) };
          }
        : undefined,
      onError: (err) => this.logger.warn("proxy: the app did not answer", { target: `${this.target.host}:${this.target.port}`, error: describeError(err) }),
    });
  }

  /** An upgrade goes to the local app, after the read wait when it is a GET with a cookie. */
  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const path = pathOf(req.url);
    try {
      if (!matchesAny(this.options.passthrough, path) && req.method === "GET") {
        const txid = parseTxidCookie(req.headers.cookie);
        if (txid > 0 && !(await waitForTxid(this.node, this.options.db, txid, this.options.txidTimeout, this.closing.signal))) {
          socket.end("HTTP/1.1 504 Gateway Timeout\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\nConnection: close\r\n\r\nProxy timeout\n");
          return;
        }
      }
      this.log("upgrade", { path, upgrade: req.headers.upgrade });
      await tunnelUpgrade(req, socket, head, this.target, {
        dialTimeoutMs: this.options.targetDialTimeout,
        open: this.tunnels,
        onError: (err) => this.logger.warn("proxy: the app did not answer an upgrade", { path, error: describeError(err) }),
      });
    } catch (err) {
      this.logger.warn("proxy: upgrade failed", { path, error: describeError(err) });
      socket.destroy();
    }
  }
}

/** Whether a listen host means every interface. */
function isWildcard(host: string | undefined): boolean {
  return host === undefined || host === "" || host === "0.0.0.0" || host === "::";
}

/** The URL a proxy listening on `host:port` answers on locally (127.0.0.1 for every interface). */
function listenURL(host: string | undefined, port: number): string {
  const shown = isWildcard(host) ? "127.0.0.1" : (host as string);
  return `http://${shown.includes(":") ? `[${shown}]` : shown}:${port}`;
}

/**
 * The URL other nodes reach a proxy at when `advertiseURL` is not given: the listen host
 * when it names one, else the host of the node's `lease.advertise-url` (which other nodes
 * already reach) with the proxy's port.
 */
export function proxyAdvertiseURL(host: string | undefined, port: number, nodeAdvertiseURL: string): string {
  if (!isWildcard(host)) return listenURL(host, port);
  const nodeHost = new URL(nodeAdvertiseURL).hostname;
  return `http://${nodeHost}:${port}`;
}

function plain(res: ServerResponse, status: number, text: string): void {
  const body = `${text}\n`;
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

function pathOf(url: string | undefined): string {
  try {
    return new URL(url ?? "/", "http://proxy.invalid").pathname;
  } catch {
    return url ?? "/";
  }
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
