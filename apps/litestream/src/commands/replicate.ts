// `litestream replicate`: runs the backup engine over the config's databases (or one database
// given with its replica URLs), serves metrics and status, and optionally runs an -exec child.
import { existsSync } from "node:fs";
import { BackupEngine, type StopReport } from "@sqlrep/backup";
import { formatDuration } from "@sqlrep/config";
import { isReplicaError } from "@sqlrep/replica";
import { BACKENDS } from "../backends.js";
import { defineCommand } from "../command.js";
import { configPath, urlSpec, refuseSharedReplicas, resolveDatabasePath, type LitestreamConfig, type ReplicaConfig } from "../config.js";
import { CliError, CONFIG_FLAGS, createClient, createRegistry, readConfig, replicaTypes, type Io, type NamedReplica } from "../context.js";
import {
  createLogger,
  createMetricsRegistry,
  defineFlags,
  isLogLevel,
  runChild,
  Shutdown,
  splitShellWords,
  UsageError,
  type HttpService,
  type Logger,
  type LogLevel,
} from "@sqlrep/runtime";
import { expandDirectories } from "../directory-expand.js";
import { DirectoryWatch } from "../directory-watch.js";
import { formatTxid } from "../format.js";
import { ManagedDatabases } from "../managed.js";
import { startControlServer } from "../control-server.js";
import { startHttpServer } from "../http.js";
import { startMcpServer, type McpServer } from "../mcp-server.js";
import { runInProcess } from "../mcp-run.js";
import { restoreFromReplicas, summaryLine } from "../restore-run.js";
import { replicateOnce, type OnceOptions } from "../replicate-once.js";
import { DEFAULT_HEARTBEAT_INTERVAL, Heartbeat } from "../heartbeat.js";
import { VERSION } from "../version.js";

const flags = defineFlags({
  ...CONFIG_FLAGS,
  exec: {
    type: "string",
    placeholder: "CMD",
    usage: "Executes a subcommand. Litestream will exit when the child\nprocess exits. Useful for simple process management.",
  },
  "log-level": {
    type: "string",
    placeholder: "LEVEL",
    usage: "Log level: trace (= debug), debug, info, warn or error.\nOverrides LOG_LEVEL and the config's logging.level.",
  },
  "restore-if-db-not-exists": {
    type: "boolean",
    usage: "Restores each database that does not exist from its replicas\n(with PRAGMA quick_check) before replicating it.",
  },
  once: { type: "boolean", usage: "Syncs every database to its replicas once, then exits\n(non-zero, naming the failure, if one did not make it). Excludes -exec." },
  "force-snapshot": { type: "boolean", usage: "With -once: a snapshot of every database on every replica after the sync." },
  "enforce-retention": { type: "boolean", usage: "With -once: retention on every replica after the sync (and snapshot)." },
});

