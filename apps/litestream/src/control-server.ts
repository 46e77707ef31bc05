/**
 * The control socket `replicate` serves (`socket.enabled: true`): Litestream v0.5's HTTP
 * API over a Unix socket — `POST /start /stop /sync /register /unregister`, `GET /list
 * /info /txid` — with its JSON bodies, for the `start`, `stop`, `sync`, … commands.
 */
import { chmodSync, lstatSync, unlinkSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import type { BackupEngine } from "@sqlrep/backup";
import { isReplicaError } from "@sqlrep/replica";
import { sendJson, serveHttp, type HttpService, type Logger, type Route } from "@sqlrep/runtime";
import { BACKENDS } from "./backends.js";
import { refuseSharedReplicas, resolveDatabasePath, urlSpec, type DatabaseConfig } from "./config.js";
import { CliError } from "./context.js";
import type { ManagedDatabases } from "./managed.js";

/** What the control server acts on. */
export interface ControlTarget {
  engine: BackupEngine;
  managed: ManagedDatabases;
  logger: Logger;
  version: string;
}

/** An error answered as `{ "error": message }` with an HTTP status. */
class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const MAX_BODY = 64 * 1024;

/**
 * Listens on `path` (a stale socket file left by a crash is replaced; any other file there
 * is an error), sets its permissions, and serves the control API until closed.
 */
export async function startControlServer(path: string, permissions: number, target: ControlTarget): Promise<HttpService> {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
    else throw new CliError(`cannot serve the control socket at ${path}: the file exists and is not a socket`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const startedAt = new Date();
  let service: HttpService;
  try {
    service = await serveHttp({ socketPath: path, routes: routes(target, startedAt) });
  } catch (err) {
    throw new CliError(`cannot serve the control socket at ${path}: ${(err as Error).message}`, { cause: err });
  }
  chmodSync(path, permissions);
  target.logger.info("control socket listening", { path });
  return service;
}

function routes(t: ControlTarget, startedAt: Date): Record<string, Route> {
  const txidOf = (path: string) => t.engine.status().find((s) => s.path === path)?.localTXID ?? 0;
  const post = (handle: (body: Record<string, unknown>) => Promise<unknown>): Route => ({
    methods: ["POST"],
    handle: (req, res) => answer(res, async () => handle(await readJson(req))),
  });
  const get = (handle: (url: URL) => unknown): Route => ({ handle: (_req, res, url) => answer(res, async () => handle(url)) });

  return {
    "/start": post(async (body) => {
      const path = pathOf(body);
      const status = await t.managed.start(path);
      if (status === undefined) throw new ControlError(500, `database not found: ${path}`);
      return { status, path, txid: txidOf(path) };
    }),
    "/stop": post(async (body) => {
      const path = pathOf(body);
      const before = txidOf(path);
      const stopped = await t.managed.stop(path, timeoutOf(body) * 1000);
      if (stopped === undefined) throw new ControlError(500, `database not found: ${path}`);
      unshippedError(stopped.unshipped);
      return { status: stopped.status, path, txid: before };
    }),
    "/sync": post(async (body) => {
      const path = pathOf(body);
      const entry = t.managed.get(path);
      if (entry === undefined) throw new ControlError(404, `database not found: ${path}`);
      if (!entry.running) throw new ControlError(409, `database not open: ${path}`);
      const before = txidOf(path);
      const replicaTxid = () =>
        Math.min(
          ...(t.engine
            .status()
            .find((s) => s.path === path)
            ?.replicas.map((r) => r.txid) ?? [0]),
        );
      if (body["wait"] !== true) {
        // Commits are staged locally within milliseconds anyway; the upload runs now, unwaited.
        t.engine.sync(path).catch((err: unknown) => t.logger.warn("sync requested over the control socket failed", { db: path, error: (err as Error).message }));
        return { status: "synced_local", path, txid: txidOf(path), replicated_txid: replicaTxid() };
      }
      try {
        await t.engine.sync(path, { signal: AbortSignal.timeout(timeoutOf(body) * 1000) });
      } catch (err) {
        throw new ControlError(500, (err as Error).message);
      }
      const txid = txidOf(path);
      return { status: txid === before ? "no_change" : "synced", path, txid, replicated_txid: replicaTxid() };
    }),
    "/register": post(async (body) => {
      const path = pathOf(body);
      const url = body["replica_url"];
      if (typeof url !== "string" || url === "") throw new ControlError(400, "replica_url required");
      if (t.managed.get(path) !== undefined) return { status: "already_registered", path };
      let db: DatabaseConfig;
      try {
        const spec = urlSpec(url, process.cwd());
        db = { path, settings: {}, replicas: [{ name: spec.type, spec }] };
        const all = [...t.managed.list().map((e) => e.config), db];
        refuseSharedReplicas(
          all,
          BACKENDS,
          (i) => `the replica of ${all[i]!.path}`,
          (_i, _j, message) => new ControlError(400, message),
        );
      } catch (err) {
        if (err instanceof ControlError) throw err;
        throw new ControlError(400, `invalid replica url: ${isReplicaError(err) ? err.message : String(err)}`);
      }
      try {
        await t.managed.add(db);
      } catch (err) {
        throw new ControlError(500, `failed to register database: ${(err as Error).message}`);
      }
      return { status: "registered", path };
    }),
    "/unregister": post(async (body) => {
      const path = pathOf(body);
      const txid = txidOf(path);
      const unshipped = await t.managed.remove(path, timeoutOf(body) * 1000);
      if (unshipped === undefined) return { status: "already_unregistered", path, txid: 0 };
      unshippedError(unshipped);
      return { status: "unregistered", path, txid };
    }),
    "/list": get(() => ({
      databases: t.managed.list().map(({ config, running }) => {
        const s = t.engine.status().find((d) => d.path === config.path);
        const synced = s?.replicas.map((r) => r.lastSyncAt).filter((d): d is Date => d !== undefined) ?? [];
        const last = synced.length > 0 ? new Date(Math.max(...synced.map((d) => d.getTime()))) : undefined;
        // Litestream's values are replicating and stopped; ours add the engine's waiting and missing.
        const status = !running ? "stopped" : s === undefined || s.state === "replicating" ? "replicating" : s.state;
        return { path: config.path, status, ...(last ? { last_sync_at: last.toISOString() } : {}) };
      }),
    })),
    "/info": get(() => ({
      version: t.version,
      pid: process.pid,
      uptime_seconds: Math.floor((Date.now() - startedAt.getTime()) / 1000),
      started_at: startedAt.toISOString(),
      database_count: t.managed.list().length,
    })),
    "/txid": get((url) => {
      const path = pathOf({ path: url.searchParams.get("path") ?? "" });
      if (t.managed.get(path) === undefined) throw new ControlError(404, "database not found");
      return { txid: txidOf(path) };
    }),
  };
}

async function answer(res: import("node:http").ServerResponse, run: () => Promise<unknown>): Promise<void> {
  try {
    sendJson(res, 200, await run());
  } catch (err) {
    if (err instanceof ControlError) sendJson(res, err.status, { error: err.message });
    else sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
  }
}

/** A JSON object body (at most 64 KiB). */
async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new ControlError(413, `request body over ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (err) {
    throw new ControlError(400, `invalid request body: ${(err as Error).message}`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new ControlError(400, "invalid request body: expected a JSON object");
  return body as Record<string, unknown>;
}

/** The request's `path`, `~` expanded and made absolute (clients send absolute paths). */
function pathOf(body: Record<string, unknown>): string {
  const path = body["path"];
  if (typeof path !== "string" || path === "") throw new ControlError(400, "path required");
  return resolveDatabasePath(path);
}

/** The request's `timeout` in seconds (30 when absent or not positive, as Litestream). */
function timeoutOf(body: Record<string, unknown>): number {
  const t = body["timeout"];
  return typeof t === "number" && t > 0 ? t : 30;
}

/** A final sync that did not reach every replica is an error naming them (the TXIDs stay in the local log). */
function unshippedError(unshipped: readonly { replica: string; missingTXIDs: number; lastError?: string | undefined }[]): void {
  if (unshipped.length === 0) return;
  const what = unshipped.map((u) => `${u.missingTXIDs} TXID(s) did not reach replica "${u.replica}"${u.lastError ? ` (${u.lastError})` : ""}`).join("; ");
  throw new ControlError(500, `stopped, but the final sync was incomplete: ${what}; they are kept in the local log`);
}
