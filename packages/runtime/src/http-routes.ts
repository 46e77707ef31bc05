// The routes every app serves the same way: `/metrics` from a prom-client registry and a
// status document as JSON.
import type { ServerResponse } from "node:http";
import type { Registry } from "prom-client";
import type { Route } from "./http-server.js";
import { statusReport, stringifyJson } from "./status.js";

/** `GET /metrics`: the registry in Prometheus text format (collect hooks run on each scrape). */
export function metricsRoute(registry: Registry): Route {
  return {
    async handle(_req, res) {
      const text = await registry.metrics();
      res.writeHead(200, { "content-type": registry.contentType }).end(text);
    },
  };
}

/** A route answering `body()` as indented JSON (dates as RFC 3339, errors as their message). */
export function jsonRoute(body: () => unknown): Route {
  return { handle: (_req, res) => sendJson(res, 200, body()) };
}

/**
 * `GET /status`: `{ version, pid, databases }`, each database in the engine's own status
 * type `S` (read back on the client as `StatusReportJson<S>`).
 */
export function statusRoute<S>(version: string, status: () => readonly S[]): Route {
  return jsonRoute(() => statusReport(version, status()));
}

/** Writes `body` as indented JSON with a trailing newline. */
export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { "content-type": "application/json" }).end(`${stringifyJson(body, 2)}\n`);
}