/** `litestream replicate`: continuous backup of the databases of the config (or of one DB to URLs). */
export const replicateCommand = defineCommand({
  name: "replicate",
  summary: "runs a server to replicate databases",
  description: [
    "The replicate command starts a server to monitor & replicate databases.",
    "You can specify your database & replicas in a configuration file or you can",
    "replicate a single database file by specifying its path and its replicas in the",
    "command line arguments.",
  ].join("\n"),
  synopsis: ["[arguments]", "[arguments] DB_PATH REPLICA_URL [REPLICA_URL...]"],
  flags,
  examples: [
    "# Replicate the databases of /etc/litestream.yml.",
    "$ litestream replicate",
    "",
    "# Replicate one database to a directory and to S3.",
    "$ litestream replicate /path/to/db file:///backups/db s3://mybkt/db",
    "",
    "# Run an application under litestream; exit when it exits.",
    '$ litestream replicate -exec "node server.js"',
    "",
    "# Sync every database once, with a fresh snapshot, then exit (e.g. from cron).",
    "$ litestream replicate -once -force-snapshot",
  ],
  async run({ flags, given, positionals }, io) {
    let config: LitestreamConfig;
    if (positionals.length > 0) {
      if (given.has("config")) throw new UsageError("cannot specify a replica URL and the -config flag");
      if (positionals.length === 1) throw new UsageError(`must specify at least one replica URL for ${positionals[0]}`);
      config = positionalConfig(positionals, io);
    } else {
      config = await readConfig(flags, io, { quiet: true }); // warnings go to the log below
      config.dbs.push(...expandDirectories(config));
      if (config.dbs.length === 0 && !config.directories.some((d) => d.directory.watch) && config.socket === undefined) {
        throw new CliError(`no databases specified in configuration (${configPath(flags.config, io.env)})`);
      }
    }
    const exec = flags.exec ?? config.exec;
    if (flags.once && exec !== undefined) throw new UsageError("cannot specify -once flag with -exec");
    if (flags["force-snapshot"] && !flags.once) throw new UsageError("cannot specify -force-snapshot flag without -once");
    if (flags["enforce-retention"] && !flags.once) throw new UsageError("cannot specify -enforce-retention flag without -once");
    const once = flags.once ? { forceSnapshot: flags["force-snapshot"], enforceRetention: flags["enforce-retention"] } : undefined;
    const logger = createLogger({
      level: logLevel(config.logging.level, flags["log-level"], io.env),
      format: config.logging.type,
      stream: config.logging.stderr ? io.stderr : io.stdout,
    });
    for (const warning of config.warnings) logger.warn(warning);
    if (flags["restore-if-db-not-exists"]) for (const db of config.dbs) db.restoreIfNotExists = true;
    return replicate(config, exec, logger, io, once);
  },
});

/** `replicate DB_PATH URL…`: one database, each URL a replica (named by its type; `s3`, `s3-2`, …). */
function positionalConfig([dbArg, ...urls]: readonly string[], io: Io): LitestreamConfig {
  const seen = new Map<string, number>();
  const replicas = urls.map((url): ReplicaConfig => {
    let spec: ReturnType<typeof urlSpec>;
    try {
      spec = urlSpec(url, io.cwd);
    } catch (err) {
      if (isReplicaError(err)) throw new CliError(err.message, { cause: err });
      throw err;
    }
    const n = (seen.get(spec.type) ?? 0) + 1;
    seen.set(spec.type, n);
    return { name: n === 1 ? spec.type : `${spec.type}-${n}`, spec };
  });
  const dbs = [{ path: resolveDatabasePath(dbArg!, io.cwd), settings: {}, replicas }];
  refuseSharedReplicas(
    dbs,
    BACKENDS,
    (_, j) => `replica URL ${urls[j]}`,
    (_, __, message) => new UsageError(message),
  );
  return { logging: { level: "info", type: "text", stderr: false }, dbs, directories: [], warnings: [] };
}

/** `-log-level`, else `LOG_LEVEL`, else `logging.level`, as in Litestream v0.5. */
function logLevel(configured: LogLevel, flag: string | undefined, env: NodeJS.ProcessEnv): LogLevel {
  const [source, text] = flag !== undefined ? ["-log-level", flag] : ["LOG_LEVEL", env["LOG_LEVEL"] ?? ""];
  const level = text.toLowerCase();
  if (level === "") return configured;
  if (level === "trace") return "debug";
  if (!isLogLevel(level)) {
    const message = `${source} ${JSON.stringify(text)}: expected trace, debug, info, warn or error`;
    throw flag !== undefined ? new UsageError(message) : new CliError(message);
  }
  return level;
}

