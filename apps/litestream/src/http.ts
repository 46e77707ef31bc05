// `replicate`'s HTTP endpoint (the config's `addr`): Prometheus `/metrics` and the engine's
// status as `/status` JSON, which `litestream status` reads.
import type { DatabaseStatus } from "@sqlrep/backup";
import { metricsRoute, serveHttp, statusRoute, type HttpService, type Registry, type StatusReportJson } from "@sqlrep/runtime";
import { listenAddress } from "./config.js";
import { VERSION } from "./version.js";

/** The body of `GET /status` as a client reads it: the engine's own status type, dates as RFC 3339 strings. */
export type LiveStatus = StatusReportJson<DatabaseStatus>;

/** What the server reads from: the app's metrics registry and the engine's status model. */
export interface StatusSource {
  registry: Registry;
  status(): readonly DatabaseStatus[];
}

/**
 * Serves `GET /metrics` (Prometheus text format) and `GET /status` (JSON) on `addr`;
 * a bare `:port` listens on 127.0.0.1 only (Litestream listens on every interface).
 */
export async function startHttpServer(addr: string, source: StatusSource): Promise<HttpService> {
  const { host, port } = listenAddress(addr);
  return serveHttp({
    host,
    port,
    routes: {
      "/metrics": metricsRoute(source.registry),
      "/status": statusRoute(VERSION, () => source.status()),
    },
  });
}
