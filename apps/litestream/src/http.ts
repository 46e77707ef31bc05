import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { listenAddress } from "./config.js";
import { VERSION } from "./version.js";

/** A replica's live state, as `GET /status` serves it (times as RFC 3339 strings). */
export interface LiveReplicaStatus {
  name: string;
  type: string;
  location: string;
  txid: number;
  lagMs: number;
  lastSyncAt?: string;
  lastError?: string;
  lastVerifiedAt?: string;
}

/** A database's live state, as `GET /status` serves it. */
export interface LiveDatabaseStatus {
  path: string;
  pageSize: number;
  dbSize: number;
  walSize: number;
  localTXID: number;
  lastCheckpointAt?: string;
  replicas: LiveReplicaStatus[];
}

/** The body of `GET /status`. */
export interface LiveStatus {
  version: string;
  pid: number;
  databases: LiveDatabaseStatus[];
}

/** What the server reads from: the backup engine's metrics text and status model. */
export interface StatusSource {
  metrics(): string;
  status(): readonly unknown[];
}

/**
 * Serves `GET /metrics` (Prometheus text format) and `GET /status` (JSON) on `addr`;
 * a bare `:port` listens on 127.0.0.1 only (Litestream listens on every interface).
 */
export async function startHttpServer(addr: string, source: StatusSource): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    try {
      if (path === "/metrics") {
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(source.metrics());
      } else if (path === "/status") {
        const body: LiveStatus = { version: VERSION, pid: process.pid, databases: source.status() as LiveDatabaseStatus[] };
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body, jsonReplacer, 2) + "\n");
      } else {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /metrics or /status\n");
      }
    } catch (err) {
      res.writeHead(500, { "content-type": "text/plain" }).end(`${err instanceof Error ? err.message : String(err)}\n`);
    }
  });
  const { host, port } = listenAddress(addr);
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
    server,
    url: `http://${shown}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Dates as RFC 3339, errors as their message, bigints as decimal strings. */
function jsonReplacer(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  if (raw instanceof Date) return raw.toISOString();
  if (raw instanceof Error) return raw.message;
  if (typeof value === "bigint") return value.toString();
  return value;
}
