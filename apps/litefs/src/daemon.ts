// The `litefs mount` daemon: store, lease, HTTP API, FUSE mount and the node's main loop
// put together from litefs.yml; readiness, the `exec` children, and a clean stop.
import { mkdirSync } from "node:fs";
import { backupFromSpec, ClusterNode, describeError, startHttpServer, startProxyServer, Store, type HttpServer, type ProxyServer } from "@sqlrep/cluster";
import { clearStaleMount, isFuseError, mount, type FuseMount } from "@sqlrep/fuse";
import { createStaticLeaser, type Leaser, type NodeIdentity } from "@sqlrep/lease";
import { runChild, Shutdown, splitShellWords, type Logger } from "@sqlrep/runtime";
import type { LitefsConfig } from "./config/schema.js";
import { advertiseUrl, leaseHostname } from "./config/load.js";
import { LitefsError } from "./errors.js";
import { ClusterFuseBackend } from "./fuse-backend.js";
import type { Io } from "./io.js";
import { settleDatabases } from "./startup-recovery.js";

/** Options of {@link runDaemon} besides the config. */
export interface DaemonOptions {
  /** `-- cmd args`: replaces the config's `exec`. */
  execOverride: string[] | undefined;
  /** `-skip-unmount`: leave whatever is mounted at fuse.dir alone at start. */
  skipUnmount: boolean;
  /** `-fuse.debug` or `fuse.debug`. */
  fuseDebug: boolean;
  logger: Logger;
}

/** One command to run once the node is ready. */
interface ExecStep {
  argv: string[];
  ifCandidate: boolean;
}

/** The parts a running daemon holds, stopped in reverse order. */
interface Parts {
  store?: Store;
  leaser?: Leaser;
  node?: ClusterNode;
  server?: HttpServer;
  proxy?: ProxyServer;
  fuse?: FuseMount;
  backend?: ClusterFuseBackend;
}

/**
 * Runs the daemon until a signal, the last `exec` child's exit, or a fatal error;
 * resolves with the exit code (the child's, when there is one).
 */
export async function runDaemon(config: LitefsConfig, options: DaemonOptions, io: Io): Promise<number> {
  const { logger } = options;
  const shutdown = new Shutdown({
    signal: io.signal,
    onRepeat: (sig) => {
      io.stderr.write(`${sig} again: exiting without a clean unmount\n`);
      process.exit(1);
    },
  });
  const parts: Parts = {};
  try {
    try {
      await start(config, options, parts, io);
    } catch (err) {
      logger.error("startup failed", { error: describeError(err) });
      if (config.exitOnError) return 1;
      // LiteFS's exit-on-error: false: stay up so an operator can look around.
      logger.info("exit-on-error is false: waiting for a signal");
      const keepAlive = setInterval(() => {}, 60_000); // nothing else holds the event loop open
      await shutdown.requested;
      clearInterval(keepAlive);
      return 1;
    }
    const node = parts.node!;
    const stopped = new Promise<"signal" | "unmounted">((resolve) => {
      void shutdown.requested.then(() => resolve("signal"));
      void parts.fuse!.closed.then(() => resolve("unmounted"));
    });
    if (!config.skipSync) {
      logger.info("waiting to become primary or to catch up with the primary");
      const first = await Promise.race([node.whenReady.then(() => "ready" as const), stopped]);
      if (first !== "ready") return first === "signal" ? 0 : 1;
    }
    logger.info("node is ready", { primary: node.isPrimary, hostname: leaseHostname(config) });
    // As LiteFS, the proxy starts once the node is ready: a read it serves waits for a
    // TXID the node can reach, a write goes to a primary it knows.
    parts.proxy = await startProxy(config, node, logger);
    const steps = execSteps(config, options.execOverride).filter((s) => !s.ifCandidate || config.lease.candidate);
    if (steps.length === 0) {
      const why = await stopped;
      if (why === "unmounted") logger.error("the FUSE mount went away", { dir: config.fuse.dir });
      return why === "signal" ? 0 : 1;
    }
    for (const [i, step] of steps.entries()) {
      const last = i === steps.length - 1;
      logger.info(last ? "starting subprocess" : "running subprocess to completion", { cmd: step.argv.join(" ") });
      const ended = await runChild(step.argv, { env: io.env, cwd: io.cwd, shutdown });
      if (last) {
        logger.info("subprocess exited", { code: ended.exitCode, ...(ended.signal ? { signal: ended.signal } : {}) });
        return ended.exitCode;
      }
      if (ended.exitCode !== 0) {
        logger.error("subprocess failed", { cmd: step.argv.join(" "), code: ended.exitCode });
        return ended.exitCode;
      }
      if (io.signal.aborted) return 0;
    }
    return 0;
  } finally {
    await stop(parts, config, logger);
    shutdown.release();
  }
}