async function replicate(config: LitestreamConfig, exec: string | undefined, logger: Logger, io: Io, once?: OnceOptions): Promise<number> {
  const argv = exec === undefined ? undefined : splitShellWords(exec);
  if (argv !== undefined && argv.length === 0) throw new UsageError("the exec command is empty");
  const registry = await createRegistry(replicaTypes(config.dbs));
  const named = config.dbs.map((db) => db.replicas.map((r): NamedReplica => ({ name: r.name, config: r, client: createClient(registry, r) })));
  for (const [i, db] of config.dbs.entries()) {
    if (db.restoreIfNotExists && !existsSync(db.path)) await restoreMissing(db.path, named[i]!, logger, io);
  }
  // The process's own CPU, memory and event-loop metrics only when /metrics is served: they keep monitors running.
  const metrics = createMetricsRegistry({ processMetrics: config.addr !== undefined });
  const engine = new BackupEngine({ databases: [], logger, registry: metrics });
  // Databases join and leave while running (directory watch, control socket): the engine starts with these.
  const managed = new ManagedDatabases(engine, registry);
  for (const db of config.dbs) await managed.add(db);
  logEvents(engine, logger);

  logger.info("litestream", { version: `v${VERSION}`, implementation: "sqlrep", ...(config.file ? { config: config.file } : {}) });
  for (const db of config.dbs) {
    logger.info("initialized db", { path: db.path });
    for (const r of db.replicas) {
      logger.info("replicating to", {
        db: db.path,
        name: r.name,
        type: r.spec.type,
        ...(r.spec.bucket ? { bucket: r.spec.bucket } : {}),
        path: r.spec.path ?? "",
        ...(r.spec.region ? { region: r.spec.region } : {}),
        ...(r.spec.endpoint ? { endpoint: r.spec.endpoint } : {}),
        ...(r.syncInterval !== undefined ? { "sync-interval": formatDuration(r.syncInterval) } : {}),
      });
    }
  }

  const shutdown = new Shutdown({
    signal: io.signal,
    onRepeat: (sig) => {
      io.stderr.write(`${sig} again: exiting without waiting for the final sync\n`);
      process.exit(1);
    },
  });
  let http: Awaited<ReturnType<typeof startHttpServer>> | undefined;
  let control: HttpService | undefined;
  let mcp: McpServer | undefined;
  const watches: DirectoryWatch[] = [];
  let code = 0;
  let report: StopReport = { unshipped: [] };
  let onceFailed = false;
  let heartbeat: Heartbeat | undefined;
  try {
    await engine.start({ signal: io.signal });
    if (config.socket !== undefined) control = await startControlServer(config.socket.path, config.socket.permissions, { engine, managed, logger, version: `v${VERSION}` });
    for (const entry of config.directories) {
      if (!entry.directory.watch) continue;
      const initial = config.dbs.filter((d) => d.fromDirectory === entry.path).map((d) => d.path);
      const listed = new Set(config.dbs.filter((d) => d.fromDirectory === undefined).map((d) => d.path));
      watches.push(new DirectoryWatch(entry, initial, listed, { add: (db) => managed.add(db), remove: (path) => managed.remove(path) }, logger));
    }
    if (config.addr !== undefined) {
      try {
        http = await startHttpServer(config.addr, { registry: metrics, status: () => engine.status() });
      } catch (err) {
        throw new CliError(`cannot serve metrics on ${config.addr}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      logger.info("serving metrics and status", { url: `${http.url}/metrics`, status: `${http.url}/status` });
    }
    if (config.mcpAddr !== undefined) {
      try {
        mcp = await startMcpServer(config.mcpAddr, {
          config: config.file,
          version: `v${VERSION}`,
          run: runInProcess(io),
          onCall: (tool, code, ms) => logger.info("mcp tool call", { tool, code, ms: Math.round(ms) }),
        });
      } catch (err) {
        throw new CliError(`cannot serve MCP on ${config.mcpAddr}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      logger.info("serving MCP (streamable HTTP, no authentication)", { url: mcp.url });
    }
    if (config.heartbeat !== undefined && once === undefined) {
      heartbeat = new Heartbeat({ url: config.heartbeat.url, intervalMs: config.heartbeat.interval ?? DEFAULT_HEARTBEAT_INTERVAL, status: () => engine.status(), logger });
      heartbeat.start();
    }
    if (argv !== undefined) {
      code = await runExec(argv, engine, logger, io, shutdown);
    } else if (once !== undefined) {
      // A failed -once exits at once: what did not go stays in the local log for the next run.
      onceFailed = true;
      await replicateOnce(engine, once, logger, io.signal);
      onceFailed = false;
    } else {
      const signal = await shutdown.requested;
      logger.info("signal received, litestream shutting down", { signal });
    }
  } finally {
    shutdown.release();
    await heartbeat?.stop();
    await control?.close();
    await mcp?.close();
    await Promise.all(watches.map((w) => w.close()));
    // Litestream v0.5 retries the final sync every shutdown-sync-interval (500ms) until shutdown-sync-timeout (30s).
    const retryIntervalMs = config.shutdownSyncInterval ?? 500;
    report = await engine.stop(onceFailed ? { timeoutMs: 1 } : { timeoutMs: config.shutdownSyncTimeout ?? 30_000, retryIntervalMs });
    await http?.close();
    logger.info("litestream shut down");
  }
  if (report.unshipped.length === 0) return code;
  // Commits that did not reach a replica stay in the local log (uploaded at the next start), but a clean exit would hide them.
  const timeout = formatDuration(config.shutdownSyncTimeout ?? 30_000);
  for (const u of report.unshipped) {
    const what =
      u.transactions !== undefined
        ? `${u.transactions} transaction${u.transactions === 1 ? "" : "s"} (${u.missingTXIDs} TXID${u.missingTXIDs === 1 ? "" : "s"})`
        : `${u.missingTXIDs} TXID${u.missingTXIDs === 1 ? "" : "s"}`;
    io.stderr.write(
      `error: ${what} of ${u.path} did not reach replica "${u.replica}" within the shutdown sync timeout (${timeout})${u.lastError ? `: ${u.lastError}` : ""}; they are kept in the local log and uploaded at the next start\n`,
    );
  }
  return code === 0 ? 1 : code;
}

/** `restore-if-db-not-exists`: the newest backup, checked with quick_check, before replication starts. */
async function restoreMissing(path: string, replicas: readonly NamedReplica[], logger: Logger, io: Io): Promise<void> {
  logger.info("database does not exist, restoring from replica", { db: path });
  const restored = await restoreFromReplicas(
    replicas,
    { target: {} },
    {
      output: path,
      parallelism: 8,
      integrityCheck: "quick",
      signal: io.signal,
      warn: (message) => logger.warn(message, { db: path }),
    },
  );
  if (!restored) logger.info("no backup found, nothing to restore", { db: path });
  else logger.info(summaryLine(path, restored.source, restored.summary, "quick"), { db: path });
}

/** One line per upload (Litestream logs each sync) and per failure; the engine logs snapshots itself. */
function logEvents(engine: BackupEngine, logger: Logger): void {
  engine.on("synced", (e) => {
    if (e.level !== 0) return;
    logger.info("replica sync", { db: e.path, replica: e.replica, level: e.level, txid: formatTxid(e.txid), size: e.bytes });
  });
  engine.on("error", (e) => {
    logger.error("sync error", { db: e.path, ...(e.replica ? { replica: e.replica } : {}), error: e.error.message });
  });
}

/** Runs the `-exec` child with our stdio (signals forwarded to it); when it exits, a final sync, then its exit code. */
async function runExec(argv: string[], engine: BackupEngine, logger: Logger, io: Io, shutdown: Shutdown): Promise<number> {
  const ended = await runChild(argv, { env: io.env, cwd: io.cwd, shutdown });
  const code = ended.exitCode;
  logger.info("subprocess exited, final sync", { code, ...(ended.signal ? { signal: ended.signal } : {}) });
  try {
    await engine.sync();
  } catch (err) {
    logger.error("final sync failed", { error: err });
    return code === 0 ? 1 : code;
  }
  return code;
}
