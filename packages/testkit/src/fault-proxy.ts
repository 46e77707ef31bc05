// A TCP/HTTP fault proxy for tests: in front of a real server it fails, resets, delays or
// shapes (bandwidth, latency) a seeded share of requests, and counts what it did.
import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pipeline } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { TestkitError } from "./errors.js";
import { connectionOf, requestDelay, shaper, type LinkShape } from "./link.js";

/**
 * What the proxy does to requests. Every field applies only to requests `match` accepts
 * (all, when it is omitted); other requests pass untouched.
 */
export interface Faults {
  /** Delay before a request is answered or forwarded. */
  latencyMs?: number;
  /** Plus a uniformly drawn 0..jitterMs. */
  jitterMs?: number;
  /** Share of requests (0..1) answered with `errorStatus` instead of being forwarded. */
  failRate?: number;
  /** Status of failed requests (default 503), with an S3-style XML error body. */
  errorStatus?: number;
  /** Share of requests (0..1) whose connection is destroyed mid-request or mid-response. */
  resetRate?: number;
  /** Where a reset happens: before the target sees the request, or after it answered (default: either, drawn). */
  resetAt?: "request" | "response";
  /** The next n matching requests fail with `errorStatus`, before the rates are consulted. */
  failNext?: number;
  /** Which requests the faults apply to (it also sees every request: tests record method, URL and headers with it). */
  match?: (req: { method: string; url: string; headers: IncomingHttpHeaders }) => boolean;
}

/** Counters since the proxy started. */
export interface FaultProxyStats {
  /** Requests received. */
  requests: number;
  /** Requests forwarded whose response was passed back. */
  forwarded: number;
  /** Requests answered with `errorStatus`. */
  failed: number;
  /** Connections destroyed on purpose. */
  reset: number;
}

/** A running fault proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:PORT`: point the client here instead of at the target. */
  readonly url: string;
  readonly port: number;
  /** Replaces the current faults (and restarts the `failNext` count). */
  setFaults(faults: Faults): void;
  /** No faults: pass everything through (the link stays as set). */
  clear(): void;
  /** Shapes every connection from now on: bandwidth per connection and one-way latency (undefined: a plain loopback). */
  setLink(link: LinkShape | undefined): void;
  /** A snapshot of the counters. */
  readonly stats: FaultProxyStats;
  /** Closes the proxy and every connection through it. Idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** `http://127.0.0.1:PORT` of the server to stand in front of. */
  target: string;
  /** Seeds the draws (jitter, fail, reset): the same requests in the same order meet the same faults. */
  seed?: number;
  /** The link every connection goes through (see `setLink`). */
  link?: LinkShape | undefined;
}