/** A stale mount at fuse.dir is cleared, as LiteFS does unless -skip-unmount; a live one is refused. */
function clearFuseDir(fuseDir: string, logger: Logger): void {
  try {
    clearStaleMount(fuseDir, { logger: { info: (message) => logger.info(message, { dir: fuseDir }) } });
  } catch (err) {
    if (!isFuseError(err, "mount-in-use")) throw err;
    throw new LitefsError("mount-in-use", `fuse.dir ${err.message}`, { cause: err, file: fuseDir });
  }
}

async function start(config: LitefsConfig, options: DaemonOptions, parts: Parts, io: Io): Promise<void> {
  const { logger } = options;
  const fuseDir = config.fuse.dir;
  const dataDir = config.data.dir;
  if (!options.skipUnmount) clearFuseDir(fuseDir, logger);
  mkdirSync(fuseDir, { recursive: true });
  mkdirSync(dataDir, { recursive: true });

  settleDatabases(dataDir, logger);
  const backend = new ClusterFuseBackend(dataDir, logger);
  parts.backend = backend;
  parts.store = await Store.open({
    dataDir,
    io: backend.io,
    logger,
    retention: config.data.retention,
    retentionMonitorInterval: config.data.retentionMonitorInterval,
  });
  const identity: NodeIdentity = { hostname: leaseHostname(config), advertiseURL: advertiseUrl(config), candidate: config.lease.candidate };
  parts.leaser = await openLeaser(config, identity);
  const authToken = config.http.authToken || io.env["LITEFS_AUTH_TOKEN"] || undefined;
  parts.node = new ClusterNode({
    store: parts.store,
    leaser: parts.leaser,
    logger,
    authToken,
    promote: config.lease.promote,
    reconnectDelay: config.lease.reconnectDelay,
    databases: config.lease.databases,
    backup: await openBackup(config, io),
  });
  backend.bind(parts.node);
  parts.server = await startHttpServer(parts.node, { addr: config.http.addr, authToken });
  logger.info("http server listening", { url: parts.server.url });
  parts.fuse = await mount({
    mountpoint: fuseDir,
    backend,
    logger: { info: (m) => logger.info(m), warn: (m) => logger.warn(m), error: (m) => logger.error(m) },
    debug: options.fuseDebug,
    ...(config.fuse.allowOther ? { fuseOptions: "allow_other" } : {}),
  });
  backend.attach(parts.fuse);
  logger.info("mounted", { dir: fuseDir, data: dataDir });
  parts.node.start();
}

async function openLeaser(config: LitefsConfig, identity: NodeIdentity): Promise<Leaser> {
  const lease = config.lease;
  switch (lease.type) {
    case "static":
      return createStaticLeaser(identity);
    case "etcd": {
      const { openEtcdLeaser } = await import("@sqlrep/lease-etcd");
      const etcd = lease.etcd!;
      return openEtcdLeaser(
        {
          endpoints: etcd.endpoints,
          key: etcd.key,
          ...(etcd.ttl !== undefined ? { ttl: etcd.ttl } : {}),
          ...(etcd.username ? { username: etcd.username } : {}),
          ...(etcd.password ? { password: etcd.password } : {}),
          ...(etcd.tls ? { tls: { ca: etcd.tls.ca || undefined, cert: etcd.tls.cert || undefined, key: etcd.tls.key || undefined } } : {}),
        } as Parameters<typeof openEtcdLeaser>[0],
        identity,
      );
    }
    case "consul": {
      const { openConsulLeaser } = await import("@sqlrep/lease-consul");
      const consul = lease.consul!;
      return openConsulLeaser({ url: consul.url, key: consul.key, ttl: consul.ttl, lockDelay: consul.lockDelay }, identity);
    }
  }
}

