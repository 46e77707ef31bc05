#!/usr/bin/env node
// The page server the shim starts: `node dist/server.js --socket <dir>/<key>.sock`. One per
// user and configuration; every connection of every process using that configuration
// talks to it. It exits after a while without connections (uploading what is pending).
import { createServer, type Server, type Socket } from "node:net";
import { chmodSync, rmSync, writeFileSync } from "node:fs";
import { closeReplicaClient, Engine, isVfsError, LeaseWriteGuard, openReplicaClient, sqliteCodeOf, VfsError, type Logger, type Session, type Version } from "@sqlrep/vfs";
import { readConfig, type ServerConfig } from "./config.js";
import { openLeaser } from "./lease-url.js";
import { fileLogger } from "./log.js";
import { errorReply, FLAG_TIME_TRAVEL, FrameReader, OP, PayloadReader, PROTOCOL_VERSION, reply, STATUS, stateBytes, str, type WireState } from "./protocol.js";
import { StateFile } from "./state-file.js";

/** How long a failed engine open is remembered before the next OPEN tries again. */
const RETRY_OPEN_MS = 1000;

/** The engine's counters as log fields. */
function flatStatus(engine: Engine): Record<string, unknown> {
  const s = engine.status();
  return {
    txid: s.txid,
    requests: s.requests,
    bytes: s.bytes,
    prefetchPeak: s.prefetchPeak,
    prefetchRuns: s.prefetchRuns,
    demandRuns: s.demandRuns,
    cacheHits: s.cache.hits,
    cacheMisses: s.cache.misses,
    cacheBytes: s.cache.bytes,
  };
}

function wireOf(v: Pick<Version, "counter" | "commit" | "pageSize" | "txid" | "header">, timeTravel = false): WireState {
  return { counter: v.counter, commit: v.commit, pageSize: v.pageSize, txid: v.txid, header: v.header, flags: timeTravel ? FLAG_TIME_TRAVEL : 0 };
}

/** The server: a listening socket, the engine (opened at start, again after a failure), its sessions. */
class PageServer {
  private engine: Promise<Engine> | undefined;
  private failedAt = 0;
  private readonly server: Server;
  private sockets = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private readonly state: StateFile;
  /** The single-writer lease, when LITESTREAM_LEASE_URL names one. */
  private guard: LeaseWriteGuard | undefined;

  constructor(
    private readonly socketPath: string,
    private readonly config: ServerConfig | undefined,
    private readonly configError: Error | undefined,
    private readonly logger: Logger,
  ) {
    const base = socketPath.replace(/\.sock$/, "");
    this.state = new StateFile(`${base}.state`);
    writeFileSync(`${base}.pid`, `${process.pid}\n`);
    setInterval(() => this.state.heartbeat(), 1000).unref();
    this.server = createServer((socket) => this.accept(socket));
  }

