/**
 * Forwarding one HTTP request to an upstream (the app, or the primary's proxy) with both
 * bodies streamed as they come — never buffered — and the hop-by-hop headers dropped.
 * Connections to the app retry "connection refused" for a while: it may still be starting.
 */
import { Agent, request, type ClientRequestArgs, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1), never forwarded. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "proxy-authenticate", "proxy-authorization"]);

/** Where to send a request. */
export interface Upstream {
  readonly host: string;
  readonly port: number;
}

/**
 * Opens a TCP connection, retrying connection-refused every 100 ms until `timeoutMs`
 * has passed (LiteFS does the same for an app still booting, #368).
 */
export function dialWithRetry(to: Upstream, timeoutMs: number, signal?: AbortSignal): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (signal?.aborted) return reject(signal.reason);
      const socket = connect({ host: to.host, port: to.port });
      socket.setNoDelay(true);
      const onError = (err: NodeJS.ErrnoException) => {
        socket.destroy();
        if (err.code === "ECONNREFUSED" && Date.now() + 100 < deadline && !signal?.aborted) setTimeout(attempt, 100);
        else reject(err);
      };
      socket.once("error", onError);
      socket.once("connect", () => {
        socket.off("error", onError);
        resolve(socket);
      });
    };
    attempt();
  });
}

/** A keep-alive agent whose new connections go through {@link dialWithRetry}. */
export class RetryingAgent extends Agent {
  constructor(private readonly dialTimeoutMs: number) {
    super({ keepAlive: true, keepAliveMsecs: 1_000, maxFreeSockets: 64, scheduling: "lifo" });
  }

  override createConnection(options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const to = { host: options.host ?? "127.0.0.1", port: Number(options.port) };
    dialWithRetry(to, this.dialTimeoutMs).then(
      (socket) => callback?.(null, socket),
      (err: Error) => callback?.(err, undefined as unknown as Duplex),
    );
    return undefined;
  }
}

/** Options of {@link forwardRequest}. */
export interface ForwardOptions {
  readonly agent: Agent;
  /** Headers added to the forwarded request. */
  readonly addRequestHeaders?: Record<string, string> | undefined;
  /**
   * Called when the upstream's answer has arrived and before its head is sent on; what it
   * returns is added to the answer's headers (the `__txid` cookie).
   */
  readonly onResponse?: ((upstream: IncomingMessage) => Record<string, string> | undefined) | undefined;
  /** Called when the upstream could not be reached or failed before answering (the answer is then a 502). */
  readonly onError?: ((err: Error) => void) | undefined;
}

/**
 * Sends `req` to `to` and its answer back on `res`, both bodies piped with backpressure
 * and the head flushed at once (a slow or endless download streams). Resolves when the
 * exchange ends, either way.
 */
export function forwardRequest(req: IncomingMessage, res: ServerResponse, to: Upstream, options: ForwardOptions): Promise<void> {
  return new Promise((resolve) => {
    const headers = requestHeaders(req, options.addRequestHeaders);
    const upstream = request({ host: to.host, port: to.port, method: req.method, path: req.url, headers, agent: options.agent, setHost: false });
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      resolve();
    };
    upstream.on("response", (answer) => {
      const extra = options.onResponse?.(answer);
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, responseHeaders(answer, extra));
      res.flushHeaders();
      answer.pipe(res);
      answer.on("error", () => res.destroy());
      answer.on("end", done);
      answer.on("close", done);
    });
    let failed = false;
    upstream.on("error", (err) => {
      // Only the first failure counts: writes the pipe still makes to the dead request fail too.
      if (failed) return;
      failed = true;
      req.unpipe(upstream);
      if (!res.headersSent) {
        options.onError?.(err);
        const text = `Proxy error: ${err.message}\n`;
        res.writeHead(502, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(text) });
        res.end(text);
      } else {
        res.destroy(err);
      }
      req.resume();
      done();
    });
    // The client went away before the exchange finished: stop the upstream's too.
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
      done();
    });
    req.on("aborted", () => upstream.destroy());
    req.pipe(upstream);
  });
}

/** The request's headers, hop-by-hop ones (and those `Connection` names) dropped, `X-Forwarded-For` extended. */
export function requestHeaders(req: IncomingMessage, add?: Record<string, string>): OutgoingHttpHeaders {
  const drop = connectionTokens(req.headers.connection);
  const out: OutgoingHttpHeaders = {};
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || drop.has(lower)) continue;
    const prev = out[name];
    out[name] = prev === undefined ? raw[i + 1]! : Array.isArray(prev) ? [...prev, raw[i + 1]!] : [String(prev), raw[i + 1]!];
  }
  const client = req.socket.remoteAddress;
  if (client !== undefined) {
    const key = Object.keys(out).find((k) => k.toLowerCase() === "x-forwarded-for");
    if (key === undefined) out["X-Forwarded-For"] = client;
    else out[key] = `${String(out[key])}, ${client}`;
  }
  for (const [name, value] of Object.entries(add ?? {})) out[name] = value;
  return out;
}

/** The answer's headers as a flat list (repeated `Set-Cookie`s kept apart), hop-by-hop ones dropped, `extra` appended. */
function responseHeaders(answer: IncomingMessage, extra: Record<string, string> | undefined): string[] {
  const drop = connectionTokens(answer.headers.connection);
  const out: string[] = [];
  const raw = answer.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lower) || drop.has(lower)) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  for (const [name, value] of Object.entries(extra ?? {})) out.push(name, value);
  return out;
}

function connectionTokens(value: string | undefined): Set<string> {
  const set = new Set<string>();
  for (const token of (value ?? "").split(",")) {
    const t = token.trim().toLowerCase();
    if (t !== "" && t !== "close" && t !== "keep-alive") set.add(t);
  }
  return set;
}