/** The `backup:` section as the engine's backup options (shipped while this node is primary). */
async function openBackup(config: LitefsConfig, io: Io) {
  const backup = config.backup;
  if (backup === undefined) return undefined;
  const { fileBackend, ReplicaRegistry } = await import("@sqlrep/replica");
  const { s3Backend } = await import("@sqlrep/replica-s3/backend");
  const registry = await new ReplicaRegistry([fileBackend, s3Backend], { env: io.env }).load();
  return backupFromSpec(registry, backup.url || `file://${backup.path}`);
}

/** The `proxy:` section, when it names a target: LiteFS's HTTP proxy in front of the app. */
async function startProxy(config: LitefsConfig, node: ClusterNode, logger: Logger): Promise<ProxyServer | undefined> {
  const proxy = config.proxy;
  if (proxy?.target === undefined || proxy.target === "") return undefined;
  const server = await startProxyServer(node, {
    addr: proxy.addr!,
    target: proxy.target,
    db: proxy.db!,
    debug: proxy.debug,
    passthrough: proxy.passthrough,
    alwaysForward: proxy.alwaysForward,
    primaryRedirectTimeout: proxy.primaryRedirectTimeout,
    maxLag: proxy.maxLag,
    readTimeout: proxy.readTimeout,
    readHeaderTimeout: proxy.readHeaderTimeout,
    writeTimeout: proxy.writeTimeout,
    idleTimeout: proxy.idleTimeout,
    logger,
  });
  logger.info("proxy listening", { url: server.url, target: proxy.target, db: proxy.db });
  return server;
}

/** The exec steps: `-- cmd` wins over the config's `exec`. */
function execSteps(config: LitefsConfig, override: string[] | undefined): ExecStep[] {
  if (override !== undefined && override.length > 0) return [{ argv: override, ifCandidate: false }];
  const exec = config.exec;
  if (exec === undefined) return [];
  const entries = typeof exec === "string" ? [exec] : exec;
  return entries.map((e) => (typeof e === "string" ? { argv: splitShellWords(e), ifCandidate: false } : { argv: splitShellWords(e.cmd), ifCandidate: e.ifCandidate }));
}

/**
 * Stops in reverse: hands the lease to a connected candidate replica when there is one (a
 * write gap of milliseconds instead of a TTL), stops the node (releasing the lease),
 * the API, then unmounts.
 */
async function stop(parts: Parts, config: LitefsConfig, logger: Logger): Promise<void> {
  const node = parts.node;
  if (node !== undefined && node.isPrimary && config.lease.type !== "static") {
    for (const replica of node.primary?.candidateReplicas ?? []) {
      try {
        await node.handoff(replica);
        logger.info("lease handed off before stopping", { to: replica });
        break;
      } catch (err) {
        logger.warn("handoff failed", { to: replica, error: describeError(err) });
      }
    }
  }
  await parts.proxy?.close().catch(() => undefined);
  await node?.close().catch((err: unknown) => logger.warn("closing the node", { error: describeError(err) }));
  await parts.backend?.idle();
  await parts.server?.close().catch(() => undefined);
  if (parts.fuse !== undefined) {
    await parts.fuse.unmount().catch((err: unknown) => logger.warn("unmount", { error: describeError(err) }));
    logger.info("unmounted", { dir: config.fuse.dir });
  }
  await parts.store?.close().catch(() => undefined);
  if (node === undefined) await parts.leaser?.close().catch(() => undefined);
}