  async listen(): Promise<void> {
    rmSync(this.socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.socketPath, () => resolve());
    });
    chmodSync(this.socketPath, 0o600);
    this.logger.info("page server listening", { socket: this.socketPath, pid: process.pid, replica: this.config?.replicaUrl });
    if (this.config !== undefined) this.openEngine().catch(() => undefined);
    this.armIdle();
  }

  async stop(reason: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const engine = await this.engine?.catch(() => undefined);
    this.logger.info("page server stopping", { reason, ...(engine ? flatStatus(engine) : {}) });
    this.server.close();
    const base = this.socketPath.replace(/\.sock$/, "");
    rmSync(this.socketPath, { force: true });
    try {
      const engine = await this.engine?.catch(() => undefined);
      if (engine !== undefined) {
        await engine.close();
        closeReplicaClient(engine.timeline.client);
      }
      // After the last upload: the lease goes back, so another writer may take it at once.
      await this.guard?.close().catch(() => undefined);
    } finally {
      this.state.close();
      rmSync(`${base}.pid`, { force: true });
    }
  }

  /** The engine, opened once; a failed open is retried by a later OPEN. */
  private openEngine(): Promise<Engine> {
    if (this.engine !== undefined) return this.engine;
    const config = this.config!;
    const attempt = (async () => {
      const lease = config.lease;
      if (lease !== undefined) this.guard ??= new LeaseWriteGuard(() => openLeaser(lease, this.socketPath), this.logger, lease.display);
      const client = await openReplicaClient(config.replicaUrl, { env: process.env });
      try {
        const engine = await Engine.open({
          client,
          logger: this.logger,
          pollIntervalMs: config.pollIntervalMs,
          cacheBytes: config.cacheBytes,
          write: { enabled: config.writeEnabled, bufferPath: config.bufferPath, syncIntervalMs: config.syncIntervalMs, guard: this.guard },
          hydration: config.hydration,
        });
        this.state.publish(wireOf(engine.timeline.current));
        engine.onPublish((v) => this.state.publish(wireOf(v)));
        return engine;
      } catch (err) {
        closeReplicaClient(client);
        throw err;
      }
    })();
    this.engine = attempt;
    attempt.catch((err: unknown) => {
      this.failedAt = Date.now();
      this.logger.error("cannot open the replica", { replica: config.replicaUrl, error: (err as Error).message });
    });
    return attempt;
  }

  private async engineForOpen(): Promise<Engine> {
    if (this.configError !== undefined) throw this.configError;
    const pending = this.engine;
    if (pending !== undefined) {
      const failed = await pending.then(
        () => false,
        () => true,
      );
      if (failed && Date.now() - this.failedAt >= RETRY_OPEN_MS) this.engine = undefined;
    }
    return this.openEngine();
  }

  private accept(socket: Socket): void {
    this.sockets++;
    this.armIdle();
    const frames = new FrameReader();
    let session: Session | undefined;
    let engine: Engine | undefined;
    let deferred: unknown;
    let queue: Promise<void> = Promise.resolve();
    const send = (bytes: Buffer) => {
      if (!socket.destroyed) socket.write(bytes);
    };

    const dispatch = async (op: number, payload: Buffer): Promise<void> => {
      const p = new PayloadReader(payload);
      const need = (): Session => {
        if (session === undefined) throw new VfsError("closed", "no OPEN on this connection");
        return session;
      };
      switch (op) {
        case OP.OPEN: {
          const version = p.u32();
          if (version !== PROTOCOL_VERSION)
            throw new VfsError("invalid-config", `the extension speaks protocol ${version}, this page server ${PROTOCOL_VERSION}: rebuild apps/vfs`);
          p.u32(); // SQLite's open flags: writes are decided per connection by the server
          p.str();
          engine = await this.engineForOpen();
          session = engine.session();
          send(reply(STATUS.OK, stateBytes(wireOf(session.state, session.timeTravelling))));
          return;
        }
        case OP.READ: {
          const counter = p.u32();
          const offset = p.u64();
          const length = p.u32();
          const { bytes, short } = await need().read(counter, offset, length);
          send(reply(short ? STATUS.SHORT : STATUS.OK, bytes));
          return;
        }
        case OP.LOCK: {
          const level = p.u8();
          const counter = p.u32();
          if (level >= 2) await need().reserve(counter);
          send(reply(STATUS.OK));
          return;
        }
        case OP.UNLOCK: {
          const s = need();
          const level = p.u8();
          if (deferred !== undefined) {
            const err = deferred;
            deferred = undefined;
            s.rollback();
            await s.unlock(level);
            throw err;
          }
          const state = await s.unlock(level);
          send(reply(STATUS.OK, stateBytes(wireOf(state, s.timeTravelling))));
          return;
        }
        case OP.SYNC: {
          const s = need();
          if (deferred !== undefined) {
            const err = deferred;
            deferred = undefined;
            s.rollback();
            throw err;
          }
          const state = await s.commit();
          send(reply(STATUS.OK, stateBytes(wireOf(state, s.timeTravelling))));
          return;
        }
        case OP.WRITE: {
          const offset = p.u64();
          need().write(offset, new Uint8Array(p.rest()));
          return;
        }
        case OP.TRUNCATE:
          need().truncate(p.u64());
          return;
        case OP.FILESIZE: {
          const size = Buffer.alloc(8);
          size.writeBigUInt64BE(BigInt(need().fileSize(p.u32())));
          send(reply(STATUS.OK, size));
          return;
        }
        case OP.PRAGMA: {
          const s = need();
          const name = p.str();
          const hasValue = p.u8() === 1;
          const value = p.str();
          const result = await s.pragma(name, hasValue ? value : undefined);
          const kind = result.kind === "unknown" ? 0 : result.kind === "value" ? 1 : 2;
          const text = result.kind === "value" ? result.value : "";
          send(reply(STATUS.OK, Buffer.from([kind]), str(text), Buffer.from([1]), stateBytes(wireOf(s.state, s.timeTravelling))));
          return;
        }
        case OP.RELEASE:
          need().release();
          return;
        case OP.PING:
          send(reply(STATUS.OK));
          return;
        case OP.CLOSE:
          session?.close();
          session = undefined;
          socket.end();
          return;
        default:
          throw new VfsError("invalid-config", `unknown request ${op}`);
      }
    };

    const replied = new Set<number>([OP.OPEN, OP.READ, OP.LOCK, OP.UNLOCK, OP.SYNC, OP.FILESIZE, OP.PRAGMA, OP.PING]);
    const kind = (op: number) =>
      op === OP.OPEN ? "open" : op === OP.READ ? "read" : op === OP.LOCK ? "lock" : op === OP.SYNC || op === OP.UNLOCK ? "sync" : op === OP.PRAGMA ? "pragma" : "write";

    socket.on("data", (chunk: Buffer) => {
      let batch: ReturnType<typeof frames.push>;
      try {
        batch = frames.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const { op, payload } of batch) {
        queue = queue.then(async () => {
          try {
            await dispatch(op, payload);
          } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            if (!isVfsError(err, "busy")) this.logger.warn("request failed", { op, error: message });
            if (replied.has(op)) send(errorReply(sqliteCodeOf(err, kind(op)), message));
            else deferred ??= err;
          }
        });
      }
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      queue.finally(() => {
        session?.close();
        this.sockets--;
        this.armIdle();
      });
    });
  }

  /** Stops after `idleTimeoutMs` without connections. */
  private armIdle(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.sockets > 0 || this.stopping) return;
    const ms = this.config?.idleTimeoutMs ?? 5000;
    this.idleTimer = setTimeout(() => {
      if (this.sockets === 0) void this.stop("idle").then(() => process.exit(0));
    }, ms);
  }
}

async function main(): Promise<void> {
  const i = process.argv.indexOf("--socket");
  const socketPath = i >= 0 ? process.argv[i + 1] : undefined;
  if (socketPath === undefined) {
    process.stderr.write("usage: server.js --socket <path>\n");
    process.exit(2);
  }
  const base = socketPath.replace(/\.sock$/, "");
  let config: ServerConfig | undefined;
  let configError: Error | undefined;
  try {
    config = readConfig(process.env, socketPath);
  } catch (err) {
    configError = err as Error;
  }
  const logger = fileLogger(config?.logFile ?? `${base}.log`, config?.logLevel ?? "info");
  if (configError !== undefined) logger.error("invalid configuration", { error: configError.message });
  process.title = "litestream-vfs";
  const server = new PageServer(socketPath, config, configError, logger);
  const stop = (signal: string) => void server.stop(signal).finally(() => process.exit(0));
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("uncaughtException", (err) => {
    logger.error("uncaught exception", { error: err.stack ?? err.message });
    stop("crash");
  });
  await server.listen();
}

await main();