/**
 * Starts an HTTP proxy on 127.0.0.1 in front of `target` that forwards requests byte for
 * byte (headers as sent, bodies streamed both ways, keep-alive on both sides) unless a
 * fault says otherwise. Host headers are kept, so signed S3 requests stay valid.
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  if (target.protocol !== "http:") {
    throw new TestkitError("INVALID_ARGUMENT", `fault proxy target must be an http:// URL, got ${options.target}`);
  }
  const random = mulberry32(options.seed ?? 0x5eed);
  const agent = new Agent({ keepAlive: true });
  const stats: FaultProxyStats = { requests: 0, forwarded: 0, failed: 0, reset: 0 };
  let faults: Faults = {};
  let failNext = 0;
  let link: LinkShape | undefined = options.link;

  const forward = (req: IncomingMessage, res: ServerResponse, resetResponse: boolean) => {
    const upstream = request({
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: req.rawHeaders,
      agent,
    });
    const shape = link;
    upstream.on("response", (answer) => {
      if (resetResponse) return resetAfter(req, res, answer);
      stats.forwarded += 1;
      if (shape === undefined) {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders);
        return pipeline(answer, res, () => {});
      }
      // The answer travels back: its headers a latency later, its body at the link's pace.
      const body = shaper(shape, connectionOf(req.socket).down);
      answer.pipe(body);
      setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders);
        pipeline(body, res, () => {});
      }, shape.latencyMs ?? 0);
    });
    upstream.on("error", (error) => {
      if (res.headersSent) return res.destroy();
      res.writeHead(502, { "content-type": "text/plain" }).end(`fault proxy: ${target.host} unreachable: ${error.message}\n`);
    });
    // The client went away: stop the upstream request too.
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    // The request's headers already took their latency (handle); its body goes at the link's pace.
    if (shape === undefined) pipeline(req, upstream, () => {});
    else pipeline(req, shaper({ bytesPerSecond: shape.bytesPerSecond }, connectionOf(req.socket).up), upstream, () => {});
  };

  const resetAfter = (req: IncomingMessage, res: ServerResponse, answer: IncomingMessage) => {
    stats.reset += 1;
    const length = Number(answer.headers["content-length"] ?? Number.NaN);
    const bodyless = req.method === "HEAD" || answer.statusCode === 204 || answer.statusCode === 304 || length <= 1;
    const cut = () => {
      answer.destroy();
      res.destroy();
      req.socket.destroy();
    };
    // With no body to cut short, sending the headers would complete the response.
    if (bodyless) return cut();
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders);
    res.flushHeaders();
    answer.once("data", (chunk: Buffer) => {
      answer.pause();
      res.write(chunk.subarray(0, Math.floor(chunk.length / 2)), cut);
    });
    answer.once("end", cut);
  };

  const resetRequest = (req: IncomingMessage) => {
    stats.reset += 1;
    // Let part of the body (if any) arrive, then hang up without forwarding anything.
    const cut = () => req.socket.destroy();
    req.once("data", cut);
    req.once("end", cut);
    req.resume();
  };

  const fail = (req: IncomingMessage, res: ServerResponse, status: number) => {
    stats.failed += 1;
    const code = status === 503 ? "SlowDown" : status === 500 ? "InternalError" : "InjectedFault";
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected by the sqlrep fault proxy</Message></Error>\n`;
    // Read the request to its end first, as a server that failed after reading it would.
    req.resume();
    req.once("end", () => {
      res.writeHead(status, { "content-type": "application/xml", "content-length": Buffer.byteLength(body) }).end(body);
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    stats.requests += 1;
    if (link !== undefined) {
      const wait = requestDelay(link, connectionOf(req.socket));
      if (wait > 0) await sleep(wait);
    }
    const current = faults;
    if (current.match && !current.match({ method: req.method ?? "", url: req.url ?? "", headers: req.headers })) return forward(req, res, false);
    // Always four draws, so one request's faults do not shift the next one's.
    const [jitter, failDraw, resetDraw, phaseDraw] = [random(), random(), random(), random()];
    const delay = (current.latencyMs ?? 0) + (current.jitterMs ?? 0) * jitter;
    if (delay > 0) await sleep(delay);
    const status = current.errorStatus ?? 503;
    if (failNext > 0) {
      failNext -= 1;
      return fail(req, res, status);
    }
    if (failDraw < (current.failRate ?? 0)) return fail(req, res, status);
    if (resetDraw < (current.resetRate ?? 0)) {
      const phase = current.resetAt ?? (phaseDraw < 0.5 ? "request" : "response");
      return phase === "request" ? resetRequest(req) : forward(req, res, true);
    }
    forward(req, res, false);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A throwing `match` is a bug in the test: make it loud, not a hang.
      if (res.headersSent) return res.destroy();
      res.writeHead(500, { "content-type": "text/plain" }).end(`fault proxy: ${String(error)}\n`);
    });
  });
  server.on("clientError", (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, resolve);
  });
  const { port } = server.address() as AddressInfo;
  let stopping: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    setFaults(next) {
      faults = { ...next };
      failNext = next.failNext ?? 0;
    },
    clear() {
      faults = {};
      failNext = 0;
    },
    setLink(next) {
      link = next === undefined ? undefined : { ...next };
    },
    get stats() {
      return { ...stats };
    },
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      });
      return stopping;
    },
  };
}

/** A small seeded PRNG (mulberry32): uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
